"""Enqueue a job by name with validated arguments, from the CLI, the bot or another job.

After enqueueing, a message on `adolfd:wake` tells the worker of that queue (in any process) to look now
instead of at its next poll, so a job starts within milliseconds without fast polling.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job

from adolfd.engine.jobs import NotAllowed, resolve

WAKE_CHANNEL = "adolfd:wake"


async def enqueue(
    redis: ArqRedis,
    name: str,
    kwargs: dict[str, Any] | None = None,
    *,
    job_id: str | None = None,
    defer_by: float | None = None,
    defer_until: datetime | None = None,
    manual: bool = False,
) -> Job | None:
    """Returns the ARQ job, or None when a job with `job_id` is already queued, running or finished.

    `manual=True` applies the allow-list of jobs an operator may start by hand (seed 000 §8.9)."""
    spec = resolve(name)
    if manual and not spec.manual:
        raise NotAllowed(f"{spec.key} is not in the manual-run allow-list")
    args = spec.validate(kwargs or {})
    queued = await redis.enqueue_job(
        spec.arq_name, _job_id=job_id, _queue_name=spec.queue_name, _defer_by=defer_by,
        _defer_until=defer_until, **args,
    )
    if queued is not None and not defer_by and not defer_until:
        await redis.publish(WAKE_CHANNEL, spec.queue_name)
    return queued
