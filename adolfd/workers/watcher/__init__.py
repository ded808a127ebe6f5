"""Watcher (seed 001 §7): the night's parsing tasks for the external agents, their events, price alerts, agent
health, clean-ups, priorities, statistics and the Office Dashboard. The agents' Redis protocol is docs/agents.md;
every Redis key is in its section of `adolfd/keys.py`; the rules are in `adolfd.domain.watcher`."""
from __future__ import annotations

from adolfd.engine.arq_settings import queue_settings
from adolfd.engine.module import ModuleSpec, Queue

MODULE_NAME = "watcher"          # the module's name (alerts.module, job names); `MODULE` below is its spec


def _jobs():
    from adolfd.engine.jobs import job_functions
    from adolfd.workers.watcher import agents, alerts, cleanup, generation, health, priorities, stats

    return job_functions(generation, alerts, agents, cleanup, priorities, stats, health)


def _commands():
    from adolfd.workers.watcher.commands import COMMANDS

    return COMMANDS


def _bot_router():
    from adolfd.workers.watcher.bot import router

    return router()


def _sandbox():
    from adolfd.sandbox import watcher_agents

    return (watcher_agents,)


MODULE = ModuleSpec(
    name=MODULE_NAME,
    summary="competitor prices from a fleet of parsing agents: nightly tasks, price alerts, agent health",
    # seed 001 App. A: one Celery worker per queue, -c 2 / -c 1 / -c 1
    queues=(Queue("default", 2), Queue("critical", 1), Queue("heavy", 1)),
    jobs=_jobs,
    commands=_commands,
    bot_router=_bot_router,
    sandbox=_sandbox,
)

# `arq adolfd.workers.watcher.<Queue>Settings` runs one queue with the plain ARQ CLI.
__getattr__ = queue_settings("watcher")
