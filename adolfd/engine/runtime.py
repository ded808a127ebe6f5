"""`adolfd worker GROUP`: one process, one event loop, one ARQ Worker per queue of the group, sharing one set
of resources; the precise cron scheduler; wake-ups over Redis pub/sub; /metrics and /healthz; sd_notify; and
a SIGTERM drain that lets running jobs finish (or hands them back to the queue) so nothing is lost.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from typing import Any

import structlog
from aiohttp import web
from arq import Worker
from arq.constants import abort_jobs_ss, in_progress_key_prefix, job_key_prefix, result_key_prefix, retry_key_prefix
from arq.utils import timestamp_ms, to_ms
from arq.worker import func
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from adolfd.engine import liveness
from adolfd.engine.claim import CLAIM_DUE_JOBS, parse_claims, run_claimed_job
from adolfd.engine.context import Resources
from adolfd.engine.enqueue import WAKE_CHANNEL
from adolfd.engine.execution import SHUTDOWN_SLACK, arq_function
from adolfd.engine.failures import flush_spool
from adolfd.engine.finish_batch import FinishBatcher
from adolfd.engine.jobs import JobSpec, for_queue
from adolfd.engine.module import ModuleSpec, Queue
from adolfd.engine.outage import REDIS_DOWN, Backoff
from adolfd.engine.runbook import RUNS, SUCCESS
from adolfd.engine.scheduler import CronScheduler, Scheduled, arq_cron, entries, schedule_name
from adolfd.engine.serialization import SERIALIZERS
from adolfd.process import metrics, sdnotify
from adolfd.process.heap import freeze_startup_heap
from adolfd.settings import Settings

log = structlog.get_logger(__name__)
SPOOL_FLUSH_SECONDS = 15.0


def groups() -> tuple[str, ...]:
    """`adolfd worker GROUP`: one module, or all of them."""
    from adolfd.modules import module_names

    return ("all", *module_names())


def group_modules(group: str) -> tuple[ModuleSpec, ...]:
    from adolfd.modules import MODULES

    if group == "all":
        return MODULES
    found = tuple(m for m in MODULES if m.name == group)
    if not found:
        raise ValueError(f"unknown worker group {group!r}; one of: {', '.join(groups())}")
    return found


def queue_concurrency(module: str, queue: Queue, settings: Settings) -> int:
    """Jobs at once on one queue in one process: the operator's setting (`ADOLFD_CONCURRENCY__<MODULE>_<QUEUE>`),
    else the module's (the seed's Celery -c), else `max_jobs`."""
    configured = settings.concurrency.get(f"{module}_{queue.name}")
    return configured or queue.concurrency or settings.max_jobs


def worker_functions(module: str, queue: str) -> tuple[list[Any], list[Scheduled]]:
    """ARQ functions (each job wrapped by adolfd.engine.execution) and the enabled cron rows of one queue."""
    specs: dict[str, JobSpec] = {s.name: s for s in for_queue(module, queue)}
    functions = [
        func(arq_function(spec), name=spec.arq_name, timeout=spec.timeout + 10,
             max_tries=spec.retry.tries + 1 + SHUTDOWN_SLACK, keep_result=86400)
        for spec in specs.values()
    ]
    scheduled = []
    for entry in entries(module, queue):
        spec = specs.get(entry.job_name)
        if spec is None:
            raise LookupError(f"cron row {entry.module}.{entry.name} names unknown job {entry.job_name}")
        coroutine = arq_function(spec, run_keys=(f"{module}.{entry.name}", spec.key), bound=entry.kwargs)
        scheduled.append(Scheduled(entry, arq_cron(entry, coroutine)))
    return functions, scheduled


# Waits of the poll loop (AdolfdWorker.main).
BUSY_POLL_S = 0.01              # after a poll that claimed jobs
CLAIM_BATCH_WINDOW_S = 0.003    # after a slot frees with every slot busy, before claiming for the free ones
CLAIM_SCAN_PER_SLOT = 4         # ids a claim may look at beyond `queue_read_limit`, per slot of this worker:
#                                 the in-progress jobs of up to 4 processes sit at the head of the queue

# KEYS: in-progress, result, retry, job, abort set, queue, run book, run book ok
# ARGV: job id, finish, result data, result px (-1 none, 0 forever), incr score, keep in-progress ms (-1 = delete;
#       a kept claim is rewritten unowned, liveness.UNOWNED, so the sweep never takes it for a stray), run payload,
#       success time, run-book fields...
FINISH_JOB = f"""
if tonumber(ARGV[6]) > 0 then redis.call('SET', KEYS[1], '{liveness.UNOWNED}', 'PX', ARGV[6], 'XX')
else redis.call('DEL', KEYS[1]) end
if ARGV[2] == '1' then
  local px = tonumber(ARGV[4])
  if px > 0 then redis.call('SET', KEYS[2], ARGV[3], 'PX', px)
  elseif px == 0 then redis.call('SET', KEYS[2], ARGV[3]) end
  redis.call('DEL', KEYS[3], KEYS[4])
  redis.call('ZREM', KEYS[5], ARGV[1])
  redis.call('ZREM', KEYS[6], ARGV[1])
elseif tonumber(ARGV[5]) ~= 0 then
  redis.call('ZINCRBY', KEYS[6], ARGV[5], ARGV[1])
end
if ARGV[7] ~= '' then
  for i = 9, #ARGV do
    redis.call('HSET', KEYS[7], ARGV[i], ARGV[7])
    if ARGV[8] ~= '' then redis.call('HSET', KEYS[8], ARGV[i], ARGV[8]) end
  end
end
return 1
"""


class AdolfdWorker(Worker):
    """ARQ's worker, polled on demand: a wake-up (enqueue, cron fire) polls at once; jobs are claimed in one Redis
    call for every free slot (adolfd.engine.claim); with every slot busy it waits for one to free; after a poll
    that found jobs it polls again soon (`BUSY_POLL_S`, doubling while polls find nothing, up to `poll_delay`),
    so jobs enqueued without a wake-up (plain ARQ, another host) do not wait for the slow poll. Cron is fired by
    CronScheduler, not by the poll. A Redis outage pauses the loop, never ends it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wake_event = asyncio.Event()
        self.slot_freed = asyncio.Event()
        self._claimed_last = 0
        self._idle_wait = self.poll_delay_s
        self._orphaned_claims: set[str] = set()
        self._outage = Backoff("queue_poll", queue=self.queue_name)
        self._finish_outage = Backoff("job_finish", queue=self.queue_name)
        self._finishes: FinishBatcher | None = None
        self._released_early: set[asyncio.Task[None]] = set()

    async def main(self) -> None:
        self.ctx["redis"] = self.pool
        while True:
            try:
                await self._poll_iteration()
                await self._release_orphaned_claims()
                if self.burst and (0 <= self.max_burst_jobs <= self._jobs_begun()
                                   or await self.pool.zcard(self.queue_name) == 0):
                    await asyncio.gather(*self.tasks.values(), return_exceptions=True)
                    return
            except REDIS_DOWN as exc:
                await self._outage.after_failure(exc)
                continue
            self._outage.succeeded()
            if self.allow_pick_jobs and self.job_counter >= self.max_jobs:
                await self._wait_for(self.slot_freed, self.poll_delay_s)  # reading more ids would only spin
                await asyncio.sleep(CLAIM_BATCH_WINDOW_S)     # let a few more slots free: one claim call for all
                continue
            if self._claimed_last:
                self._idle_wait = BUSY_POLL_S                 # jobs are arriving: look again soon
            else:
                self._idle_wait = min(self._idle_wait * 2, self.poll_delay_s)
            await self._wait_for(self.wake_event, self._idle_wait)

    async def _wait_for(self, event: asyncio.Event, timeout: float) -> None:
        """In this task, not one wait_for would start: the poll follows the event one turn of the loop sooner."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()
        event.clear()

    async def _poll_iteration(self) -> None:
        """ARQ's poll step with the one-call claim, except that a job task that failed inside ARQ (Redis gone
        while it started) is logged and its claim released once Redis is back, instead of ending the loop."""
        self._claimed_last = 0
        count = self.max_jobs - self.job_counter
        if self.burst and self.max_burst_jobs >= 0:
            count = min(count, self.max_burst_jobs - self._jobs_begun())
        if self.allow_pick_jobs and count > 0:
            await self.claim_jobs(count)
        if self.allow_abort_jobs:
            await self._cancel_aborted_jobs()
        for job_id, task in list(self.tasks.items()):
            if task.done():
                del self.tasks[job_id]
                error = None if task.cancelled() else task.exception()
                if error is not None:
                    log.error("job_run_aborted", job_id=job_id, queue=self.queue_name, error=repr(error))
                    if isinstance(error, REDIS_DOWN):
                        self._orphaned_claims.add(job_id)
        await self.heart_beat()

    async def _release_orphaned_claims(self) -> None:
        """A job whose start was cut by a Redis outage never ran to its finish: free its claim so it runs now,
        not when the claim's TTL (the job's timeout) runs out."""
        if self._orphaned_claims:
            await self.pool.delete(*(in_progress_key_prefix + job_id for job_id in self._orphaned_claims))
            log.warning("job_claims_released", queue=self.queue_name, jobs=sorted(self._orphaned_claims))
            self._orphaned_claims.clear()

    async def claim_jobs(self, count: int) -> None:
        """Claim and read up to `count` due jobs in one call (adolfd.engine.claim.CLAIM_DUE_JOBS) and start them."""
        claim = getattr(self, "_claim_due", None) or self.pool.register_script(CLAIM_DUE_JOBS)
        self._claim_due = claim
        budget = max(self.queue_read_limit, count + CLAIM_SCAN_PER_SLOT * self.max_jobs)
        reply = await claim(keys=[self.queue_name],
                            args=[timestamp_ms(), int(self.in_progress_timeout_s * 1000), count, budget,
                                  int(self.allow_abort_jobs), liveness.claim_value()])
        for claimed in parse_claims(reply):
            await self.sem.acquire()              # free: at most `count` (the free slots) were claimed
            self.job_counter += 1
            self._claimed_last += 1
            task = self.loop.create_task(run_claimed_job(self, claimed))
            task.add_done_callback(self._job_task_done)
            self.tasks[claimed.job_id] = task

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        self.slot_freed.set()

    def release_slot_early(self) -> None:
        """The running job's work is over and its finish queued (adolfd.engine.claim): its slot takes the next job
        while the finish is written. The task stays in `tasks` until then, so the claim still counts as this
        process's (liveness, the drain)."""
        task = asyncio.current_task()
        if task is not None and task not in self._released_early:
            self._released_early.add(task)
            self._release_sem_dec_counter_on_complete()

    def _jobs_begun(self) -> int:
        """ARQ's `_jobs_started` without counting twice a job whose finish is still being written: it is in
        `tasks` and already in ARQ's complete, failed or retried counts."""
        return self._jobs_started() - sum(1 for task in self.tasks.values() if task in self._released_early)

    def _job_task_done(self, task: asyncio.Task[None]) -> None:
        if task in self._released_early:
            self._released_early.discard(task)
        else:
            self._release_sem_dec_counter_on_complete()

    async def heart_beat(self) -> None:
        await self.record_health()

    async def finish_job(self, job_id: str, finish: bool, result_data: bytes | None,
                         result_timeout_s: float | None, keep_result_forever: bool, incr_score: int | None,
                         keep_in_progress: float | None) -> None:
        await self.finish_soon(job_id, finish, result_data, result_timeout_s, keep_result_forever, incr_score,
                               keep_in_progress)

    def finish_soon(self, job_id: str, finish: bool, result_data: bytes | None, result_timeout_s: float | None,
                    keep_result_forever: bool, incr_score: int | None, keep_in_progress: float | None,
                    ) -> asyncio.Future[Any]:
        """ARQ's finish transaction as one Lua call (same keys, same effects), plus the job's run-book entry
        (adolfd.engine.execution): one command a job instead of eight, sent with the other finishes of the
        moment in one write (adolfd.engine.finish_batch). Queued before this returns, so it is written even if
        the job's task is cancelled while it waits; the future is the write's reply."""
        pending = self.ctx.get("runbook_sink", {}).pop(job_id, None)
        keys, run = pending if pending is not None else ((), None)
        payload = json.dumps(run, default=str) if run else ""
        ok_time = run["finished"] if run and run.get("outcome") == "success" else ""
        if finish and result_data:
            px = 0 if keep_result_forever or result_timeout_s is None else to_ms(result_timeout_s)
        else:
            px = -1
        if self._finishes is None:
            self._finishes = FinishBatcher(self.pool, FINISH_JOB, self._finish_outage)
        # The job has run: the batcher keeps trying through a Redis outage, or it would run again once its claim
        # expires.
        return self._finishes.submit(
            keys=[in_progress_key_prefix + job_id, result_key_prefix + job_id, retry_key_prefix + job_id,
                  job_key_prefix + job_id, abort_jobs_ss, self.queue_name, RUNS, SUCCESS],
            args=[job_id, int(finish), result_data or b"", px, incr_score or 0,
                  -1 if keep_in_progress is None else to_ms(keep_in_progress), payload, ok_time, *keys],
        )

    async def close(self) -> None:
        """The Redis pool is shared by every worker of the process; the group closes it."""
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        await self.pool.delete(self.health_check_key)


class WorkerGroup:
    def __init__(self, group: str, res: Resources) -> None:
        self.specs = group_modules(group)
        self.group = group
        self.res = res
        self.workers: dict[str, AdolfdWorker] = {}
        self.scheduled: list[Scheduled] = []
        self.stopping = res.stopping       # the jobs see it too (Ctx.stopping)
        self.crashed = False      # a component ended by itself: the process exits non-zero so systemd restarts it
        self._tasks: list[asyncio.Task[Any]] = []
        self._liveness: asyncio.Task[None] | None = None

    def build(self) -> None:
        s = self.res.settings
        arq_ctx = {"resources": self.res, "runbook_sink": {}}
        for module in self.specs:
            for queue in module.queues:
                functions, scheduled = worker_functions(module.name, queue.name)
                if not functions and not scheduled:
                    continue
                name = module.queue_name(queue.name)
                self.workers[name] = AdolfdWorker(
                    functions=functions, cron_jobs=[item.job for item in scheduled], queue_name=name,
                    redis_pool=self.res.redis, handle_signals=False,
                    max_jobs=queue_concurrency(module.name, queue, s),
                    poll_delay=s.poll_delay, queue_read_limit=s.queue_read_limit, keep_result=86400,
                    health_check_interval=10, ctx=arq_ctx, timezone=s.tz, **SERIALIZERS,
                )
                self.scheduled.extend(scheduled)
        if not self.workers:
            raise LookupError(f"worker group {self.group!r} has no jobs")

    def running_jobs(self) -> set[str]:
        """The ids of the jobs this process holds, finished or not, until their finish is written."""
        return {job_id for worker in self.workers.values() for job_id in worker.tasks}

    def wake_all(self) -> None:
        for worker in self.workers.values():
            worker.wake_event.set()

    def wake(self, queue: str) -> None:
        worker = self.workers.get(queue)
        if worker is not None:
            worker.wake_event.set()

    async def _listen_for_wakeups(self) -> None:
        """Wake-ups are a shortcut, not a guarantee: after a (re)subscribe every queue polls once, since
        messages published while the subscription was down are gone."""
        outage = Backoff("wakeup_listener")
        while True:
            pubsub = self.res.redis.pubsub()
            try:
                await pubsub.subscribe(WAKE_CHANNEL)
                outage.succeeded()
                for worker in self.workers.values():
                    worker.wake_event.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.wake(message["data"].decode())
            except REDIS_DOWN as exc:
                await outage.after_failure(exc)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _track_queue_depths(self) -> None:
        while True:
            with contextlib.suppress(*REDIS_DOWN):
                for name in self.workers:
                    metrics.QUEUE_DEPTH.labels(name).set(await self.res.redis.zcard(name))
            await asyncio.sleep(15)

    async def _flush_failures(self) -> None:
        """Dead letters held in Redis while PostgreSQL was down are written as soon as it answers again, not
        at the next start of the process."""
        while True:
            await asyncio.sleep(SPOOL_FLUSH_SECONDS)
            try:
                flushed = await flush_spool(self.res.db, self.res.redis)
            except Exception as exc:  # noqa: BLE001 — PostgreSQL or Redis still down: the next round tries again
                log.debug("failed_jobs_spool_waiting", error=repr(exc))
                continue
            if flushed.written or flushed.set_aside:       # an empty spool, the usual case, says nothing
                log.warning("failed_jobs_spool_flushed", written=flushed.written, set_aside=flushed.set_aside)

    async def run(self) -> None:
        """Run until `stop()`; then drain."""
        with contextlib.suppress(Exception):
            await flush_spool(self.res.db, self.res.redis)
        heartbeat = self.res.settings.heartbeat_seconds
        await liveness.start_beating(self.res.redis, heartbeat)
        metrics.WORKER_UP.labels(self.group).set(1)
        mains: list[asyncio.Task[Any]] = []
        for name, worker in self.workers.items():
            worker.main_task = asyncio.create_task(worker.main(), name=f"worker {name}")
            mains.append(worker.main_task)
        self._tasks = [asyncio.create_task(self._listen_for_wakeups(), name="wake-up listener"),
                       asyncio.create_task(self._track_queue_depths(), name="queue depths"),
                       asyncio.create_task(self._flush_failures(), name="failed-job flush")]
        if self.res.settings.cron:         # off: a process that only runs jobs (another process fires the rows)
            scheduler = CronScheduler(self.res.redis, self.res.db, self.scheduled, self.wake,
                                      grace_hours=self.res.settings.missed_run_grace_hours)
            self._tasks.append(asyncio.create_task(scheduler.run(), name="cron scheduler"))
        else:
            log.info("cron_off", group=self.group)
        # the heartbeat goes on through the drain: the jobs still running are this process's
        self._liveness = asyncio.create_task(liveness.run(self.res.redis, heartbeat, self.wake_all,
                                                                   self.running_jobs), name="liveness")
        log.info("worker_group_started", group=self.group, queues=sorted(self.workers),
                 cron_jobs=len(self.scheduled))
        sdnotify.ready(f"{len(self.workers)} queues, {len(self.scheduled)} cron jobs")
        self._tasks.append(asyncio.create_task(sdnotify.watchdog_loop(self.healthy)))
        watched = [*self._tasks[:2], self._liveness, *mains]
        stop_wait = asyncio.create_task(self.stopping.wait())
        done, _ = await asyncio.wait([stop_wait, *watched], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stop_wait:
                self.crashed = True
                log.critical("worker_component_crashed", error=repr(task.exception()) if not task.cancelled()
                             else "cancelled", component=task.get_name())
        await self.drain(self.res.settings.drain_seconds)
        metrics.WORKER_UP.labels(self.group).set(0)

    def stop(self) -> None:
        if not self.stopping.is_set():
            sdnotify.stopping("draining running jobs")
        self.stopping.set()

    def healthy(self) -> bool:
        return not self.stopping.is_set() and all(
            w.main_task is not None and not w.main_task.done() for w in self.workers.values())

    async def drain(self, timeout: float) -> None:
        """Stop picking jobs, give running ones `timeout` seconds, then cancel the rest: ARQ puts a cancelled
        job back on its queue, and every job is idempotent, so the next worker runs it again safely."""
        for task in self._tasks:
            task.cancel()
        for worker in self.workers.values():
            worker.allow_pick_jobs = False
        running = [t for w in self.workers.values() for t in w.tasks.values() if not t.done()]
        log.info("worker_group_draining", group=self.group, running=len(running), timeout=timeout)
        if running:
            await asyncio.wait(running, timeout=timeout)
        for worker in self.workers.values():
            worker.handle_sig(signal.SIGTERM)   # cancels what is still running: handed back to the queue
            with contextlib.suppress(Exception):
                await worker.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._liveness is not None:
            self._liveness.cancel()
            await asyncio.gather(self._liveness, return_exceptions=True)
        await liveness.farewell(self.res.redis)
        log.info("worker_group_stopped", group=self.group)


def metrics_app(group: WorkerGroup) -> web.Application:
    async def metrics_view(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def health_view(_: web.Request) -> web.Response:
        checks = {"workers": group.healthy()}
        try:
            checks["redis"] = bool(await asyncio.wait_for(group.res.redis.ping(), 2))
        except Exception:  # noqa: BLE001
            checks["redis"] = False
        try:
            checks["postgres"] = await asyncio.wait_for(group.res.db.fetchval("SELECT true"), 2)
        except Exception:  # noqa: BLE001
            checks["postgres"] = False
        ok = all(checks.values())
        return web.json_response({"ok": ok, "group": group.group, **checks}, status=200 if ok else 503)

    app = web.Application()
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/healthz", health_view)
    return app


async def serve_group(group_name: str, res: Resources, *, metrics_port: int | None = None) -> int:
    """The body of `adolfd worker GROUP`; returns after SIGTERM/SIGINT and a drain: 0, or 1 when a component
    ended by itself (the unit's Restart=on-failure then brings the process back)."""
    group = WorkerGroup(group_name, res)
    group.build()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, group.stop)
    runner = None
    if metrics_port:
        runner = web.AppRunner(metrics_app(group), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, res.settings.metrics_host, metrics_port).start()
        log.info("metrics_listening", port=metrics_port)
    freeze_startup_heap()       # built: a full collection no longer stops the loop for the start-up heap
    try:
        await group.run()
    finally:
        if runner:
            await runner.cleanup()
    return 1 if group.crashed else 0


__all__ = ["AdolfdWorker", "WorkerGroup", "groups", "metrics_app", "schedule_name", "serve_group"]
