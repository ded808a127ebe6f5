"""Carsbot (seed 004): sheet syncs, the AI pipeline, publishing, subscriptions and monitoring.

Queues follow the seed's: `default`, `ai` (ai_processing, the seed's highest priority: its own queue, so it never
waits behind sheets or monitoring work), `publishing`, `sheets` (sheets_sync), `monitoring`. Schedules are UTC.
"""
from __future__ import annotations

from adolfd.engine.arq_settings import queue_settings
from adolfd.engine.module import ModuleSpec, Queue

CONCURRENCY = 4          # the seed's `celery worker -c 4`


def _jobs():
    from adolfd.engine.jobs import job_functions
    from adolfd.workers.carsbot import monitoring, pipeline, publishing, sheets_sync

    return job_functions(sheets_sync, pipeline, publishing, monitoring)


def _commands():
    from adolfd.workers.carsbot.commands import COMMANDS

    return COMMANDS


def _bot_router():
    from adolfd.workers.carsbot.bot import router

    return router()


def _sandbox():
    from adolfd.sandbox import google_sheets

    return (google_sheets,)


MODULE = ModuleSpec(
    name="carsbot",
    summary="car-sale ads from Telegram channels: Google Sheets sync, AI pipeline, channel publishing",
    queues=tuple(Queue(name, CONCURRENCY) for name in ("default", "ai", "publishing", "sheets", "monitoring")),
    jobs=_jobs,
    commands=_commands,
    bot_router=_bot_router,
    sandbox=_sandbox,
)

# `arq adolfd.workers.carsbot.<Queue>Settings` runs one queue with the plain ARQ CLI.
__getattr__ = queue_settings("carsbot")
