"""The read side: each entity family described once, its GraphQL types, the compiled path."""
