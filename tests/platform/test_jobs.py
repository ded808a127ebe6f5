"""Job execution through a real ARQ worker: success, retries by policy, dead letter, bad arguments."""
from __future__ import annotations

import pytest
from adolfd.engine.enqueue import enqueue
from adolfd.engine.failures import list_failed, retry_failed
from adolfd.engine.jobs import JobSpec, job, resolve
from adolfd.engine.retry import RetryPolicy
from adolfd.engine.runbook import last_runs
from adolfd.errors import BadArguments, NotAllowed, UnknownJob
from adolfd.testing import with_jobs

CALLS: dict[str, int] = {}


@job(queue="default", retry=RetryPolicy(tries=2, delay=0.01), timeout=5)
async def flaky_for_tests(ctx, fail_times: int = 1, key: str = "k") -> dict:
    """Fails `fail_times` times, then succeeds."""
    CALLS[key] = CALLS.get(key, 0) + 1
    if CALLS[key] <= fail_times:
        raise RuntimeError(f"boom {CALLS[key]}")
    return {"status": "success", "calls": CALLS[key]}


async def test_probe_runs_through_a_real_worker(res, run_job):
    out = await run_job("probe", sleep_ms=1)
    assert out["success"] and out["result"]["status"] == "success"
    runs = await last_runs(res.redis)
    assert runs["operations.probe"]["outcome"] == "success"


async def test_retry_policy_then_success(res, run_job):
    out = await run_job("flaky_for_tests", fail_times=2, key="a")
    assert out["success"] and out["tries"] == 3
    assert await list_failed(res.db) == []


async def test_exhausted_tries_land_in_failed_jobs_with_a_critical_alert(res, run_job):
    out = await run_job("flaky_for_tests", fail_times=10, key="b")
    assert not out["success"] and out["tries"] == 3
    failed = await list_failed(res.db)
    assert len(failed) == 1 and failed[0]["job_name"] == "flaky_for_tests"
    assert failed[0]["args"] == {"fail_times": 10, "key": "b"} and "boom 3" in failed[0]["error"]
    alert = await res.db.fetchrow("SELECT * FROM alerts WHERE alert_type = 'JOB_FAILED'")
    assert alert["severity"] == "critical"
    # retry by hand: re-enqueued with the same arguments, once however often it is asked
    CALLS["b"] = -100
    new_id = await retry_failed(res.db, res.redis, failed[0]["id"])
    assert new_id.startswith(f"retry:{failed[0]['id']}:")
    again = await enqueue(res.redis, "flaky_for_tests", {"fail_times": 10, "key": "b"}, job_id=new_id)
    assert again is None
    assert (await list_failed(res.db)) == []


async def test_bad_arguments_are_refused_before_enqueue(res):
    with pytest.raises(BadArguments, match="sleep_ms"):
        await enqueue(res.redis, "probe", {"sleep_ms": "soon"})
    with pytest.raises(BadArguments, match="nonsense: Extra inputs"):
        await enqueue(res.redis, "probe", {"nonsense": 1})
    with pytest.raises(UnknownJob):
        resolve("no_such_job")
    with pytest.raises(NotAllowed):
        await enqueue(res.redis, "flaky_for_tests", {}, manual=True)
    assert await res.redis.zcard("adolfd:operations:default") == 0


async def test_bad_arguments_reaching_a_worker_fail_without_retry(res, run_queue):
    """A job enqueued by other means with bad arguments fails once, clearly, into failed_jobs."""
    spec: JobSpec = resolve("flaky_for_tests")
    await res.redis.enqueue_job(spec.arq_name, _job_id="bad-1", _queue_name=spec.queue_name, fail_times="x")
    await run_queue("operations", "default")
    failed = await list_failed(res.db)
    assert len(failed) == 1 and failed[0]["tries"] == 1 and "bad arguments" in failed[0]["error"]


@pytest.fixture(autouse=True)
def _jobs_under_test(monkeypatch):
    """This file's jobs join the operations module for each test."""
    with_jobs(monkeypatch, "operations", flaky_for_tests)
