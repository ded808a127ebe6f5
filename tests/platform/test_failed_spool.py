"""A job that failed for good while PostgreSQL was down waits in the Redis spool; a running worker writes it to
`failed_jobs` (with its alert) once PostgreSQL answers, without a restart."""
from __future__ import annotations

import asyncio
import io
import json

from adolfd.engine import runtime
from adolfd.engine.failures import record_failure
from adolfd.engine.runtime import WorkerGroup
from adolfd.keys import FAILED_SPOOL
from adolfd.process import logs


class _DeadPool:
    """What asyncpg raises while PostgreSQL is down."""

    def acquire(self):
        raise ConnectionRefusedError(111, "Connect call failed")


def _flush_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line[line.index("{"):]) for line in stream.getvalue().splitlines()
            if '"failed_jobs_spool_flushed"' in line]


async def test_a_spooled_failure_is_written_while_the_worker_runs(res, monkeypatch):
    monkeypatch.setattr(runtime, "SPOOL_FLUSH_SECONDS", 0.2)
    stream = io.StringIO()
    logs.configure("info", stream=stream)
    group = WorkerGroup("operations", res)
    group.build()
    running = asyncio.create_task(group.run())
    try:
        await asyncio.sleep(0.5)                                  # started: its start-up flush is behind it
        assert _flush_lines(stream) == []                         # rounds over an empty spool say nothing
        rec = {"job_id": "outage-job", "module": "operations", "job_name": "probe",
               "queue": "adolfd:operations:default", "args": {"sleep_ms": 1}, "error": "OSError: database down",
               "traceback": "", "tries": 1,
               "failed_at": "2026-11-30T10:00:00+00:00"}
        assert await record_failure(_DeadPool(), res.redis, rec) is None      # PostgreSQL down: spooled
        assert json.loads(await res.redis.lindex(FAILED_SPOOL, 0))["job_id"] == "outage-job"

        async def written() -> bool:
            return await res.db.fetchval("SELECT count(*) FROM failed_jobs WHERE job_id = 'outage-job'") == 1

        async with asyncio.timeout(10):
            while not await written():
                await asyncio.sleep(0.1)
        assert await res.redis.llen(FAILED_SPOOL) == 0
        assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE alert_type = 'JOB_FAILED'") == 1
        await asyncio.sleep(0.5)                                  # more rounds, the spool empty again
        assert [(line["written"], line["set_aside"], line["level"]) for line in _flush_lines(stream)] == [
            (1, 0, "warning")]
    finally:
        group.stop()
        await asyncio.wait_for(running, 30)
        logs.configure("info")
