"""The firms family: firms and their designations."""
