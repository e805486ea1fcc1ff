"""Inbound dialects: one module per client format (OpenAI chat, Anthropic messages, OpenAI responses,
Gemini). Pure translators (no FastAPI, no services), tested with JSON fixtures. See base.py."""
