"""Agent health and the order tasks go back to their queue (seed 001 §7.5; DOMAIN.md "Watcher").

- An agent is offline after 3 minutes without a heartbeat. An agent in `panic` stays in panic until an
  operator clears it (its tasks were handed back when it panicked), and one already offline is not reported
  again.
- Tasks handed back (agent offline or in panic) go to the **head** of their marketplace's queue in their
  original order (the night's priority order, `seq`). Redis LPUSH with several values puts the last value
  first, so the ids are given to it reversed — the seed pushed them one by one and so reversed the batch.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

OFFLINE_AFTER = timedelta(minutes=3)
STATUSES = ("online", "working", "offline", "panic")


@dataclass(frozen=True)
class AgentState:
    agent_id: int
    name: str
    status: str
    last_heartbeat: datetime | None


@dataclass(frozen=True)
class HandedBack:
    task_id: int
    marketplace: str
    seq: int


def gone_offline(agents: Iterable[AgentState], now: datetime,
                 timeout: timedelta = OFFLINE_AFTER) -> list[AgentState]:
    """Agents to mark offline now: online or working, silent for longer than `timeout`."""
    return [a for a in agents if a.status in ("online", "working")
            and (a.last_heartbeat is None or now - a.last_heartbeat > timeout)]


def head_pushes(tasks: Iterable[HandedBack]) -> dict[str, list[int]]:
    """Per marketplace, the LPUSH argument list that leaves the tasks at the head in their original order."""
    by_market: dict[str, list[HandedBack]] = defaultdict(list)
    for task in tasks:
        by_market[task.marketplace].append(task)
    return {m: [t.task_id for t in sorted(ts, key=lambda t: (t.seq, t.task_id), reverse=True)]
            for m, ts in by_market.items()}


def aggregate(statuses: Iterable[str]) -> dict[str, int]:
    """`watcher:agents:stats` figures (seed §7.5 `get_aggregate_stats`)."""
    counts = {s: 0 for s in STATUSES}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return {"total": sum(counts.values()), **counts}
