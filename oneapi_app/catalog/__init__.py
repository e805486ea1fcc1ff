"""What the gateway knows about upstream providers, below both the relay and the services.

- ``channel_types``: channel type id -> name, default base URL, API family and URL rule; who makes a model.
- ``prices``: the built-in model and completion ratios (admins' overrides live in the options).
- ``auto_disable``: which upstream errors mean a channel's key is dead (one-api's auto-disable rules).

Pure data and pure functions: this package imports nothing of oneapi_app, so the relay (``/v1``) and the
services (dashboard, ``/api``, channel tests) read the same facts without importing each other.
"""
