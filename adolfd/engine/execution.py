"""Runs one job under ARQ: argument validation, structured start/end logs, metrics, the job's own timeout,
retries by the seed's policy, and the dead letter (`failed_jobs` + critical alert) when tries run out."""
from __future__ import annotations

import asyncio
import time
import traceback
from datetime import UTC, datetime
from typing import Any

import structlog
from arq import Retry
from arq.typing import WorkerCoroutine

from adolfd.engine.context import Ctx, Resources
from adolfd.engine.failures import record_failure
from adolfd.engine.jobs import JobSpec
from adolfd.engine.runbook import record_run
from adolfd.errors import BadArguments, is_retryable
from adolfd.process import metrics
from adolfd.process.logs import job_fields

log = structlog.get_logger("adolfd.job")

# ARQ re-runs a job cancelled by a shutdown; allow that many extra starts beyond the policy's tries.
SHUTDOWN_SLACK = 3


def fire_time_of(job_id: str) -> datetime | None:
    """Cron job ids are `cron:<name>:<epoch ms>` (adolfd.engine.scheduler)."""
    if not job_id.startswith("cron:"):
        return None
    try:
        return datetime.fromtimestamp(int(job_id.rsplit(":", 1)[1]) / 1000, UTC)
    except ValueError:
        return None


def summarise(result: Any, limit: int = 12) -> Any:
    """The scalar part of a job's result dict, for the end-of-job log line."""
    if not isinstance(result, dict):
        return result if isinstance(result, (int, float, str, bool, type(None))) else type(result).__name__
    out = {}
    for key, value in list(result.items())[:limit]:
        if isinstance(value, (int, float, str, bool, type(None))):
            out[key] = value
        elif isinstance(value, (list, tuple, dict)):
            out[key] = len(value)
    return out


def arq_function(spec: JobSpec, *, run_keys: tuple[str, ...] = (), bound: dict[str, Any] | None = None,
                 ) -> WorkerCoroutine:
    """The coroutine ARQ calls; `bound` arguments come from a cron row (`collect_stats_wb`)."""
    keys = run_keys or (spec.key,)
    fixed = dict(bound or {})

    async def run(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:      # ARQ's ctx dict
        return await execute(ctx, spec, {**kwargs, **fixed}, keys, positional=args)

    run.__name__ = run.__qualname__ = spec.name
    return run


async def execute(arq_ctx: dict[str, Any], spec: JobSpec, kwargs: dict[str, Any], run_keys: tuple[str, ...],
                  positional: tuple[Any, ...] = ()) -> Any:
    res: Resources = arq_ctx["resources"]
    job_id: str = arq_ctx.get("job_id", "")
    job_try: int = arq_ctx.get("job_try", 1)
    fire_time = fire_time_of(job_id)
    ctx = Ctx(res, job_id=job_id, job_try=job_try, spec=spec, fire_time=fire_time)
    bound = job_fields(job=spec.name, module=spec.module, job_id=job_id, queue=spec.queue_name, attempt=job_try)
    started_wall = datetime.now(UTC)
    started = time.perf_counter()
    with bound:
        if fire_time is not None:
            metrics.CRON_LATENESS.labels(spec.module).observe((started_wall - fire_time).total_seconds())
        jlog = log.bind()       # one logger for the job's lines: each call on the module's lazy proxy builds one
        jlog.info("job_started", args=kwargs, fire_time=fire_time)
        series = metrics.job_series(spec.module, spec.name)
        series.active.inc()
        try:
            if positional:          # adolfd enqueues keyword arguments only; a hand-made job may not
                raise BadArguments(f"{spec.key} takes keyword arguments only, got {len(positional)} positional")
            args = spec.parse(kwargs, brands=res.settings.brands)
            soft = _soft_limit_timer(ctx, spec)
            try:
                async with asyncio.timeout(spec.timeout):
                    result = await spec.func(ctx, **args)
            finally:
                if soft is not None:
                    soft.cancel()
        except asyncio.CancelledError:
            jlog.warning("job_interrupted", duration=round(time.perf_counter() - started, 3))
            raise
        except Exception as exc:  # noqa: BLE001 — every failure is logged, retried or dead-lettered
            duration = round(time.perf_counter() - started, 3)
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if isinstance(exc, TimeoutError):
                error = f"TimeoutError: exceeded {spec.timeout:g}s"
            run = {"job_id": job_id, "started": started_wall.isoformat(), "finished": _now_iso(),
                   "duration": duration, "try": job_try, "error": error[:500]}
            if spec.retry.retries(exc, job_try):
                delay = spec.retry.delay_after(exc, job_try)
                series.retried.inc()
                jlog.warning("job_retry", duration=duration, error=error, retry_in=delay)
                await _record(arq_ctx, res, run_keys, {**run, "outcome": "retrying"})
                raise Retry(defer=delay) from exc
            series.failed.inc()
            jlog.error("job_failed", duration=duration, error=error, exc_info=is_retryable(exc))
            await _record(arq_ctx, res, run_keys, {**run, "outcome": "failed"})
            await record_failure(res.db, res.redis, {
                "job_id": job_id, "module": spec.module, "job_name": spec.name, "queue": spec.queue_name,
                "args": kwargs, "error": error, "traceback": traceback.format_exc(), "tries": job_try,
                "failed_at": _now_iso(),
            })
            raise
        finally:
            ctx.end_background()
            series.active.dec()
            series.duration.observe(time.perf_counter() - started)
        duration = round(time.perf_counter() - started, 3)
        series.succeeded.inc()
        summary = summarise(result)
        jlog.info("job_finished", duration=duration, result=summary)
        await _record(arq_ctx, res, run_keys, {
            "job_id": job_id, "started": started_wall.isoformat(), "finished": _now_iso(), "duration": duration,
            "try": job_try, "outcome": "success", "result": summary,
        })
        return result


def _soft_limit_timer(ctx: Ctx, spec: JobSpec) -> asyncio.TimerHandle | None:
    """At the soft limit the job is told (ctx.past_soft_limit) and the log says so; the hard limit cancels it."""
    if spec.soft_timeout is None or spec.soft_timeout >= spec.timeout:
        return None

    def tell() -> None:
        ctx.soft_limit.set()
        log.warning("job_soft_time_limit", soft_timeout=spec.soft_timeout, hard_timeout=spec.timeout)

    return asyncio.get_running_loop().call_later(spec.soft_timeout, tell)


async def _record(arq_ctx: dict[str, Any], res: Resources, keys: tuple[str, ...], run: dict[str, Any]) -> None:
    """adolfd's worker writes the run book in the same transaction as ARQ's job finish (one round trip
    less per job); any other runner (the plain `arq` CLI, tests) writes it here."""
    sink = arq_ctx.get("runbook_sink")
    if sink is not None:
        sink[run["job_id"]] = (keys, run)
    else:
        await record_run(res.redis, list(keys), run)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()
