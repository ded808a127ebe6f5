"""A claimed job's coroutine runs in the claim's own task (adolfd.engine.claim.run_claimed_job): an abort, ARQ's
timeout and a shutdown must still reach the job's code, end it once, and write its finish."""
from __future__ import annotations

import asyncio

from adolfd.engine.runtime import AdolfdWorker
from adolfd.engine.serialization import SERIALIZERS, JobFailed, arq_job
from arq.constants import abort_jobs_ss, in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import func

QUEUE = "adolfd:test:job_task"


def _worker(res, functions, **kw) -> AdolfdWorker:
    return AdolfdWorker(functions=functions, queue_name=QUEUE, redis_pool=res.redis, handle_signals=False,
                        poll_delay=0.01, max_jobs=4, ctx={"resources": res}, keep_result=3600, **SERIALIZERS, **kw)


async def _enqueue(res, name: str) -> str:
    job = await res.redis.enqueue_job(name, _queue_name=QUEUE)
    assert job is not None
    return job.job_id


async def _until(check, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.02)


async def _not(awaitable) -> bool:
    return not await awaitable


async def test_an_aborted_running_job_is_cancelled_in_its_code_and_finished_once(res):
    reached: list[str] = []

    async def slow(ctx: dict) -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            reached.append("cancelled")
            raise
        return "done"

    worker = _worker(res, [func(slow, name="slow")], allow_abort_jobs=True)
    job_id = await _enqueue(res, "slow")
    main = asyncio.create_task(worker.main())
    try:
        await _until(lambda: res.redis.exists(in_progress_key_prefix + job_id))
        job = arq_job(res.redis, job_id, QUEUE)
        await res.redis.zadd(abort_jobs_ss, {job_id: timestamp_ms()})        # what ARQ's Job.abort sends
        await _until(lambda: job.result_info())
        info = await job.result_info()
        assert not info.success and isinstance(info.result, JobFailed)
        assert info.result.error_type == "CancelledError"
        assert reached == ["cancelled"]
        assert worker.jobs_failed == 1 and worker.jobs_complete == 0
        await _until(lambda: _not(res.redis.exists(in_progress_key_prefix + job_id)))   # the claim is released
        assert worker.job_tasks == {}
    finally:
        main.cancel()
        await asyncio.gather(main, return_exceptions=True)


async def test_a_job_over_its_arq_timeout_fails_with_a_timeout_after_its_code_is_cancelled(res):
    reached: list[str] = []

    async def stuck(ctx: dict) -> None:
        try:
            await asyncio.sleep(30)
        finally:
            reached.append("left")

    worker = _worker(res, [func(stuck, name="stuck", timeout=0.3, max_tries=1)], burst=True)
    job_id = await _enqueue(res, "stuck")
    await asyncio.wait_for(worker.main(), 10)
    info = await arq_job(res.redis, job_id, QUEUE).result_info()
    assert info is not None and not info.success
    assert isinstance(info.result, JobFailed) and info.result.error_type == "TimeoutError"
    assert reached == ["left"]
    assert worker.jobs_failed == 1


async def test_a_cancelled_job_task_still_writes_its_finish_and_goes_back_to_the_queue(res):
    """A shutdown cancels the claim tasks (ARQ's handle_sig): the job sees the cancellation, is handed back,
    and its claim is released by the finish write even though the task that queued it is gone."""
    started = asyncio.Event()

    async def long(ctx: dict) -> None:
        started.set()
        await asyncio.sleep(30)

    worker = _worker(res, [func(long, name="long")])
    job_id = await _enqueue(res, "long")
    main = asyncio.create_task(worker.main())
    await asyncio.wait_for(started.wait(), 10)
    worker.allow_pick_jobs = False
    running = list(worker.tasks.values())
    worker.handle_sig(15)                          # cancels the job tasks (and ARQ's main task, unset here)
    main.cancel()
    await asyncio.wait_for(asyncio.gather(main, *running, return_exceptions=True), 10)
    await _until(lambda: _not(res.redis.exists(in_progress_key_prefix + job_id)))
    assert await res.redis.zscore(QUEUE, job_id) is not None        # still queued: it will run again
    assert await arq_job(res.redis, job_id, QUEUE).result_info() is None
    assert worker.jobs_retried == 1


async def test_slots_taken_back_before_the_finish_write_never_run_more_than_max_jobs_at_once(res):
    """A job's slot takes the next job while its finish is written: still never more than `max_jobs` jobs in
    their code at once, each job once, and every slot back when the queue is done."""
    running, peak = 0, 0

    async def counted(ctx: dict) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.005)
        running -= 1

    worker = _worker(res, [func(counted, name="counted")], burst=True)
    slots_at_rest = worker.sem._value
    job_ids = [await _enqueue(res, "counted") for _ in range(80)]
    await asyncio.wait_for(worker.main(), 30)
    assert peak == worker.max_jobs == 4
    assert worker.jobs_complete == 80 and worker.jobs_failed == worker.jobs_retried == 0
    assert worker.job_counter == 0 and worker.sem._value == slots_at_rest and not worker._released_early
    for job_id in job_ids:
        info = await arq_job(res.redis, job_id, QUEUE).result_info()
        assert info is not None and info.success and info.job_try == 1


async def test_a_job_whose_finish_is_still_being_written_counts_once_towards_max_burst_jobs(res):
    """Its task is still in `tasks` and ARQ already counts it complete: `max_burst_jobs` must not see two jobs
    (a burst would stop one job early; the review-drafting fault test saw it under load)."""
    async def noop(ctx: dict) -> None:
        return None

    worker = _worker(res, [func(noop, name="noop")], burst=True, max_burst_jobs=3)
    written = asyncio.get_running_loop().create_future()

    async def finishing() -> None:
        worker.release_slot_early()
        await written

    worker.job_counter += 1
    await worker.sem.acquire()
    task = asyncio.create_task(finishing())
    task.add_done_callback(worker._job_task_done)
    worker.tasks["j-1"] = task
    worker.jobs_complete = 1
    await asyncio.sleep(0)                          # the task frees its slot and waits for its write
    assert worker.job_counter == 0
    assert worker._jobs_started() == 2 and worker._jobs_begun() == 1
    written.set_result(None)
    await task
    await asyncio.sleep(0)
    assert not worker._released_early and worker.job_counter == 0
