"""One error tree, one retry rule: what no retry can fix fails at once; bad arguments never reach a queue."""
from __future__ import annotations

import json

import httpx
import pytest
from adolfd.engine.failures import list_failed
from adolfd.engine.jobs import job, resolve
from adolfd.engine.retry import RetryPolicy
from adolfd.errors import (
    AuthError,
    BadArguments,
    BadResponse,
    LegacyPickledJob,
    RateLimited,
    Rejected,
    Unavailable,
    UnknownBrand,
    UnknownJob,
    is_retryable,
)
from adolfd.testing import with_jobs

CALLS: dict[str, int] = {}
RAISES = {
    "unknown_brand": lambda ctx: ctx.brands("no_such_brand"),
    "auth": lambda ctx: (_ for _ in ()).throw(AuthError("token expired", api="ozon", status=401)),
    "unavailable": lambda ctx: (_ for _ in ()).throw(Unavailable("502", api="wb", status=502)),
}


@job(queue="default", retry=RetryPolicy(tries=3, delay=0.01), timeout=5)
async def raising_for_tests(ctx, kind: str) -> dict:
    """Raises the error `kind` names, counting its calls."""
    CALLS[kind] = CALLS.get(kind, 0) + 1
    RAISES[kind](ctx)
    return {"status": "success"}


@pytest.mark.parametrize(("exc", "retryable"), [
    (Unavailable("x"), True), (RateLimited("x", retry_after=3), True), (TimeoutError(), True),
    (httpx.ConnectError("x"), True), (RuntimeError("x"), True),
    (AuthError("x"), False), (Rejected("x"), False), (BadResponse("x"), False), (UnknownBrand("x"), False),
    (BadArguments("x"), False), (UnknownJob("x"), False), (LegacyPickledJob("x"), False),
])
def test_one_predicate_decides_retry(exc, retryable):
    assert is_retryable(exc) is retryable


def test_names_stay_importable_from_where_they_were():
    from adolfd.clients.errors import ApiError as client_api_error
    from adolfd.engine.jobs import BadArguments as registry_bad_arguments

    assert registry_bad_arguments is BadArguments and issubclass(AuthError, client_api_error)
    assert issubclass(BadArguments, ValueError) and issubclass(UnknownBrand, ValueError)


def test_a_rate_limited_retry_waits_as_long_as_the_api_asked():
    policy = RetryPolicy(tries=3, delay=5)
    assert policy.delay_after(RateLimited("x", retry_after=40), 1) == 40
    assert policy.delay_after(Unavailable("x"), 1) == 5
    assert not policy.retries(AuthError("x"), 1) and policy.retries(Unavailable("x"), 1)
    assert not policy.retries(Unavailable("x"), 4)


@pytest.mark.parametrize("kind", ["unknown_brand", "auth"])
async def test_an_error_no_retry_can_fix_fails_at_once(res, run_job, kind):
    CALLS.pop(kind, None)
    out = await run_job("raising_for_tests", kind=kind)
    assert not out["success"] and out["tries"] == 1 and CALLS[kind] == 1
    failed = await list_failed(res.db)
    assert len(failed) == 1 and failed[0]["tries"] == 1 and failed[0]["args"] == {"kind": kind}


async def test_a_hand_made_job_with_positional_arguments_fails_at_once_as_bad_arguments(res, run_queue):
    """adolfd enqueues keyword arguments only; a job someone put into Redis with positional ones is dead-lettered
    by the wrapper (failed_jobs, one try) instead of failing inside ARQ where no operator sees it."""
    CALLS.pop("auth", None)
    spec = resolve("raising_for_tests")
    await res.redis.enqueue_job(spec.arq_name, "auth", _queue_name=spec.queue_name, _job_id="positional-1")
    await run_queue(spec.module, spec.queue)
    failed = await list_failed(res.db)
    assert len(failed) == 1 and failed[0]["tries"] == 1 and failed[0]["job_id"] == "positional-1"
    assert "keyword arguments only" in failed[0]["error"] and "BadArguments" in failed[0]["error"]
    assert "auth" not in CALLS


async def test_a_transient_error_is_retried_by_the_policy(res, run_job):
    CALLS.pop("unavailable", None)
    out = await run_job("raising_for_tests", kind="unavailable")
    assert not out["success"] and out["tries"] == 4 and CALLS["unavailable"] == 4


@pytest.mark.parametrize(("args", "allowed"), [
    (("sync_ozon_stocks", "brand_id=ohana_nope"), "unknown brand 'ohana_nope'; allowed: all, ohana_market, ohana_kids"),
    (("run_bid_cycle", "marketplace=amazon"), "'wb', 'ozon', 'ym' or 'all'"),
    (("collect_stats", "marketplace=all"), "'wb', 'ozon' or 'ym'"),
    (("generate_report", "date_from=1999-12-31", "date_to=2026-01-31"), "allowed: 2020-01-01 to 2099-12-31"),
    (("aggregate_monthly_stats", "year=2026", "month=13"), "month: Input should be less than or equal to 12"),
])
async def test_adolfd_run_refuses_bad_values_naming_the_allowed_ones(adolfd, res, args, allowed):
    out = adolfd("run", *args)
    assert out.returncode == 2 and allowed in out.stderr, out.stderr
    assert [k async for k in res.redis.scan_iter("arq:job:*")] == []


async def test_out_of_range_numbers_are_refused_at_enqueue(res):
    from adolfd.engine.enqueue import enqueue

    with pytest.raises(BadArguments, match="keep_days: Input should be greater than 0"):
        await enqueue(res.redis, "cleanup_stock_history", {"keep_days": 0})
    assert await res.redis.zcard("adolfd:logistic:brain") == 0


def test_adolfd_run_accepts_a_configured_brand(adolfd):
    out = adolfd("run", "sync_ozon_stocks", "brand_id=ohana_kids")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "queued"


@pytest.fixture(autouse=True)
def _jobs_under_test(monkeypatch):
    """This file's jobs join the operations module for each test."""
    with_jobs(monkeypatch, "operations", raising_for_tests)
