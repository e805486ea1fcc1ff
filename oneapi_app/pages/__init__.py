"""Dashboard pages: one module per page with its small State, registered by @page."""

# import order = navigation order
from . import home, usage, tokens, playground, pricing, logs, account, channels, users, redemptions, settings, login, about, register, reset, oauth  # noqa: F401, I001
