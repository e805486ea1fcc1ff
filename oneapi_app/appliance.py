"""The Runtime of the full appliance process (Reflex + FastAPI in one server).

Reflex imports the app module to build the ASGI app, so the Runtime of that process is created here, once,
from the process settings; Reflex's lifespan starts and stops it. Dashboard state handlers reach the
services through ``runtime()``. In ``--api-only`` mode nothing imports this module.
"""

from __future__ import annotations

from functools import cache

from .runtime import Runtime
from .settings import process_settings


@cache
def runtime() -> Runtime:
    return Runtime(process_settings())
