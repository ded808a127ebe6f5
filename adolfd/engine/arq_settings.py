"""Plain ARQ settings classes, one per queue, so `arq adolfd.workers.logistic.SyncSettings` runs that queue with
the stock ARQ CLI (ARQ's own cron then fires the schedule, at ARQ's precision; `adolfd worker` is the precise,
multi-queue way). A module package exposes them with `__getattr__ = queue_settings("<module>")`."""
from __future__ import annotations

from typing import Any


def settings_class(module: str, queue: str) -> type:
    """Build the ARQ WorkerSettings class of one queue (resolved lazily, when the ARQ CLI reads it)."""
    from adolfd.engine.module import queue_name
    from adolfd.engine.runtime import queue_concurrency, worker_functions
    from adolfd.engine.serialization import job_deserializer, job_serializer
    from adolfd.modules import module as module_spec
    from adolfd.process.logs import configure as configure_logging
    from adolfd.process.resources import build_resources, close_resources, redis_settings
    from adolfd.settings import load_settings

    settings = load_settings()
    functions, scheduled = worker_functions(module, queue)

    async def on_startup(ctx: dict[str, Any]) -> None:
        configure_logging(settings.log_level)
        ctx["resources"] = await build_resources(settings)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        await close_resources(ctx["resources"])

    return type(f"{queue.title()}Settings", (), {
        "functions": functions,
        "cron_jobs": [item.job for item in scheduled],
        "queue_name": queue_name(module, queue),
        "redis_settings": redis_settings(settings),
        "on_startup": staticmethod(on_startup),
        "on_shutdown": staticmethod(on_shutdown),
        "max_jobs": queue_concurrency(module, module_spec(module).queue(queue), settings),
        "poll_delay": 0.05,          # ARQ fires cron on its poll: 50 ms keeps cron within ~50 ms
        "queue_read_limit": settings.queue_read_limit,
        "keep_result": 86400,
        "timezone": settings.tz,
        "job_completion_wait": int(settings.drain_seconds),
        "job_serializer": staticmethod(job_serializer),      # JSON jobs and results, never pickle
        "job_deserializer": staticmethod(job_deserializer),
    })


def queue_settings(module: str):
    """A module-level `__getattr__` for a worker module: `SyncSettings`, `HighSettings` … are built on first
    access (what `arq adolfd.workers.<module>.<Queue>Settings` does), not at every import."""

    def __getattr__(name: str) -> type:
        from adolfd.modules import module as module_spec

        queue = name[: -len("Settings")].lower() if name.endswith("Settings") else ""
        if queue in {q.name for q in module_spec(module).queues}:
            return settings_class(module, queue)
        raise AttributeError(f"module 'adolfd.workers.{module}' has no attribute {name!r}")

    return __getattr__
