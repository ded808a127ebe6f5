"""What a module is, declared once.

Each module package (`adolfd/workers/<module>/__init__.py`) builds one `ModuleSpec`: its queues with their
concurrency, its jobs, and what it adds to the operator's tools (CLI commands, a bot router, status sections),
the API clients its jobs use and the sandbox fakes of those APIs. `adolfd.modules.MODULES` lists the specs;
the worker, the CLI, the bot, `adolfd status` and the sandbox read that list and nothing else.

Everything beyond the queues is a loader, a function that imports on first use, so `adolfd run` does not
load the bot, the sandbox or another module's code to enqueue one job.
"""
from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from adolfd.keys import QUEUE

if TYPE_CHECKING:
    import asyncpg
    from aiogram import Router
    from arq.connections import ArqRedis

    from adolfd.clients.http import ApiClient
    from adolfd.settings import Settings

T = TypeVar("T")
Loader = Callable[[], T]
# `adolfd status` section: async (redis, db or None) -> JSON-able data
StatusSection = Callable[["ArqRedis", "asyncpg.Pool | None"], Awaitable[Any]]


def _nothing() -> tuple[()]:
    return ()


def _no_mapping() -> Mapping[str, Any]:
    return {}


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """A command without arguments."""


@dataclass(frozen=True)
class Queue:
    """One ARQ queue of a module (`adolfd:<module>:<name>`); `concurrency` is its jobs at once per process
    (the seed's Celery `concurrency`), or `settings.max_jobs` when None."""

    name: str
    concurrency: int | None = None


@dataclass(frozen=True)
class Command:
    """A subcommand of `adolfd`: `run(args, settings)` returns the exit code (2 for usage errors)."""

    name: str
    help: str
    run: Callable[[argparse.Namespace, Settings], int]
    arguments: Callable[[argparse.ArgumentParser], object] = _no_arguments


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    summary: str
    queues: tuple[Queue, ...]
    jobs: Loader[Sequence[Callable[..., Any]]]               # functions decorated with adolfd.engine.jobs.job
    commands: Loader[Sequence[Command]] = _nothing
    bot_router: Loader[Router] | None = None
    status: Loader[Mapping[str, StatusSection]] = _no_mapping
    clients: Loader[Mapping[str, type[ApiClient]]] = _no_mapping   # API name -> client class (`for_brand(res, brand)`)
    sandbox: Loader[Sequence[ModuleType]] = _nothing          # fakes: modules with `install(sandbox)`
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def queue(self, name: str) -> Queue:
        for queue in self.queues:
            if queue.name == name:
                return queue
        raise LookupError(f"module {self.name} has no queue {name!r}; its queues: "
                          + ", ".join(q.name for q in self.queues))

    def queue_name(self, queue: str) -> str:
        return queue_name(self.name, self.queue(queue).name)

    def loaded(self, what: str) -> Any:
        """The result of one loader, loaded once per process."""
        if what not in self._cache:
            self._cache[what] = getattr(self, what)()
        return self._cache[what]


def queue_name(module: str, queue: str) -> str:
    return QUEUE.format(module=module, queue=queue)

