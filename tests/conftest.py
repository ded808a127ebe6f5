"""Shared fixtures: a throwaway PostgreSQL database, a flushed Redis DB, the sandbox server, a settable clock,
and `run_job`, which runs a job through a real ARQ worker (burst mode) and returns its outcome.

Environment: ADOLFD_TEST_PG (admin DSN, default postgres@127.0.0.1:5432), ADOLFD_TEST_REDIS
(default redis://127.0.0.1:6379), ADOLFD_TEST_REDIS_DB (default 1).
"""
from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import asyncpg
import pytest
from adolfd.engine.context import Resources
from adolfd.engine.enqueue import enqueue
from adolfd.engine.jobs import resolve
from adolfd.engine.runtime import AdolfdWorker, worker_functions
from adolfd.engine.serialization import SERIALIZERS, arq_job
from adolfd.process import db as dbmod
from adolfd.process.clock import Clock, FixedClock
from adolfd.process.resources import build_resources, close_resources
from adolfd.sandbox import start_sandbox
from adolfd.sandbox.environment import sandbox_settings
from adolfd.settings import Settings

PG_ADMIN = os.environ.get("ADOLFD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("ADOLFD_TEST_REDIS", "redis://127.0.0.1:6379").rstrip("/")
REDIS_DB = int(os.environ.get("ADOLFD_TEST_REDIS_DB", "1"))


@contextlib.asynccontextmanager
async def throwaway_database(prefix: str = "adolfd_test") -> AsyncIterator[str]:
    """A new empty database, dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    async with throwaway_database() as url:
        conn = await asyncpg.connect(url)
        try:
            await dbmod.migrate(conn)
        finally:
            await conn.close()
        yield url


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    """A database of its own, without the schema, for an adolfd process that migrates it itself."""
    async with throwaway_database("adolfd_proc") as url:
        yield url


@pytest.fixture(scope="session")
async def sandbox():
    running = await start_sandbox(port=0)
    yield running
    await running.close()


@pytest.fixture(scope="session")
def settings(database_url: str, sandbox, tmp_path_factory) -> Settings:
    return Settings(
        database_url=database_url, redis_url=f"{REDIS_BASE}/{REDIS_DB}", environment="test", metrics_port=0,
        report_dir=tmp_path_factory.mktemp("reports"), **sandbox_settings(sandbox.url),
    )


@pytest.fixture(scope="session")
async def session_resources(settings: Settings) -> AsyncIterator[Resources]:
    res = await build_resources(settings)
    yield res
    await close_resources(res)


async def _truncate_all(pool: asyncpg.Pool) -> None:
    tables = await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    if tables:
        names = ", ".join(f'"{t["tablename"]}"' for t in tables)
        await pool.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture
async def res(session_resources: Resources, sandbox) -> AsyncIterator[Resources]:
    """Fresh state for each test: empty tables, empty Redis DB, reset sandbox, real clock."""
    await _truncate_all(session_resources.db)
    await session_resources.redis.flushdb()
    sandbox.sandbox.reset()
    session_resources.clock = Clock()
    session_resources._clients.clear()
    yield session_resources


@pytest.fixture
def at(clock: FixedClock, sandbox):
    """`at(dt)`: adolfd's clock and the sandbox's clock both stand still at dt."""

    def move(when):
        clock.set(when)
        sandbox.sandbox.set_now(when, frozen=True)
        return when

    return move


@pytest.fixture
def extract(res: Resources, sandbox):
    """`await extract(now, tables=...)`: the 1C extractor's load of `now`'s Moscow day, loaded_at = now."""
    from adolfd.sandbox.brain import BRAIN_TABLES, seed_brain_tables

    async def load(now, tables=BRAIN_TABLES) -> dict[str, int]:
        async with res.db.acquire() as conn:
            return await seed_brain_tables(conn, seed=sandbox.sandbox.seed, now=now, tables=tables)

    return load


@pytest.fixture
def clock(res: Resources) -> FixedClock:
    """Freeze adolfd's clock (not the sandbox's); tests move it with .set()/.advance()."""
    from datetime import datetime

    fixed = FixedClock(datetime.now(UTC))
    res.clock = fixed
    return fixed


async def drain_queue(res: Resources, module: str, queue: str, *, max_jobs: int = 10,
                      max_burst_jobs: int = -1) -> AdolfdWorker:
    """Run one queue on the production worker class until the queue is empty (burst mode). The cron schedule
    is not attached: a test runs exactly the jobs it enqueues, whatever the wall clock says."""
    functions, _ = worker_functions(module, queue)
    worker = AdolfdWorker(functions=functions, queue_name=f"adolfd:{module}:{queue}", redis_pool=res.redis,
                          burst=True, max_burst_jobs=max_burst_jobs, handle_signals=False, poll_delay=0.01,
                          max_jobs=max_jobs, ctx={"resources": res}, keep_result=3600, **SERIALIZERS)
    await worker.main()
    return worker


@pytest.fixture
def run_queue(res: Resources):
    """`await run_queue("logistic", "sync")`: drain one queue with a real ARQ worker."""

    async def run(module: str, queue: str, **kw: Any) -> AdolfdWorker:
        return await drain_queue(res, module, queue, **kw)

    return run


@pytest.fixture
def run_job(res: Resources):
    """`await run_job("logistic.sync_ozon_stocks", brand_id="all")` → dict(status, success, result, tries).

    Enqueues exactly like `adolfd run` and drains the job's queue with a real worker (retries included:
    give the job a short retry policy in the test if it would wait long)."""

    async def run(name: str, *, _job_id: str | None = None, **kwargs: Any) -> dict[str, Any]:
        spec = resolve(name)
        queued = await enqueue(res.redis, name, kwargs, job_id=_job_id)
        job_id = queued.job_id if queued else _job_id
        await drain_queue(res, spec.module, spec.queue)
        info = await arq_job(res.redis, job_id).result_info()
        if info is None:
            return {"job_id": job_id, "status": "not_finished", "success": False, "result": None, "tries": 0}
        return {"job_id": job_id, "status": "complete", "success": info.success, "result": info.result,
                "tries": info.job_try}

    return run


@pytest.fixture
def run_first(res, run_queue):
    """`await run_first("logistic.generate_supply_tasks", **kw)`: like run_job, but stops after this one job,
    so a job that re-enqueues itself for later (a deferral) does not keep the burst worker waiting."""
    async def run(name: str, **kwargs) -> dict:
        spec = resolve(name)
        await run_queue(spec.module, spec.queue)              # what is already due goes first
        queued = await enqueue(res.redis, name, kwargs)
        await drain_queue(res, spec.module, spec.queue, max_burst_jobs=1)
        info = await arq_job(res.redis, queued.job_id).result_info()
        return {"job_id": queued.job_id, "success": info.success, "result": info.result, "tries": info.job_try}

    return run
