"""The shipped install: what `pip install .` brings WITHOUT the test extras (the Dockerfile's install) must hold
everything the appliance imports at run time, and constraints.txt must pin the whole tree at the versions the
tests run with. (.ci/smoke.py builds and starts that install for real; these checks are the fast part.)"""

from __future__ import annotations

import ast
import sys
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "oneapi-app"

# Imported at run time by a library on the appliance's behalf, never by name in oneapi_app/.
RUNTIME_ONLY = {
    "greenlet": "SQLAlchemy's asyncio extension (every database session)",
    "aiosqlite": "the SQLite driver (sqlite+aiosqlite)",
    "pymysql": "the MySQL driver (sync migrations, aiomysql)",
    "aiomysql": "the MySQL driver (mysql+aiomysql)",
    "psycopg": "the PostgreSQL driver",
    "uvloop": "uvicorn's event loop",
    "httptools": "uvicorn's HTTP parser",
    "websockets": "uvicorn's websocket protocol (the dashboard)",
    "granian": "Reflex's production server",
}


def closure(name: str, extras: tuple[str, ...] = ()) -> set[str]:
    """Canonical names of `name` and every distribution it requires (with those extras), recursively."""
    seen: set[str] = set()
    todo = [(name, extras)]
    while todo:
        dist_name, dist_extras = todo.pop()
        key = canonicalize_name(dist_name)
        if key in seen and not dist_extras:
            continue
        seen.add(key)
        try:
            requires = distribution(dist_name).requires or []
        except PackageNotFoundError:
            continue  # an extra this venv was not set up with (bench), or a platform-only dependency
        for line in requires:
            req = Requirement(line)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (*dist_extras, "")):
                continue
            todo.append((req.name, tuple(req.extras)))
    return seen


def imported_top_modules() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "oneapi_app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"oneapi_app"}


def test_the_install_without_extras_has_what_the_appliance_imports():
    shipped = closure(PACKAGE)
    providers = packages_distributions()
    missing = {}
    for module in sorted(imported_top_modules() | set(RUNTIME_ONLY)):
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        assert dists, f"{module} is imported but not installed at all"
        if not dists & shipped:
            missing[module] = RUNTIME_ONLY.get(module, "imported by oneapi_app")
    assert not missing, f"only a test extra brings these into the venv; `pip install .` lacks them: {missing}"


def constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version
    return pins


def test_constraints_pin_the_whole_tree_at_the_tested_versions():
    extras = tuple(distribution(PACKAGE).metadata.get_all("Provides-Extra") or [])
    assert {"test", "dev"} <= set(extras)
    tree = closure(PACKAGE, extras) - {canonicalize_name(PACKAGE)}
    pins = constraints()
    unpinned = sorted(tree - pins.keys())
    assert not unpinned, f"not in constraints.txt (run .ci/lock.sh): {unpinned}"
    drift = {}
    for name in sorted(tree):
        try:
            installed = distribution(name).version
        except PackageNotFoundError:
            continue  # a platform-only dependency
        if installed != pins[name]:
            drift[name] = (pins[name], installed)
    assert not drift, f"constraints.txt vs this venv (pinned, installed): {drift}; run ./run.sh setup or .ci/lock.sh"
