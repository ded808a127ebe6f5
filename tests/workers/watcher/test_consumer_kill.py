"""A consumer process SIGKILLed in the middle of an event — inside its PostgreSQL transaction, or after the commit
and before its Redis effects and XACK — loses nothing and applies nothing twice: the next consumer claims the entry
and the event takes effect exactly once."""
from __future__ import annotations

import asyncio
import signal
import sys

import pytest
from adolfd.keys import WATCHER_EVENTS as EVENTS
from adolfd.testing import service_env
from adolfd.workers.watcher.consumer import Consumer

pytestmark = [pytest.mark.slow, pytest.mark.faults]

# A real consumer process that hangs at the chosen point of a price result, so it can be killed right there.
DOOMED = """
import asyncio, sys
from datetime import UTC, datetime
import redis.asyncio as aioredis
from adolfd.process.db import create_pool
from adolfd.workers.watcher import consumer as c

async def main(db_url, redis_url, point):
    db = await create_pool(db_url, size=2)
    redis = aioredis.from_url(redis_url)
    real_apply, real_effects = c.apply_event, c.run_effects

    async def apply_then_hang(conn, event, now, claimed=()):
        effects = await real_apply(conn, event, now, claimed)
        if event.type == "price_result":
            print("HANGING", flush=True)
            await asyncio.sleep(3600)
        return effects

    async def hang_before_effects(db_, redis_, effects, now):
        if effects:
            print("HANGING", flush=True)
            await asyncio.sleep(3600)
        await real_effects(db_, redis_, effects, now)

    if point == "in_transaction":
        c.apply_event = apply_then_hang
    else:
        c.run_effects = hang_before_effects
    await c.Consumer(db, redis, lambda: datetime.now(UTC), name="doomed").drain()

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.mark.parametrize("point", ["in_transaction", "after_commit"])
async def test_consumer_killed_mid_event_applies_it_once(res, settings, clock, catalogue, run_job, fleet, consume,
                                                          point):
    await run_job("watcher.generate_daily_tasks")
    await fleet.heartbeat()
    await consume()
    task = await fleet.agent("ozon-1").work_one()          # its start and its price result wait on the stream
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", DOOMED, *service_env(settings).values(), point,
                                                stdout=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line.strip() == b"HANGING"
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 30)
    assert (await res.redis.xpending(EVENTS, "adolfd"))["pending"] == 1
    committed = await res.db.fetchval("SELECT count(*) FROM watcher_price_history")
    assert committed == (1 if point == "after_commit" else 0)
    report = await Consumer(res.db, res.redis, clock.now, name="takes-over", reclaim_idle_ms=0).drain()
    assert report.reclaimed == 1
    assert (report.applied, report.duplicates) == ((0, 1) if point == "after_commit" else (1, 0))
    assert await res.db.fetchval("SELECT count(*) FROM watcher_price_history WHERE task_id = $1", task) == 1
    assert await res.db.fetchval("SELECT status FROM watcher_tasks WHERE id = $1", task) == "completed"
    assert await res.redis.llen("watcher:claimed:ozon-1") == 0            # the effect ran, once
    assert (await res.redis.xpending(EVENTS, "adolfd"))["pending"] == 0
