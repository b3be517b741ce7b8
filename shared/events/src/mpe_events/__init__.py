"""The contract between mpehub services: event models, topics, and the CloudEvents envelope."""
