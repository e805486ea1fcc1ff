"""The OpenAI-compatible relay: routes, pipeline, adaptors."""
