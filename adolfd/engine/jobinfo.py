"""What is known of one job id: ARQ's status and stored result. A job or result pickled by an earlier adolfd
is shown as a legacy pickled job (what can be read without unpickling, and how to enqueue it again)."""
from __future__ import annotations

import asyncio
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import DeserializationError, Job, JobResult, JobStatus

from adolfd.engine.serialization import arq_job
from adolfd.errors import LegacyPickledJob

LEGACY = "legacy pickled job"


async def job_info(redis: ArqRedis, job_id: str) -> dict[str, Any]:
    try:
        result = await arq_job(redis, job_id).result_info()
    except DeserializationError as exc:
        return _legacy(job_id, JobStatus.complete.value, None, exc)
    if result is not None:
        return {"job_id": job_id, "status": JobStatus.complete.value, "queue": result.queue_name,
                "function": result.function, "args": result.kwargs, "success": result.success,
                "tries": result.job_try, "started": result.start_time, "finished": result.finish_time,
                "result": result.result if result.success else str(result.result)}
    from adolfd.modules import queue_names

    for name in queue_names():
        job = arq_job(redis, job_id, name)
        status = await job.status()
        if status in (JobStatus.not_found, JobStatus.complete):
            continue
        return await queued_info(redis, job_id, name, status)
    return {"job_id": job_id, "status": "not_found"}


async def wait_for_result(redis: ArqRedis, job_id: str, timeout: float, poll: float = 0.2) -> JobResult | None:
    """The job's stored result once it has one, or None after `timeout` seconds (Celery's
    `AsyncResult.get(timeout=)`). Unlike ARQ's `Job.result()` a failed job is returned, not raised, so the
    caller can report it; the job itself is untouched either way."""
    job = Job(job_id, redis, _deserializer=redis.job_deserializer)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await job.result_info()
        if result is not None:
            return result
        left = deadline - loop.time()
        if left <= 0:
            return None
        await asyncio.sleep(min(poll, left))


async def queued_info(redis: ArqRedis, job_id: str, queue: str, status: JobStatus) -> dict[str, Any]:
    info: dict[str, Any] = {"job_id": job_id, "status": status.value, "queue": queue}
    try:
        definition = await arq_job(redis, job_id, queue).info()
    except DeserializationError as exc:
        return _legacy(job_id, status.value, queue, exc)
    if definition is not None:
        info.update(function=definition.function, args=definition.kwargs,
                    enqueued=definition.enqueue_time, tries=definition.job_try)
    return info


async def queued_jobs(redis: ArqRedis) -> list[dict[str, Any]]:
    """Every job waiting in an adolfd queue, oldest due first."""
    from adolfd.modules import queue_names

    found = []
    for name in queue_names():
        for raw_id in await redis.zrange(name, 0, -1):
            job_id = raw_id.decode()
            found.append(await queued_info(redis, job_id, name, await arq_job(redis, job_id, name).status()))
    return found


def _legacy(job_id: str, status: str, queue: str | None, exc: DeserializationError) -> dict[str, Any]:
    cause = exc.__cause__
    if not isinstance(cause, LegacyPickledJob):
        return {"job_id": job_id, "status": status, "queue": queue, "kind": "unreadable job",
                "error": f"{exc}: {cause}"}
    return {"job_id": job_id, "status": status, "queue": queue, "kind": LEGACY, "function": cause.function,
            "args": cause.kwargs, "error": str(cause)}
