"""PostgreSQL restarted (a crash: `pg_ctl stop -m immediate`) while bid changes are in flight on a worker process:
the worker stays up, every change is applied exactly once on the marketplace and recorded `applied` (the jobs
that lost their database mid-way are retried and read the bid back instead of sending it again)."""
from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import asyncpg
import pytest
from adolfd.engine.enqueue import enqueue
from adolfd.engine.serialization import arq_job
from adolfd.process import db as dbmod
from adolfd.process.resources import build_resources, close_resources
from adolfd.sandbox.environment import sandbox_settings
from adolfd.settings import Settings
from adolfd.testing import PostgresServer
from adolfd.workers.marketing.bid_changes import request_bid_change

pytestmark = [pytest.mark.slow, pytest.mark.faults]
CHANGES = 20


@pytest.fixture
async def private_pg():
    server = PostgresServer()
    await asyncio.to_thread(server.init)
    await asyncio.to_thread(server.start)
    conn = await asyncpg.connect(server.url)
    try:
        await dbmod.migrate(conn)
    finally:
        await conn.close()
    yield server
    await asyncio.to_thread(server.remove)


@pytest.fixture
async def pg_res(res, private_pg, sandbox, settings):
    """Resources on the private PostgreSQL (Redis and the sandbox as the `res` fixture left them: empty)."""
    own = await build_resources(Settings(database_url=private_pg.url, redis_url=settings.redis_url,
                                         environment="test", metrics_port=0, **sandbox_settings(sandbox.url)))
    yield own
    await close_resources(own)


async def test_postgres_crash_while_bid_changes_run(pg_res, private_pg, sandbox, live_env, workers):
    from tests.conftest import drain_queue

    await enqueue(pg_res.redis, "marketing.sync_campaigns", {})
    await drain_queue(pg_res, "marketing", "default")
    await pg_res.db.execute("UPDATE marketing_campaigns SET max_bid = 10000")
    kws = await pg_res.db.fetch(
        "SELECT k.id, k.external_id, k.current_bid, c.external_id AS campaign, c.brand_id FROM marketing_keywords k "
        "JOIN marketing_campaigns c ON c.id = k.campaign_id WHERE c.marketplace = 'ozon' ORDER BY k.id LIMIT $1",
        CHANGES)
    changes = {await request_bid_change(pg_res.db, k["id"], k["current_bid"] + Decimal(5), request_id=f"pg-{k['id']}"):
               k for k in kws}
    worker = await workers("marketing", {**live_env, "ADOLFD_DATABASE_URL": private_pg.url})
    await asyncio.sleep(2)
    if any(e.get("job") == "sync_campaigns" for e in worker.events("job_started")):
        await worker.wait_for("job_finished", timeout=60, job="sync_campaigns")   # the schedule's catch-up run
    # every bid request takes 3 s at the marketplace: the crash lands while they are in flight
    for campaign in {k["campaign"] for k in kws}:
        sandbox.sandbox.add_fault("ozon-performance", "timeout", path=f"/campaign/{campaign}/products", seconds=3,
                                  process=True)
    jobs = [(await enqueue(pg_res.redis, "marketing.apply_bid_change", {"change_id": c},
                           job_id=f"marketing:bid_change:{c}")).job_id for c in changes]
    async with asyncio.timeout(30):
        while sum(sandbox.sandbox.counters.get("bids_set", {}).values()) < 5:
            await asyncio.sleep(0.1)
    crashed = time.monotonic()
    await private_pg.restart(mode="immediate", down_for=1.0)
    sandbox.sandbox.clear_faults()

    async def all_applied() -> bool:
        try:
            n = await pg_res.db.fetchval("SELECT count(*) FROM marketing_bid_history WHERE status = 'applied'")
        except Exception:  # noqa: BLE001 — the test's own pool reconnecting
            return False
        return n == CHANGES

    async with asyncio.timeout(150):
        while not await all_applied():
            await asyncio.sleep(0.5)
    recovery = time.monotonic() - crashed
    assert worker.running and worker.events("worker_component_crashed") == []

    async def results() -> list:
        return [await arq_job(pg_res.redis, j).result_info() for j in jobs]

    async with asyncio.timeout(10):       # a row turns applied a moment before its job's result is stored
        while None in (infos := await results()):
            await asyncio.sleep(0.1)
    assert all(i is not None and i.success for i in infos)                       # jobs lost: 0
    retried = [i for i in infos if i.job_try > 1]
    for k in changes.values():                                                   # effects twice: 0
        key = f"ozon:{k['brand_id']}:{k['campaign']}:{k['external_id']}"
        assert sandbox.sandbox.counter("bids_set", key) == 1, key
    wrong = await pg_res.db.fetch(
        "SELECT h.id, h.status, h.old_bid, h.new_bid, k.current_bid, k.updated_at, h.applied_at "
        "FROM marketing_bid_history h JOIN marketing_keywords k ON k.id = h.keyword_id "
        "WHERE h.status <> 'applied' OR k.current_bid <> h.new_bid")
    assert not wrong, "\n".join(str(dict(w)) for w in wrong)                   # wrong rows: 0
    print(f"PostgreSQL crash: {len(retried)} of {CHANGES} jobs retried, all applied {recovery:.1f}s after it")
