"""Jobs that exhausted their tries: stored in `failed_jobs` with a critical alert; listed and retried by hand.

If PostgreSQL itself is down when a job fails, the record waits in a Redis list and is written on the next
chance (`flush_spool`), so no failure is lost.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg
import structlog
from arq.connections import ArqRedis
from redis.asyncio import Redis

from adolfd.admin.alerts import raise_alert
from adolfd.keys import FAILED_SPOOL as SPOOL

log = structlog.get_logger(__name__)

_INSERT = """
INSERT INTO failed_jobs (job_id, module, job_name, queue, args, error, traceback, tries, failed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (job_id, tries) DO NOTHING
RETURNING id
"""


async def _write(db: asyncpg.Pool, rec: dict[str, Any]) -> int | None:
    async with db.acquire() as conn, conn.transaction():
        failed_id = await conn.fetchval(
            _INSERT, rec["job_id"], rec["module"], rec["job_name"], rec["queue"], rec["args"], rec["error"],
            rec["traceback"], rec["tries"], datetime.fromisoformat(rec["failed_at"]),
        )
        if failed_id is not None:
            await raise_alert(
                conn, module=rec["module"], alert_type="JOB_FAILED", severity="critical",
                message=f"{rec['module']}.{rec['job_name']} failed after {rec['tries']} tries: {rec['error']}",
                details={"failed_job_id": failed_id, "job_id": rec["job_id"]},
                dedup_key=f"job_failed:{rec['job_id']}:{rec['tries']}",
            )
    return failed_id


async def record_failure(db: asyncpg.Pool, redis: Redis, rec: dict[str, Any]) -> int | None:
    try:
        return await _write(db, rec)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        await redis.rpush(SPOOL, json.dumps(rec, default=str))  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
        log.critical("failed_job_spooled", job_id=rec["job_id"], reason=str(exc))
        return None


async def flush_spool(db: asyncpg.Pool, redis: Redis) -> int:
    written = 0
    while raw := await redis.lindex(SPOOL, 0):  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
        await _write(db, json.loads(raw))
        await redis.lpop(SPOOL)  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
        written += 1
    return written


async def list_failed(db: asyncpg.Pool, *, include_retried: bool = False, limit: int = 50) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT id, job_id, module, job_name, queue, args, error, tries, failed_at, retried_at, retry_job_id "
        "FROM failed_jobs WHERE $1 OR retried_at IS NULL ORDER BY failed_at DESC LIMIT $2",
        include_retried, limit,
    )


async def retry_failed(db: asyncpg.Pool, redis: ArqRedis, failed_id: int) -> str:
    """Re-enqueue a failed job with its arguments; the new job id is derived from the record, so retrying the
    same record twice enqueues it once."""
    from adolfd.engine.enqueue import enqueue

    row = await db.fetchrow("SELECT * FROM failed_jobs WHERE id = $1", failed_id)
    if row is None:
        raise LookupError(f"no failed job with id {failed_id}")
    new_id = f"retry:{failed_id}:{row['job_id']}"
    await enqueue(redis, f"{row['module']}.{row['job_name']}", dict(row["args"]), job_id=new_id)
    await db.execute("UPDATE failed_jobs SET retried_at = now(), retry_job_id = $2 WHERE id = $1",
                     failed_id, new_id)
    return new_id
