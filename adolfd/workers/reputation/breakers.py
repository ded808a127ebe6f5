"""The six polling circuit breakers, one per marketplace and item type (seed 003 §7.3 `_poll_items`), and their
section of `adolfd status` and the bot's /status."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
from arq.connections import ArqRedis

from adolfd.clients.breaker import RedisBreakers
from adolfd.domain.circuit_breaker import BreakerPolicy
from adolfd.domain.reputation.review_analysis import ItemType
from adolfd.keys import REPUTATION_BREAKER as BREAKER
from adolfd.settings import Settings
from adolfd.workers.reputation.resources import PLATFORMS


def breaker_policy(settings: Settings) -> BreakerPolicy:
    rep = settings.reputation
    return BreakerPolicy(failure_threshold=rep.breaker_failures,
                         cooldown=timedelta(seconds=rep.breaker_cooldown_seconds),
                         probe_timeout=timedelta(seconds=rep.breaker_probe_timeout_seconds))


def breakers(redis: ArqRedis, settings: Settings) -> RedisBreakers:
    return RedisBreakers(redis, breaker_policy(settings))


def breaker_name(platform: str, item_type: ItemType | str) -> str:
    return BREAKER.format(platform=platform, item_type=ItemType(item_type).value)


BREAKER_NAMES = [breaker_name(p, t) for p in PLATFORMS for t in ItemType]


async def breaker_status(redis: ArqRedis, db: asyncpg.Pool | None) -> list[dict[str, Any]]:
    """`adolfd status` / bot: the six polling breakers."""
    from adolfd.settings import load_settings

    return await breakers(redis, load_settings()).snapshot(BREAKER_NAMES)


