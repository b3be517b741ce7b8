"""Partners: their API keys and scopes."""
