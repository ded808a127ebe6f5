"""Claiming due jobs in one Redis call, and running a claimed job.

ARQ's worker reads up to `queue_read_limit` due ids, then for each id claims it (a transaction) and reads it
(another), so several processes on one queue read the same ids and lose claims to each other, and every job
costs three round trips before it starts. `CLAIM_DUE_JOBS` does all of that inside Redis for as many jobs as
the worker has free slots: it skips ids another process holds, takes the in-progress key (the claim, with the
same TTL as ARQ's), counts the try, reads the job and consumes a pending abort, and returns the claimed jobs.
A process that loses a race never sees the job, so processes on one queue do not contend.

`run_claimed_job` is ARQ 0.28's `Worker.run_job` from the point where that read is done (the version is pinned
by tests/platform/test_arq_contract.py). It differs in ways that change no effect: the job's coroutine runs in
the claim's own task (ARQ starts another and waits for it); the finish is queued for the next batch write without
a shield around it (adolfd.engine.finish_batch), and the job's slot takes the next job while that write is on its
way; ARQ's per-job log lines are formatted only when its logger would print them. The first two save wake-ups of a
busy event loop, which every job waits for.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, NamedTuple

from arq.constants import abort_jobs_ss, in_progress_key_prefix, job_key_prefix, keep_cronjob_progress, retry_key_prefix
from arq.jobs import SerializationError, deserialize_job_raw, serialize_result
from arq.utils import args_to_string, ms_to_datetime, timestamp_ms, truncate
from arq.worker import JobExecutionFailed, Retry, RetryJob, no_result

if TYPE_CHECKING:
    from adolfd.engine.runtime import AdolfdWorker

arq_log = logging.getLogger("arq.worker")

# ARQ keeps the retry counter this long (arq.worker.run_job).
RETRY_COUNTER_TTL_S = 88400

# KEYS: queue. ARGV: now ms, claim (in-progress) ttl ms, jobs wanted, most ids to look at, consume aborts (0/1:
# ARQ's allow_abort_jobs), the claim's value (the owning process, adolfd.engine.liveness.claim_value).
# Returns id, score, job body ('' when gone), try, aborted (0/1) for every job claimed, flat.
CLAIM_DUE_JOBS = f"""
local want, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local out, claimed, offset = {{}}, 0, 0
while claimed < want and offset < budget do
  local page = math.min(budget - offset, math.max(want - claimed, 64))
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', offset, page)
  if #due == 0 then break end
  offset = offset + #due / 2
  for i = 1, #due, 2 do
    if claimed >= want then break end
    local id = due[i]
    local held = '{in_progress_key_prefix}' .. id
    if redis.call('EXISTS', held) == 0 then
      redis.call('PSETEX', held, ARGV[2], ARGV[6])
      local retry = '{retry_key_prefix}' .. id
      local try = redis.call('INCR', retry)
      redis.call('EXPIRE', retry, {RETRY_COUNTER_TTL_S})
      local body = redis.call('GET', '{job_key_prefix}' .. id) or ''
      local aborted = 0
      if ARGV[5] == '1' then aborted = redis.call('ZREM', '{abort_jobs_ss}', id) end
      claimed = claimed + 1
      out[#out + 1] = id
      out[#out + 1] = due[i + 1]
      out[#out + 1] = body
      out[#out + 1] = try
      out[#out + 1] = aborted
    end
  end
  if #due / 2 < page then break end
end
return out
"""


class ClaimedJob(NamedTuple):
    job_id: str
    score: int
    body: bytes | None
    job_try: int
    aborted: bool


def parse_claims(reply: list[Any]) -> list[ClaimedJob]:
    return [ClaimedJob(reply[i].decode(), int(float(reply[i + 1])), reply[i + 2] or None, int(reply[i + 3]),
                       bool(reply[i + 4]))
            for i in range(0, len(reply), 5)]


async def run_claimed_job(worker: AdolfdWorker, claimed: ClaimedJob) -> None:  # noqa: C901 — ARQ's own shape
    """ARQ's `run_job` after its read (see the module docstring); behaviour and effects are ARQ's."""
    job_id, score, v, job_try, abort_job = claimed
    start_ms = timestamp_ms()
    function_name, enqueue_time_ms = "<unknown>", 0
    args: tuple[Any, ...] = ()
    kwargs: dict[Any, Any] = {}

    async def job_failed(exc: BaseException) -> None:
        worker.jobs_failed += 1
        result_data_ = serialize_result(
            function=function_name, args=args, kwargs=kwargs, job_try=job_try, enqueue_time_ms=enqueue_time_ms,
            success=False, result=exc, start_ms=start_ms, finished_ms=timestamp_ms(),
            ref=f"{job_id}:{function_name}", serializer=worker.job_serializer, queue_name=worker.queue_name,
            job_id=job_id,
        )
        await asyncio.shield(worker.finish_failed_job(job_id, result_data_))

    if not v:
        arq_log.warning("job %s expired", job_id)
        return await job_failed(JobExecutionFailed("job expired"))
    try:
        function_name, args, kwargs, enqueue_job_try, enqueue_time_ms = deserialize_job_raw(
            v, deserializer=worker.job_deserializer)
    except SerializationError as e:
        arq_log.exception("deserializing job %s failed", job_id)
        return await job_failed(e)
    if abort_job:
        arq_log.info("%6.2fs ⊘ %s:%s aborted before start", (timestamp_ms() - enqueue_time_ms) / 1000, job_id,
                     function_name)
        return await job_failed(asyncio.CancelledError())
    try:
        function = worker.functions[function_name]
    except KeyError:
        arq_log.warning("job %s, function %r not found", job_id, function_name)
        return await job_failed(JobExecutionFailed(f"function {function_name!r} not found"))

    if hasattr(function, "next_run"):       # a cron job
        ref = function_name
        keep_in_progress: float | None = keep_cronjob_progress
    else:
        ref = f"{job_id}:{function_name}"
        keep_in_progress = None

    if enqueue_job_try and enqueue_job_try > job_try:
        job_try = enqueue_job_try
        await worker.pool.setex(retry_key_prefix + job_id, RETRY_COUNTER_TTL_S, str(job_try))

    max_tries = worker.max_tries if function.max_tries is None else function.max_tries
    if job_try > max_tries:
        arq_log.warning("%6.2fs ! %s max retries %d exceeded", (timestamp_ms() - enqueue_time_ms) / 1000, ref,
                        max_tries)
        worker.jobs_failed += 1
        result_data = serialize_result(
            function_name, args, kwargs, job_try, enqueue_time_ms, False,
            JobExecutionFailed(f"max {max_tries} retries exceeded"), start_ms, timestamp_ms(), ref,
            worker.queue_name, job_id=job_id, serializer=worker.job_serializer,
        )
        return await asyncio.shield(worker.finish_failed_job(job_id, result_data))

    result: Any = no_result
    exc_extra = None
    finish = False
    timeout_s = worker.job_timeout_s if function.timeout_s is None else function.timeout_s
    incr_score: int | None = None
    ctx = {**worker.ctx, "job_id": job_id, "job_try": job_try, "enqueue_time": ms_to_datetime(enqueue_time_ms),
           "score": score}
    if worker.on_job_start:
        await worker.on_job_start(ctx)

    start_ms = timestamp_ms()
    success = False
    verbose = arq_log.isEnabledFor(logging.INFO)
    result_str = ""
    try:
        if verbose:
            extra = f" try={job_try}" if job_try > 1 else ""
            if (start_ms - score) > 1200:
                extra += f" delayed={(start_ms - score) / 1000:0.2f}s"
            arq_log.info("%6.2fs → %s(%s)%s", (start_ms - enqueue_time_ms) / 1000, ref, args_to_string(args, kwargs),
                         extra)
        # The job runs in this task, not one of its own as in ARQ: an abort (ARQ cancels `job_tasks[job_id]`), the
        # timeout and a shutdown cancel it here all the same, and a job starts and ends two turns of the loop sooner.
        worker.job_tasks[job_id] = asyncio.current_task()  # type: ignore[assignment]
        try:
            async with asyncio.timeout(timeout_s):
                result = await function.coroutine(ctx, *args, **kwargs)
        except (Exception, asyncio.CancelledError) as e:
            exc_extra = getattr(e, "extra", None)
            if callable(exc_extra):
                exc_extra = exc_extra()
            raise
        else:
            if verbose and result is not None and worker.log_results:
                result_str = truncate(repr(result))
        finally:
            del worker.job_tasks[job_id]
    except (Exception, asyncio.CancelledError) as e:
        finished_ms = timestamp_ms()
        t = (finished_ms - start_ms) / 1000
        if worker.retry_jobs and isinstance(e, Retry):
            incr_score = e.defer_score
            arq_log.info("%6.2fs ↻ %s retrying job in %0.2fs", t, ref, (e.defer_score or 0) / 1000)
            if e.defer_score:
                incr_score = e.defer_score + (timestamp_ms() - score)
            worker.jobs_retried += 1
        elif job_id in worker.aborting_tasks and isinstance(e, asyncio.CancelledError):
            arq_log.info("%6.2fs ⊘ %s aborted", t, ref)
            result = e
            finish = True
            worker.aborting_tasks.remove(job_id)
            worker.jobs_failed += 1
        elif worker.retry_jobs and isinstance(e, (asyncio.CancelledError, RetryJob)):
            arq_log.info("%6.2fs ↻ %s cancelled, will be run again", t, ref)
            worker.jobs_retried += 1
        else:
            arq_log.exception("%6.2fs ! %s failed, %s: %s", t, ref, e.__class__.__name__, e,
                              extra={"extra": exc_extra})
            result = e
            finish = True
            worker.jobs_failed += 1
    else:
        success = True
        finished_ms = timestamp_ms()
        if verbose:
            arq_log.info("%6.2fs ← %s ● %s", (finished_ms - start_ms) / 1000, ref, result_str)
        finish = True
        worker.jobs_complete += 1

    keep_result_forever = (worker.keep_result_forever if function.keep_result_forever is None
                           else function.keep_result_forever)
    result_timeout_s = worker.keep_result_s if function.keep_result_s is None else function.keep_result_s
    result_data = None
    if result is not no_result and (keep_result_forever or result_timeout_s > 0):
        result_data = serialize_result(
            function_name, args, kwargs, job_try, enqueue_time_ms, success, result, start_ms, finished_ms, ref,
            worker.queue_name, job_id=job_id, serializer=worker.job_serializer,
        )
    if worker.on_job_end:
        await worker.on_job_end(ctx)
    # Queued at once, so a cancellation of this task cannot drop it (what ARQ's shield is for), without the
    # shield's extra task and wake-ups.
    finishing = worker.finish_soon(job_id, finish, result_data, result_timeout_s, keep_result_forever, incr_score,
                                   keep_in_progress)
    worker.release_slot_early()
    await finishing
    if worker.after_job_end:
        await worker.after_job_end(ctx)
