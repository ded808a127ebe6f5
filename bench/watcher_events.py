"""Watcher agent events: how many events per second one consumer process applies, and how long from an
agent's PANIC to its tasks being back at the head of the queue.

    .venv/bin/python -m bench.watcher_events [--tasks 2000] [--panic-tasks 50]

Runs against a scratch PostgreSQL database and a private redis-server (port 6404). The simulated fleet
(adolfd/sandbox/watcher_agents.py) writes the events first; the consumer then drains them (heartbeat,
task_started and price_result per task), so the figure is the consumer's rate, not the agents'.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

import redis.asyncio as aioredis
from adolfd.keys import WATCHER_CLAIMED as CLAIMED
from adolfd.keys import WATCHER_TASK_QUEUE as TASK_QUEUE
from adolfd.process.db import create_pool
from adolfd.sandbox.watcher_agents import Fleet
from adolfd.workers.watcher.consumer import Consumer, ensure_group
from adolfd.workers.watcher.queues import push_night, write_payloads

from bench.common import private_redis, scratch


def now() -> datetime:
    return datetime.now(UTC)


async def seed_tasks(db, redis, n: int, night: str = "2026-02-16") -> list[int]:
    await db.execute("INSERT INTO watcher_products (sku, marketplace, brand_id) "
                     "VALUES ('OM-1', 'ozon', 'ohana_market')")
    await db.execute("INSERT INTO watcher_competitors (our_sku, marketplace, competitor_sku) "
                     "SELECT 'OM-1', 'ozon', 'C-' || g FROM generate_series(1, $1) g", n)
    rows = await db.fetch(
        "INSERT INTO watcher_tasks (target_type, target_id, sku, marketplace, scheduled_date, seq) "
        "SELECT 'competitor', id, competitor_sku, 'ozon', $1::date, id FROM watcher_competitors ORDER BY id "
        "RETURNING id, sku, url, marketplace, target_type, scheduled_date", datetime.fromisoformat(night).date())
    await write_payloads(redis, rows)
    await push_night(redis, night, "ozon", [r["id"] for r in rows])
    return [r["id"] for r in rows]


async def throughput(db, redis, tasks: int) -> tuple[int, float]:
    await seed_tasks(db, redis, tasks)
    fleet = Fleet(redis, per_market=4, now=now)
    await fleet.heartbeat()
    await fleet.work_all()
    events = await redis.xlen("watcher:agent_events")
    consumer = Consumer(db, redis, now, name="bench")
    started = time.perf_counter()
    report = await consumer.drain(count=200)
    elapsed = time.perf_counter() - started
    assert report.applied == events and report.dead == 0, report
    return events, events / elapsed


async def panic_latency(db, redis, in_progress: int, rounds: int = 5) -> list[float]:
    """An ozon agent holds `in_progress` started tasks; the consumer runs; time PANIC XADD → ids at the head."""
    samples = []
    for r in range(rounds):
        await redis.flushdb()
        await db.execute("TRUNCATE watcher_tasks, watcher_agents, watcher_competitors, watcher_products, "
                         "watcher_applied_events, watcher_agent_logs, watcher_price_history, alerts, "
                         "alert_deliveries RESTART IDENTITY CASCADE")
        ids = await seed_tasks(db, redis, in_progress * 2)
        fleet = Fleet(redis, per_market=1, now=now)
        agent = fleet.agent("ozon-1")
        await agent.heartbeat()
        agent.switches.silent = True
        for _ in range(in_progress):                  # take and start tasks, staying "alive" for the bench
            agent.dead = False
            await agent.work_one()
        consumer = Consumer(db, redis, now, name=f"bench-{r}")
        await ensure_group(redis)
        await consumer.drain()
        assert await redis.llen(CLAIMED.format(agent="ozon-1")) == in_progress
        runner = asyncio.create_task(consumer.run(30, block_ms=1000))
        await asyncio.sleep(0.2)
        agent.dead, agent.switches.silent, agent.switches.panic = False, False, True
        started = time.perf_counter()
        await agent.send("panic", reason="ban", ip=agent.ip)
        queue = TASK_QUEUE.format(marketplace="ozon")
        while [int(x) for x in await redis.lrange(queue, 0, in_progress - 1)] != ids[:in_progress]:
            await asyncio.sleep(0.0005)
        samples.append((time.perf_counter() - started) * 1000)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    return samples


async def main(tasks: int, panic_tasks: int) -> None:
    async with private_redis(6404) as redis_base, scratch(redis_base) as (database_url, redis_url):
        db = await create_pool(database_url, 4)
        redis = aioredis.from_url(redis_url)
        try:
            events, rate = await throughput(db, redis, tasks)
            print(f"consumer: {events} events applied at {rate:,.0f} events/s (one process, one consumer)")
            samples = await panic_latency(db, redis, panic_tasks)
            print(f"PANIC → {panic_tasks} tasks back at the head: median {statistics.median(samples):.1f} ms, "
                  f"max {max(samples):.1f} ms over {len(samples)} runs")
        finally:
            await redis.aclose()
            await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--panic-tasks", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.panic_tasks))
