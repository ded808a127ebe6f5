"""Jobs waiting in adolfd's queues, for the operator verbs the seeds know from Celery: the deferred jobs
(`celery inspect scheduled` → `adolfd scheduled`) and emptying a queue (`celery purge` → `adolfd purge`).

A queue is ARQ's sorted set of job ids scored by the time each is due; a job whose `arq:in-progress:` key
exists is running and is never touched here, so a purge cannot pull a job from under a worker.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, retry_key_prefix
from arq.jobs import DeserializationError, deserialize_job

from adolfd.keys import PREFIX

log = structlog.get_logger(__name__)
PURGE_BATCH = 500

# KEYS: queue; ARGV: job ids → how many were removed. One script per batch: a worker's claim (also a script)
# runs either wholly before it (the job is in progress and kept) or wholly after it (the job is gone).
PURGE_WAITING = f"""
local removed = 0
for _, id in ipairs(ARGV) do
  if redis.call('EXISTS', '{in_progress_key_prefix}' .. id) == 0 and redis.call('ZREM', KEYS[1], id) == 1 then
    redis.call('DEL', '{job_key_prefix}' .. id, '{retry_key_prefix}' .. id)
    removed = removed + 1
  end
end
return removed
"""


class UnknownQueue(LookupError):
    """Not one of adolfd's queues; the message lists them."""


@dataclass(frozen=True)
class WaitingJob:
    job_id: str
    queue: str
    due: datetime
    function: str | None        # None when the job's definition has expired or cannot be read
    args: dict[str, Any]
    tries: int

    def as_dict(self, tz: Any = UTC) -> dict[str, Any]:
        return {"job_id": self.job_id, "job": self.function, "queue": self.queue,
                "due": self.due.astimezone(tz).isoformat(), "args": self.args, "tries": self.tries}


def adolfd_queues() -> list[str]:
    from adolfd.modules import queue_names

    return queue_names()


def resolve_queue(name: str) -> str:
    """`adolfd:marketing:high` or `marketing:high` → the full queue name."""
    queues = adolfd_queues()
    full = name if name.startswith(PREFIX) else PREFIX + name
    if full not in queues:
        raise UnknownQueue(f"unknown queue {name!r}; one of: {', '.join(queues)}")
    return full


async def deferred_jobs(redis: ArqRedis, now: datetime) -> list[WaitingJob]:
    """Every job of every adolfd queue that is due after `now` (deferred or waiting for a retry), soonest
    first."""
    now_ms = int(now.timestamp() * 1000)
    queues = adolfd_queues()
    async with redis.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.zrangebyscore(queue, f"({now_ms}", "+inf", withscores=True)
        per_queue = await pipe.execute()
    found = sorted(((score, queue, raw_id.decode()) for queue, members in zip(queues, per_queue, strict=True)
                    for raw_id, score in members), key=lambda row: (row[0], row[2]))
    if not found:
        return []
    definitions = await redis.mget([job_key_prefix + job_id for _, _, job_id in found])
    return [_waiting_job(job_id, queue, score, raw, redis.job_deserializer)
            for (score, queue, job_id), raw in zip(found, definitions, strict=True)]


def _waiting_job(job_id: str, queue: str, score: float, raw: bytes | None, deserializer: Any) -> WaitingJob:
    due = datetime.fromtimestamp(score / 1000, UTC)
    if raw is None:
        return WaitingJob(job_id, queue, due, None, {}, 0)
    try:
        definition = deserialize_job(raw, deserializer=deserializer)
    except DeserializationError:
        return WaitingJob(job_id, queue, due, None, {}, 0)
    return WaitingJob(job_id, queue, due, definition.function, dict(definition.kwargs), definition.job_try or 0)


async def waiting_ids(redis: ArqRedis, queue: str) -> list[str]:
    """The ids a purge would remove now: every job of the queue that no worker is running."""
    ids = [raw.decode() for raw in await redis.zrange(queue, 0, -1)]
    if not ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.exists(in_progress_key_prefix + job_id)
        running = await pipe.execute()
    return [job_id for job_id, busy in zip(ids, running, strict=True) if not busy]


async def purge_queue(redis: ArqRedis, queue: str) -> int:
    """Remove every waiting job of `queue` with its definition; running jobs stay. Returns how many went."""
    script = redis.register_script(PURGE_WAITING)
    ids = [raw.decode() for raw in await redis.zrange(queue, 0, -1)]
    removed = 0
    for start in range(0, len(ids), PURGE_BATCH):
        removed += await script(keys=[queue], args=ids[start:start + PURGE_BATCH])
    log.warning("queue_purged", queue=queue, removed=removed, kept_running=len(ids) - removed)
    return removed
