"""Shared fixtures: a throwaway PostgreSQL database, a flushed Redis DB, the sandbox server, a settable clock,
and `run_job`, which runs a job through a real ARQ worker (burst mode) and returns its outcome.

Environment: ADOLFD_TEST_PG (admin DSN, default postgres@127.0.0.1:5432), ADOLFD_TEST_REDIS
(default redis://127.0.0.1:6379), ADOLFD_TEST_REDIS_DB (default 1).
"""
from __future__ import annotations

import contextlib
import copy
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date
from typing import Any

import asyncpg
import pytest
from adolfd.clients.pacing import PacedLimiter
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


# the tables a test touched: rows left, or an id sequence that has been read (its table may be empty again)
_TABLES = "SELECT format('%I', tablename) FROM pg_tables WHERE schemaname = 'public'"
_READ_SEQUENCE_TABLES = """
SELECT DISTINCT format('%I', c.relname) FROM pg_sequences s
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
 AND d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass
JOIN pg_class c ON c.oid = d.refobjid
WHERE s.schemaname = 'public' AND s.last_value IS NOT NULL
"""


async def _truncate_all(pool: asyncpg.Pool) -> None:
    """Every table empty and every id sequence restarted. Only the touched tables are truncated: a TRUNCATE of
    all ~50 costs ~150 ms a test, finding the touched ones ~1 ms."""
    tables = [r[0] for r in await pool.fetch(_TABLES)]
    if not tables:
        return
    with_rows = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT FROM {t})" for t in tables)
    touched = {r[0] for r in await pool.fetch(with_rows)} | {r[0] for r in await pool.fetch(_READ_SEQUENCE_TABLES)}
    if touched:
        await pool.execute(f"TRUNCATE {', '.join(sorted(touched))} RESTART IDENTITY CASCADE")


@pytest.fixture
async def res(session_resources: Resources, sandbox) -> AsyncIterator[Resources]:
    """Fresh state for each test: empty tables, empty Redis DB, reset sandbox, real clock, and no pacing left
    over from the last test's sends (a WB stats request would otherwise wait out the previous test's 21 s)."""
    await _truncate_all(session_resources.db)
    await session_resources.redis.flushdb()
    sandbox.sandbox.reset()
    session_resources.clock = Clock()
    session_resources._clients.clear()
    session_resources.paced = PacedLimiter(session_resources.limiter)
    session_resources.stopping.clear()          # a worker group the last test stopped set it
    yield session_resources


@dataclass
class StateSnapshot:
    """What a set-up left behind, to start later tests from the same state without redoing it: every table's
    rows (copied into the session database's schema `schema`) and sequence positions, every Redis key with its
    TTL, the sandbox's per-API state, counters and request log. Taken on the sandbox's Moscow day `day` (tests
    that date stats from "today" must not cross midnight)."""

    day: date
    value: Any
    schema: str
    tables: dict[str, str] = field(default_factory=dict)            # table → its columns, quoted
    sequences: list[tuple[str, int]] = field(default_factory=list)
    redis: list[tuple[bytes, int, bytes]] = field(default_factory=list)
    sandbox_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    sandbox_counters: dict[str, Any] = field(default_factory=dict)
    sandbox_requests: list[Any] = field(default_factory=list)


async def take_snapshot(res: Resources, sandbox, value: Any = None) -> StateSnapshot:
    snap = StateSnapshot(day=sandbox.sandbox.today(), value=copy.deepcopy(value),
                         schema=f"snapshot_{uuid.uuid4().hex[:10]}")
    async with res.db.acquire() as conn, conn.transaction():
        await conn.execute(f"CREATE SCHEMA {snap.schema}")
        columns = await conn.fetch(
            "SELECT format('%I', c.relname) AS table, string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum) "
            "AS columns FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid WHERE n.nspname = 'public' AND c.relkind = 'r' "
            "AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' GROUP BY c.relname")
        for row in columns:
            copied = await conn.execute(f"CREATE TABLE {snap.schema}.{row['table']} AS "
                                        f"SELECT {row['columns']} FROM public.{row['table']}")
            if copied != "SELECT 0":
                snap.tables[row["table"]] = row["columns"]
        snap.sequences = [(r["name"], r["last_value"]) for r in await conn.fetch(
            "SELECT format('%I.%I', schemaname, sequencename) AS name, last_value FROM pg_sequences "
            "WHERE schemaname = 'public' AND last_value IS NOT NULL")]
    async for key in res.redis.scan_iter(count=1000):
        dumped = await res.redis.dump(key)
        if dumped is not None:
            snap.redis.append((key, max(await res.redis.pttl(key), 0), dumped))
    state = sandbox.sandbox
    snap.sandbox_states = copy.deepcopy({api: dict(s) for api, s in state._states.items()})
    snap.sandbox_counters = copy.deepcopy(state.counters)
    snap.sandbox_requests = list(state.requests)
    return snap


async def restore_snapshot(res: Resources, sandbox, snap: StateSnapshot) -> Any:
    """Put a snapshot back over the fresh state `res` made (empty tables and Redis, reset sandbox)."""
    async with res.db.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")  # any table order (rows were valid)
        for table, columns in snap.tables.items():
            await conn.execute(f"INSERT INTO public.{table} ({columns}) SELECT {columns} FROM {snap.schema}.{table}")
        for name, last_value in snap.sequences:
            await conn.execute("SELECT setval($1::regclass, $2, true)", name, last_value)
    if snap.redis:
        pipe = res.redis.pipeline(transaction=False)
        for key, ttl, dumped in snap.redis:
            pipe.restore(key, ttl, dumped, replace=True)
        await pipe.execute()
    state = sandbox.sandbox
    for api, saved in copy.deepcopy(snap.sandbox_states).items():
        state.state(api).clear()
        state.state(api).update(saved)
    state.counters = copy.deepcopy(snap.sandbox_counters)
    state.requests.extend(snap.sandbox_requests)
    return copy.deepcopy(snap.value)


@pytest.fixture(scope="session")
def snapshots() -> dict[str, StateSnapshot]:
    """Set-ups taken once per session by name (see `from_snapshot`)."""
    return {}


@pytest.fixture
def from_snapshot(res: Resources, sandbox, snapshots: dict[str, StateSnapshot]):
    """`value = await from_snapshot("name", build)`: the first test runs `await build()` on its fresh state and
    keeps what it left behind; later tests get that state restored (a fast copy) and the same return value,
    instead of repeating a slow set-up such as a rate-limited sync against the sandbox. Call it first, on the
    fresh state `res` gives. A snapshot from another Moscow day is taken again."""

    async def restored(name: str, build: Callable[[], Awaitable[Any]]) -> Any:
        snap = snapshots.get(name)
        if snap is None or snap.day != sandbox.sandbox.today():
            value = await build()
            snapshots[name] = await take_snapshot(res, sandbox, value)
            return value
        return await restore_snapshot(res, sandbox, snap)

    return restored


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
