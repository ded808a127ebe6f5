"""Declared dependencies: each one imported somewhere, bounded above, and pinned in requirements.lock within its
range; aiohttp and requests start at versions without the known CVEs."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# distribution name -> the module it is imported as, where they differ
IMPORTED_AS = {"gspread-asyncio": "gspread_asyncio", "google-auth": "google.auth", "pydantic-settings":
               "pydantic_settings", "prometheus-client": "prometheus_client", "pytest-asyncio": "pytest_asyncio"}
TOOLS = {"pytest", "pytest-asyncio", "ruff", "mypy"}          # run, not imported (pytest-asyncio via config)


def declared() -> dict[str, list[Requirement]]:
    groups = {"runtime": [Requirement(r) for r in PROJECT["dependencies"]]}
    for extra, reqs in PROJECT["optional-dependencies"].items():
        groups[extra] = [Requirement(r) for r in reqs]
    return groups


def locked() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = Version(version)
    return pins


def test_every_declared_dependency_is_imported():
    sources = {"runtime": "adolfd", "fast": "adolfd", "bench": "bench", "test": "tests"}
    unused = []
    for group, reqs in declared().items():
        text = "\n".join(p.read_text() for p in (ROOT / sources[group]).rglob("*.py"))
        for req in reqs:
            if req.name in TOOLS:
                continue
            module = IMPORTED_AS.get(req.name, req.name)
            if not re.search(rf"^\s*(import|from) {re.escape(module)}\b", text, re.M):
                unused.append(f"{group}: {req.name}")
    assert unused == []


def test_every_dependency_is_bounded_above_and_pinned_in_the_lock_within_its_range():
    pins = locked()
    for reqs in declared().values():
        for req in reqs:
            assert any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier), f"{req} has no upper bound"
            name = re.sub(r"[-_.]+", "-", req.name).lower()
            assert name in pins, f"{req.name} is not in requirements.lock"
            assert req.specifier.contains(pins[name]), f"requirements.lock pins {req.name} {pins[name]} outside {req}"


def test_no_version_with_a_known_cve_is_allowed():
    runtime = {r.name: r for r in declared()["runtime"]}
    assert not runtime["aiohttp"].specifier.contains("3.14.2") and runtime["aiohttp"].specifier.contains("3.14.3")
    assert not runtime["requests"].specifier.contains("2.32.3")
    assert "aiocron" not in runtime
