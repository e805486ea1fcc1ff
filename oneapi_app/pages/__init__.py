"""Dashboard pages: one module per page with its small State, registered by @page."""

from . import home, tokens, channels, logs, login, about  # noqa: F401  (import order = navigation order)
