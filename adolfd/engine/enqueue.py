"""Enqueue a job by name with validated arguments, from the CLI, the bot or another job.

After enqueueing, a message on `adolfd:wake` tells the worker of that queue (in any process) to look now
instead of at its next poll, so a job starts within milliseconds without fast polling.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job

from adolfd.engine.jobs import JobSpec, resolve
from adolfd.engine.serialization import job_serializer
from adolfd.errors import NotAllowed, NotConfirmed
from adolfd.keys import WAKE_CHANNEL


def prepare(name: str, kwargs: dict[str, Any] | None = None, *, manual: bool = False, confirmed: bool = False,
            brands: Sequence[str] | None = None) -> tuple[JobSpec, dict[str, Any]]:
    """The job and its arguments in wire form, validated once; needs no Redis, so a command refuses bad input
    before it connects. `manual=True` applies the allow-list of jobs an operator may start by hand (seed 000
    §8.9) and asks for `confirmed` when the job deletes or cancels; `brands` (settings.brands) refuses an
    unknown brand here instead of in the worker."""
    spec = resolve(name)
    if manual and not spec.manual:
        raise NotAllowed(f"{spec.key} is not in the manual-run allow-list")
    wire = spec.validate(kwargs or {}, brands=brands)
    if manual and spec.destructive and not confirmed:
        raise NotConfirmed(f"{spec.key} {spec.destructive}; run it again with --yes to confirm")
    return spec, wire


async def enqueue(
    redis: ArqRedis,
    name: str,
    kwargs: dict[str, Any] | None = None,
    *,
    job_id: str | None = None,
    defer_by: float | None = None,
    defer_until: datetime | None = None,
    manual: bool = False,
    confirmed: bool = False,
    brands: Sequence[str] | None = None,
) -> Job | None:
    """Returns the ARQ job, or None when a job with `job_id` is already queued, running or finished."""
    spec, args = prepare(name, kwargs, manual=manual, confirmed=confirmed, brands=brands)
    return await submit(redis, spec, args, job_id=job_id, defer_by=defer_by, defer_until=defer_until)


async def submit(redis: ArqRedis, spec: JobSpec, args: dict[str, Any], *, job_id: str | None = None,
                 defer_by: float | None = None, defer_until: datetime | None = None) -> Job | None:
    """Enqueue arguments that `prepare` produced. A pool not built by adolfd.process.resources would pickle the job:
    refused, so no pickle ever reaches Redis."""
    if redis.job_serializer is not job_serializer:
        raise RuntimeError("this Redis pool would pickle jobs; build it with adolfd.process.resources.connect_redis")
    queued = await redis.enqueue_job(
        spec.arq_name, _job_id=job_id, _queue_name=spec.queue_name, _defer_by=defer_by,
        _defer_until=defer_until, **args,
    )
    if queued is not None and not defer_by and not defer_until:
        await redis.publish(WAKE_CHANNEL, spec.queue_name)
    return queued
