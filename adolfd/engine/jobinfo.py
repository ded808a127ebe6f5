"""What is known of one job id: ARQ's status and stored result, now or once the job has finished."""
from __future__ import annotations

import asyncio
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job, JobResult, JobStatus

from adolfd.engine.jobs import MODULES, QUEUES, queue_name


async def job_info(redis: ArqRedis, job_id: str) -> dict[str, Any]:
    result = await Job(job_id, redis).result_info()
    if result is not None:
        return {"job_id": job_id, "status": JobStatus.complete.value, "queue": result.queue_name,
                "function": result.function, "args": result.kwargs, "success": result.success,
                "tries": result.job_try, "started": result.start_time, "finished": result.finish_time,
                "result": result.result if result.success else repr(result.result)}
    for module in MODULES:
        for queue in QUEUES[module]:
            name = queue_name(module, queue)
            job = Job(job_id, redis, _queue_name=name)
            status = await job.status()
            if status in (JobStatus.not_found, JobStatus.complete):
                continue
            definition = await job.info()
            info: dict[str, Any] = {"job_id": job_id, "status": status.value, "queue": name}
            if definition is not None:
                info.update(function=definition.function, args=definition.kwargs,
                            enqueued=definition.enqueue_time, tries=definition.job_try)
            return info
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
