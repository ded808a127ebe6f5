"""The modules adolfd runs, in one literal list. Each declares itself once, as `MODULE` in its package's
`__init__.py` (adolfd.engine.module.ModuleSpec); the worker, the CLI, the bot, `adolfd status` and the sandbox
read this list. Importing it imports only those declarations, not the modules' jobs."""
from __future__ import annotations

from typing import TYPE_CHECKING

from adolfd.engine.module import ModuleSpec
from adolfd.workers import carsbot, logistic, marketing, operations, reputation, watcher

if TYPE_CHECKING:
    from adolfd.clients.http import ApiClient

MODULES: tuple[ModuleSpec, ...] = (
    logistic.MODULE,
    watcher.MODULE,
    marketing.MODULE,
    reputation.MODULE,
    carsbot.MODULE,
    operations.MODULE,
)


def module(name: str) -> ModuleSpec:
    for spec in MODULES:
        if spec.name == name:
            return spec
    raise LookupError(f"unknown module {name!r}; modules: {', '.join(m.name for m in MODULES)}")


def module_names() -> tuple[str, ...]:
    return tuple(m.name for m in MODULES)


def queue_names(modules: tuple[ModuleSpec, ...] = MODULES) -> list[str]:
    """Every ARQ queue of these modules (`adolfd:<module>:<queue>`)."""
    return [m.queue_name(q.name) for m in modules for q in m.queues]


def client_class(api: str) -> type[ApiClient]:
    """The client class of an external API, from the module that declares it."""
    for spec in MODULES:
        clients = spec.loaded("clients")
        if api in clients:
            return clients[api]
    raise LookupError(f"no module declares a client for API {api!r}")
