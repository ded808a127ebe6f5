"""calculate_priorities on real rows at the formula's band edges; the Redis clean-up on a redis-server where KEYS
does not exist (renamed away), so any KEYS call would fail the job."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from adolfd.engine.context import Ctx
from adolfd.engine.serialization import SERIALIZERS
from adolfd.testing import RedisServer
from adolfd.workers.watcher.cleanup import cleanup_redis_keys
from arq.connections import RedisSettings, create_pool
from redis.exceptions import ResponseError


def alternate(a: int, b: int, n: int) -> list[Decimal]:
    """n prices a, b, a, … : n − 1 changes."""
    return [Decimal(a if i % 2 == 0 else b) for i in range(n)]


async def test_calculate_priorities_at_the_band_edges(res, at, clock, catalogue, run_job):
    now = clock.now()
    ids = {r["competitor_sku"]: r["id"]
           for r in await res.db.fetch("SELECT id, competitor_sku FROM watcher_competitors")}
    rows = [("OM-1", None, Decimal(1000), None, now - timedelta(days=1)),      # our prices: 1000
            ("OM-2", None, Decimal(1000), None, now - timedelta(days=1))]

    def series(sku: str, our: str, prices: list[Decimal], discount: Decimal | None, days_ago: float) -> None:
        for i, price in enumerate(prices):
            rows.append((our, ids[sku], price, discount, now - timedelta(days=days_ago, minutes=len(prices) - i)))

    # C-11: 10 changes (+20), discount 30 (+15), 5 % above ours (+15), 2 dumping (+20) → 120, clamped to 100
    series("C-11", "OM-1", alternate(1050, 1049, 11), Decimal(30), 2)
    # C-12: 5 changes (+10), discount 15 (+5), 15 % above ours (+5), 1 dumping (+10) → 80
    series("C-12", "OM-1", alternate(1149, 1150, 6), Decimal(15), 2)
    # C-13: no change (−10), no discount, 50.01 % above ours (−10) → 30
    series("C-13", "OM-1", [Decimal("1500.10")], None, 2)
    # C-21: 4 changes (0), discount 14.99 (0), 15.1 % above ours (0); its 9 changes of 40 days ago and a
    # dumping alert of 31 days ago are outside the 30-day window → 50
    series("C-21", "OM-2", alternate(1151, 1152, 10), Decimal(40), 40)
    series("C-21", "OM-2", alternate(1151, 1152, 5), Decimal("14.99"), 2)
    await res.db.executemany(
        "INSERT INTO watcher_price_history (sku, marketplace, competitor_id, current_price, discount_percent, "
        "parsed_at) SELECT $1, marketplace, $2, $3, $4, $5 FROM watcher_products WHERE sku = $1", rows)
    await res.db.executemany(
        "INSERT INTO watcher_alerts (alert_type, severity, sku, marketplace, competitor_id, created_at) "
        "VALUES ('dumping_detected', 'critical', $1, 'ozon', $2, $3)",
        [("OM-1", ids["C-11"], now - timedelta(days=1)), ("OM-1", ids["C-11"], now - timedelta(days=29)),
         ("OM-1", ids["C-12"], now - timedelta(days=3)), ("OM-2", ids["C-21"], now - timedelta(days=31))])
    result = await run_job("watcher.calculate_priorities")
    assert result["success"], result
    got = {r["competitor_sku"]: r["priority"] for r in await res.db.fetch(
        "SELECT competitor_sku, priority FROM watcher_competitors")}
    # C-22, C-23, C-31: no parse at all → no change (−10), distance unknown → 40
    assert got == {"C-11": 100, "C-12": 80, "C-13": 30, "C-21": 50, "C-22": 40, "C-23": 40, "C-31": 40}
    assert result["result"] == {"status": "success", "updated_count": 6, "total_competitors": 7}
    assert (await run_job("watcher.calculate_priorities"))["result"]["updated_count"] == 0


@pytest.fixture
async def keyless_redis(tmp_path):
    server = RedisServer(tmp_path / "redis", persistent=False, options=("--rename-command", "KEYS", ""))
    await server.start()
    pool = await create_pool(RedisSettings.from_dsn(f"{server.url}/0"), **SERIALIZERS)
    try:
        yield pool
    finally:
        await pool.aclose()
        server.stop()


async def test_redis_cleanup_works_where_keys_does_not_exist(res, at, keyless_redis):
    with pytest.raises(ResponseError, match="unknown command"):
        await keyless_redis.keys("watcher:*")                  # the check bites: KEYS is gone on this server
    await res.db.execute("INSERT INTO watcher_agents (name, marketplace) VALUES ('ozon-1', 'ozon')")
    redis = keyless_redis
    await redis.set("watcher:stats:old", "1")
    await redis.set("watcher:stats:fresh", "1", ex=600)
    await redis.set("watcher:agent:ozon-1:state", "1")
    await redis.set("watcher:agent:gone:state", "1")
    await redis.rpush("watcher:claimed:gone", "5")
    await redis.rpush("watcher:claimed:ozon-1", "6")
    for i in range(1200):                                        # more than one SCAN page
        await redis.set(f"other:{i}", "1")
    ctx = Ctx(replace(res, redis=redis))
    result = await cleanup_redis_keys(ctx)
    assert result == {"status": "success", "deleted_count": 3}
    assert await redis.exists("watcher:stats:fresh", "watcher:agent:ozon-1:state", "watcher:claimed:ozon-1") == 3
    assert await redis.exists("watcher:stats:old", "watcher:agent:gone:state", "watcher:claimed:gone") == 0
    assert await redis.dbsize() == 1203
