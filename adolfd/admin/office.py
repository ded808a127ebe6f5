"""Office Dashboard reporting (seed 003 Appendix B, seed 001; DOMAIN.md "Office Dashboard").

An `OfficeReporter` writes one agent's card to the Redis hash `office:agent:{agent_id}`: who the agent is
(department, name, salary equivalent, FTE), its status (`working` / `idle` / `error`), the current activity,
its metrics, the last error and the last heartbeat. The key carries a TTL (3 minutes by default), so an agent
whose worker stopped disappears from the dashboard by itself; `office_heartbeat` refreshes every reporter each
minute without touching its status. The dashboard itself is outside adolfd and only reads these keys.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from adolfd.keys import OFFICE_AGENT as KEY


@dataclass(frozen=True)
class OfficeAgent:
    agent_id: str
    department: str
    name: str
    salary_equivalent: int
    fte_coefficient: float


class OfficeReporter:
    """The seed's `OfficeReporter(agent_id, department, name, salary_equivalent, fte_coefficient)`, async and
    bound to a Redis connection and a clock."""

    def __init__(self, agent: OfficeAgent, redis: Redis, now: Callable[[], datetime], ttl_seconds: int = 180) -> None:
        self.agent = agent
        self.redis = redis
        self.now = now
        self.ttl = ttl_seconds
        self.key = KEY.format(agent_id=agent.agent_id)

    def _identity(self) -> dict[str, str]:
        a = self.agent
        return {"agent_id": a.agent_id, "department": a.department, "name": a.name,
                "salary_equivalent": str(a.salary_equivalent), "fte_coefficient": str(a.fte_coefficient)}

    async def _write(self, fields: dict[str, str]) -> None:
        stamp = self.now().isoformat()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key, mapping={**self._identity(), **fields, "updated_at": stamp, "last_heartbeat": stamp})
            pipe.expire(self.key, self.ttl)
            await pipe.execute()

    async def report_working(self, activity: str) -> None:
        await self._write({"status": "working", "activity": activity, "status_since": self.now().isoformat()})

    async def report_idle(self, metrics: dict[str, Any] | None = None) -> None:
        fields = {"status": "idle", "activity": "", "status_since": self.now().isoformat()}
        if metrics is not None:
            fields["metrics"] = json.dumps(metrics, ensure_ascii=False, default=str)
        await self._write(fields)

    async def report_error(self, message: str) -> None:
        await self._write({"status": "error", "error": message[:500], "status_since": self.now().isoformat()})

    async def heartbeat(self) -> None:
        """Refresh presence; an agent whose key had expired comes back as idle."""
        stamp = self.now().isoformat()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key, mapping={**self._identity(), "last_heartbeat": stamp})
            pipe.hsetnx(self.key, "status", "idle")
            pipe.hsetnx(self.key, "status_since", stamp)
            pipe.expire(self.key, self.ttl)
            await pipe.execute()

    async def read(self) -> dict[str, Any]:
        raw = await self.redis.hgetall(self.key)  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
        card: dict[str, Any] = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                                for k, v in raw.items()}
        if "metrics" in card:
            card["metrics"] = json.loads(card["metrics"])
        return card
