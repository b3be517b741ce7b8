"""The mpehub platform shared by every service."""
