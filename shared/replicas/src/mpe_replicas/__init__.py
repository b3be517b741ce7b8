"""Replicas that consuming services keep of another service's data, fed by the contract's events."""
