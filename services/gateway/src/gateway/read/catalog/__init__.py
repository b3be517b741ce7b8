"""The catalog family: industries and technologies."""
