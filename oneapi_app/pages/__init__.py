"""Dashboard pages: one module per page with its small State, registered by @page."""

from . import about, home, login  # noqa: F401
