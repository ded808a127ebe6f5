"""Shared fixtures: a throwaway PostgreSQL database, a flushed Redis DB, the sandbox server, a settable clock,
and `run_job`, which runs a job through a real ARQ worker (burst mode) and returns its outcome.

Environment: ADOLFD_TEST_PG (admin DSN, default postgres@127.0.0.1:5432), ADOLFD_TEST_REDIS
(default redis://127.0.0.1:6379), ADOLFD_TEST_REDIS_DB (default 1).
"""
from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from arq import Worker

from adolfd import db as dbmod
from adolfd.clock import Clock, FixedClock
from adolfd.context import Resources
from adolfd.enqueue import enqueue
from adolfd.registry import resolve
from adolfd.resources import build_resources, close_resources
from adolfd.runtime import worker_functions
from adolfd.serialization import SERIALIZERS, arq_job
from adolfd.sandbox import start_sandbox
from adolfd.sandbox.environment import sandbox_settings
from adolfd.settings import Settings

PG_ADMIN = os.environ.get("ADOLFD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("ADOLFD_TEST_REDIS", "redis://127.0.0.1:6379").rstrip("/")
REDIS_DB = int(os.environ.get("ADOLFD_TEST_REDIS_DB", "1"))


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    name = f"adolfd_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    conn = await asyncpg.connect(url)
    try:
        await dbmod.migrate(conn)
    finally:
        await conn.close()
    yield url
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


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
    from datetime import datetime, timezone

    fixed = FixedClock(datetime.now(timezone.utc))
    res.clock = fixed
    return fixed


async def drain_queue(res: Resources, module: str, queue: str, *, max_jobs: int = 10) -> Worker:
    """Run one queue's real ARQ worker until the queue is empty (burst mode)."""
    functions, scheduled = worker_functions(module, queue)
    worker = Worker(functions=functions, cron_jobs=[s.job for s in scheduled], queue_name=f"adolfd:{module}:{queue}",
                    redis_pool=res.redis, burst=True, handle_signals=False, poll_delay=0.01,
                    max_jobs=max_jobs, ctx={"resources": res}, keep_result=3600, **SERIALIZERS)
    await worker.main()
    return worker


@pytest.fixture
def run_queue(res: Resources):
    """`await run_queue("logistic", "sync")`: drain one queue with a real ARQ worker."""

    async def run(module: str, queue: str, **kw: Any) -> Worker:
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
