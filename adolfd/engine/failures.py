"""Jobs that exhausted their tries: stored in `failed_jobs` with a critical alert; listed and retried by hand.

If PostgreSQL itself is down when a job fails, the record waits in a Redis list and is written on the next
chance (`flush_spool`), so no failure is lost. Error texts and arguments come from outside (API replies, job
arguments): they are made storable first (a NUL would make PostgreSQL refuse the record on every try), and a
spooled entry that still cannot be written is set aside with an alert, so it never blocks the entries behind it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from arq.connections import ArqRedis
from redis.asyncio import Redis

from adolfd.admin.alerts import raise_alert
from adolfd.keys import FAILED_SPOOL as SPOOL
from adolfd.keys import FAILED_SPOOL_UNWRITABLE as UNWRITABLE
from adolfd.outside_text import storable, storable_json

log = structlog.get_logger(__name__)

_INSERT = """
INSERT INTO failed_jobs (job_id, module, job_name, queue, args, error, traceback, tries, failed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (job_id, tries) DO NOTHING
RETURNING id
"""


# The database is unreachable: keep the spool as it is and try again later.
DATABASE_DOWN = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
                 asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError)


def _storable_record(rec: dict[str, Any]) -> dict[str, Any]:
    """The record as PostgreSQL takes it; KeyError/ValueError/TypeError when it is not a dead letter at all."""
    failed_at = datetime.fromisoformat(str(rec["failed_at"]))
    return {
        "job_id": storable(str(rec["job_id"])), "module": storable(str(rec["module"])),
        "job_name": storable(str(rec["job_name"])), "queue": storable(str(rec["queue"])),
        "args": storable_json(rec.get("args") or {}), "error": storable(str(rec.get("error") or "")),
        "traceback": storable(str(rec.get("traceback") or "")), "tries": int(rec["tries"]),
        "failed_at": failed_at if failed_at.tzinfo else failed_at.replace(tzinfo=UTC),
    }


async def _write(db: asyncpg.Pool, rec: dict[str, Any]) -> int | None:
    rec = _storable_record(rec)
    async with db.acquire() as conn, conn.transaction():
        failed_id = await conn.fetchval(
            _INSERT, rec["job_id"], rec["module"], rec["job_name"], rec["queue"], rec["args"], rec["error"],
            rec["traceback"], rec["tries"], rec["failed_at"],
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
    except (*DATABASE_DOWN, asyncpg.PostgresError) as exc:
        await redis.rpush(SPOOL, json.dumps(rec, default=str))  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
        log.critical("failed_job_spooled", job_id=rec["job_id"], reason=str(exc))
        return None


@dataclass(frozen=True)
class SpoolFlush:
    """What one pass over the spool did; `waiting` entries stay because the database could not be reached."""

    written: int = 0
    set_aside: int = 0
    waiting: int = 0
    error: str | None = None


async def flush_spool(db: asyncpg.Pool, redis: Redis) -> SpoolFlush:
    """Write the spooled dead letters in order. An entry PostgreSQL refuses, or that is not a dead letter, moves to
    the `UNWRITABLE` list (kept for the operator) with a critical alert; the entries behind it are written."""
    written = set_aside = 0
    while raw := await redis.lindex(SPOOL, 0):  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
        try:
            await _write(db, json.loads(raw))
        except DATABASE_DOWN as exc:
            waiting = await redis.llen(SPOOL)  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
            log.critical("failed_job_spool_not_flushed", waiting=waiting, reason=str(exc) or type(exc).__name__)
            return SpoolFlush(written, set_aside, waiting, str(exc) or type(exc).__name__)
        except (ValueError, KeyError, TypeError, AttributeError, asyncpg.PostgresError) as exc:
            await _set_aside(db, redis, raw, exc)
            set_aside += 1
        else:
            written += 1
        await redis.lrem(SPOOL, 1, raw)  # type: ignore[misc]  # this entry only: a concurrent flush may have taken it
    return SpoolFlush(written, set_aside)


async def _set_aside(db: asyncpg.Pool, redis: Redis, raw: bytes, exc: Exception) -> None:
    reason = storable(f"{type(exc).__name__}: {exc}")[:300]
    await redis.rpush(UNWRITABLE, raw)  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
    log.critical("failed_job_spool_entry_set_aside", key=UNWRITABLE, reason=reason)
    try:
        await raise_alert(
            db, module="platform", alert_type="FAILED_JOB_UNWRITABLE", severity="critical",
            message=f"A failed job could not be stored and was set aside in Redis {UNWRITABLE}: {reason}",
            details={"redis_key": UNWRITABLE, "entry": storable(raw.decode("utf-8", "replace"))[:1000]},
            dedup_key="failed_job_unwritable",
        )
    except (*DATABASE_DOWN, asyncpg.PostgresError) as alert_exc:
        log.critical("failed_job_unwritable_alert_not_raised", reason=str(alert_exc))


async def unwritable_count(redis: Redis) -> int:
    """Dead letters set aside because PostgreSQL refused them (`adolfd failed` and `/failed` say so)."""
    return int(await redis.llen(UNWRITABLE))  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T


async def list_failed(db: asyncpg.Pool, *, include_retried: bool = False, limit: int = 50) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT id, job_id, module, job_name, queue, args, error, tries, failed_at, retried_at, retry_job_id "
        "FROM failed_jobs WHERE $1 OR retried_at IS NULL ORDER BY failed_at DESC LIMIT $2",
        include_retried, limit,
    )


async def failed_overview(db: asyncpg.Pool, redis: Redis, *, include_retried: bool = False, limit: int = 50,
                          ) -> tuple[list[asyncpg.Record], list[str]]:
    """What `adolfd failed` and `/failed` show: the spool flushed first, then the table, and plain-text notes on
    dead letters that are not in it (still spooled, or set aside), so a bad entry never hides the others."""
    flushed = await flush_spool(db, redis)
    notes = []
    if flushed.waiting:
        notes.append(f"{flushed.waiting} failed job(s) still waiting in Redis {SPOOL}: {flushed.error}")
    if set_aside := await unwritable_count(redis):
        notes.append(f"{set_aside} failed job(s) PostgreSQL refused are kept in Redis {UNWRITABLE}")
    return await list_failed(db, include_retried=include_retried, limit=limit), notes


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
