"""The partner-facing HTTP pipeline, one stage a module: admission, the response cache, execution."""
