"""Watcher jobs (seed 001 §7): the night's parsing tasks for the external agents, their events, price alerts,
agent health, clean-ups, priorities, statistics and the Office Dashboard. The agents' Redis protocol is
docs/agents.md; every Redis key is in `keys.py`; the rules are in `adolfd.domain.watcher`."""
from adolfd.workers import queue_settings
from adolfd.workers.watcher import agents, alerts, cleanup, generation, health, priorities, stats

__all__ = ["agents", "alerts", "cleanup", "generation", "health", "priorities", "stats"]

# `arq adolfd.workers.watcher.<Queue>Settings` runs one queue with the plain ARQ CLI.
__getattr__ = queue_settings("watcher")
