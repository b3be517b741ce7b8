"""The projector: events into the read model, and how current the read model is."""
