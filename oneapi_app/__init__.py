"""One API in Python: an OpenAI-compatible LLM API gateway appliance."""

__version__ = "0.1.0"
