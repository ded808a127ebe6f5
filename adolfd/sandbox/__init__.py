"""`adolfd sandbox`: local fakes of every external API adolfd calls (ARCHITECTURE.md "The sandbox").

Each fake is a module exposing `install(sandbox)` that adds its routes to `sandbox.subapp("<api>")`. The platform's
own (Telegram, the LLM) are listed here; every other fake comes from the module that uses its API (its
ModuleSpec's `sandbox`), so a new module brings its fakes with it.
"""
from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

import structlog
from aiohttp import web

from adolfd.sandbox import llm, telegram
from adolfd.sandbox.core import RunningSandbox, Sandbox, build_root_app, serve, start_sandbox

PLATFORM_FAKES: tuple[ModuleType, ...] = (telegram, llm)
log = structlog.get_logger("adolfd.sandbox")


def fakes() -> list[ModuleType]:
    """Every fake once, the platform's first, then the modules' in their order (a fake that extends another's
    sub-application, like Ozon reviews on the Ozon Seller API, comes after it)."""
    from adolfd.modules import MODULES

    found = list(PLATFORM_FAKES)
    for module in MODULES:
        found.extend(fake for fake in module.loaded("sandbox") if fake not in found)
    return found


def build_app(sandbox: Sandbox) -> web.Application:
    """The root application: `/_sandbox/*` control endpoints plus every fake's API under `/{api}`."""
    return build_root_app(sandbox, fakes())


async def _logged(fake: ModuleType, sandbox: Sandbox, settings: Any) -> None:
    """A companion that fails is logged (the fakes keep serving), never lost in a task nobody awaits."""
    try:
        await fake.run_alongside(sandbox, settings)
    except Exception as exc:  # noqa: BLE001 - reported, and the sandbox keeps serving its HTTP fakes
        log.error("sandbox_companion_failed", fake=fake.__name__, error=f"{type(exc).__name__}: {exc}")


async def run_companions(sandbox: Sandbox, settings: Any) -> None:
    """What runs beside the fakes until cancelled: each fake's `run_alongside(sandbox, settings)` (the
    watcher's simulated agents, which speak Redis rather than HTTP)."""
    tasks = [asyncio.create_task(_logged(fake, sandbox, settings)) for fake in fakes()
             if hasattr(fake, "run_alongside")]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["RunningSandbox", "Sandbox", "build_app", "fakes", "run_companions", "serve", "start_sandbox"]
