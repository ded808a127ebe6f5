"""Jobs and results travel as JSON; a job pickled by an earlier adolfd is never unpickled and never lost."""
from __future__ import annotations

import json
import pickle
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from adolfd.engine.enqueue import enqueue
from adolfd.engine.jobs import job
from adolfd.engine.legacy_jobs import read_literals
from adolfd.engine.retry import RetryPolicy
from adolfd.engine.serialization import JobFailed, job_deserializer, job_serializer
from adolfd.errors import BadArguments
from adolfd.testing import with_jobs

QUEUE = "adolfd:operations:default"
MARKER = Path("/tmp/adolfd-test-unpickled-marker")


@job(queue="default", retry=RetryPolicy(tries=0), timeout=5)
async def typed_result_for_tests(ctx, day: date, amount: Decimal, ref: uuid.UUID) -> dict:
    """Returns what it received, with the Python types it saw."""
    return {"day": day, "amount": amount, "ref": ref, "at": datetime(2026, 2, 14, 7, tzinfo=UTC),
            "types": [type(day).__name__, type(amount).__name__, type(ref).__name__]}


@job(queue="default", retry=RetryPolicy(tries=0), timeout=5)
async def opaque_result_for_tests(ctx) -> object:
    """Returns something no JSON can hold."""
    return object()


@job(queue="default", retry=RetryPolicy(tries=0), timeout=5)
async def any_payload_for_tests(ctx, payload: Any = None) -> dict:
    return {"payload": payload}


@job(queue="default", retry=RetryPolicy(tries=0), timeout=5)
async def failing_for_tests(ctx) -> dict:
    raise RuntimeError("boom")


class Exploit:
    """Unpickling this would create MARKER: proof that nothing is ever unpickled."""

    def __reduce__(self):
        return (Path.touch, (MARKER,))


def _legacy(function: str, kwargs: dict) -> bytes:
    """What arq 0.28 with its default serializer wrote for a job."""
    return pickle.dumps({"t": None, "f": function, "a": (), "k": kwargs, "et": 1_700_000_000_000})


def test_adolfd_run_stores_the_job_as_json(adolfd, res):
    out = adolfd("run", "operations.probe", "sleep_ms=5")
    assert out.returncode == 0, out.stderr
    job_id = json.loads(out.stdout)["job_id"]
    stored = json.loads(_sync_get(res.settings.redis_url.get_secret_value(), f"arq:job:{job_id}"))
    assert stored["f"] == "probe" and stored["k"] == {"sleep_ms": 5} and set(stored) == {"t", "f", "a", "k", "et"}


async def test_results_are_json_with_typed_arguments_in_the_job(res, run_job):
    ref = uuid.uuid4()
    out = await run_job("typed_result_for_tests", day="2026-02-14", amount="12.50", ref=str(ref))
    assert out["success"], out
    assert out["result"] == {"day": "2026-02-14", "amount": "12.50", "ref": str(ref),
                             "at": "2026-02-14T07:00:00+00:00", "types": ["date", "Decimal", "UUID"]}
    raw = await res.redis.get(f"arq:result:{out['job_id']}")
    assert json.loads(raw)["r"]["day"] == "2026-02-14"


async def test_a_result_that_is_not_json_does_not_stop_the_worker(res, run_job):
    bad = await run_job("opaque_result_for_tests")
    assert not bad["success"] and bad["result"] == "unable to serialize result"
    after = await run_job("probe", sleep_ms=1)            # the same kind of worker carries on
    assert after["success"]


async def test_a_failure_reads_back_as_an_exception_naming_the_cause(res, run_job):
    out = await run_job("failing_for_tests")
    assert not out["success"] and isinstance(out["result"], JobFailed)
    assert out["result"].error_type == "RuntimeError" and "boom" in out["result"].message


async def test_a_value_that_is_not_json_is_refused_at_enqueue_naming_job_and_argument(res):
    with pytest.raises(BadArguments, match=r"any_payload_for_tests: payload: not representable as JSON"):
        await enqueue(res.redis, "any_payload_for_tests", {"payload": object()})
    with pytest.raises(BadArguments, match=r"any_payload_for_tests: payload"):
        await enqueue(res.redis, "any_payload_for_tests", {"payload": [float("inf")]})
    assert await res.redis.zcard(QUEUE) == 0
    with pytest.raises(TypeError, match="job 'x': argument payload is not JSON"):
        job_serializer({"t": 1, "f": "x", "a": (), "k": {"payload": float("nan")}, "et": 1})


def test_pickle_bytes_are_never_unpickled():
    MARKER.unlink(missing_ok=True)
    raw = _legacy("probe", {"sleep_ms": Exploit()})
    with pytest.raises(Exception, match=r"pickled by an earlier adolfd.*'probe'.*cannot be read"):
        job_deserializer(raw)
    assert not MARKER.exists()
    assert read_literals(_legacy("probe", {"sleep_ms": 3}))["k"] == {"sleep_ms": 3}


async def _put_legacy(res, job_id: str, function: str, kwargs: dict) -> None:
    await res.redis.set(f"arq:job:{job_id}", _legacy(function, kwargs))
    await res.redis.zadd(QUEUE, {job_id: 1})


async def test_job_and_jobs_show_a_legacy_pickled_job(adolfd, res):
    await _put_legacy(res, "old-1", "probe", {"sleep_ms": 7})
    MARKER.unlink(missing_ok=True)
    await _put_legacy(res, "old-2", "probe", {"sleep_ms": Exploit()})
    one = adolfd("job", "old-1")
    assert one.returncode == 0, one.stderr
    info = json.loads(one.stdout)
    assert info["kind"] == "legacy pickled job" and info["queue"] == QUEUE and info["function"] == "probe"
    assert info["args"] == {"sleep_ms": 7} and "adolfd run probe sleep_ms=7" in info["error"]
    listed = adolfd("jobs", "--queued")
    assert listed.returncode == 1, listed.stderr            # legacy jobs left: the upgrade is not finished
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert "legacy pickled job" in lines["old-1"] and "adolfd run probe sleep_ms=7" in lines["old-1"]
    assert "adolfd run probe [key=value …]" in lines["old-2"]
    assert not MARKER.exists()


async def test_a_worker_meeting_a_legacy_job_names_it_and_how_to_enqueue_it_again(res, run_queue):
    await _put_legacy(res, "old-3", "probe", {"sleep_ms": 9})
    await run_queue("operations", "default")
    stored = json.loads(await res.redis.get("arq:result:old-3"))
    assert stored["s"] is False and stored["f"] == "probe" and stored["k"] == {"sleep_ms": 9}
    message = stored["r"]["message"]
    assert "legacy pickled job old-3 on adolfd:operations:default" in message
    assert "adolfd run probe sleep_ms=9" in message
    again = await enqueue(res.redis, "probe", {"sleep_ms": 9})       # the worker keeps serving the queue
    await run_queue("operations", "default")
    assert json.loads(await res.redis.get(f"arq:result:{again.job_id}"))["s"] is True


def _sync_get(url: str, key: str) -> bytes:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return client.get(key)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def _jobs_under_test(monkeypatch):
    """This file's jobs join the operations module for each test."""
    with_jobs(monkeypatch, "operations", typed_result_for_tests, opaque_result_for_tests, any_payload_for_tests,
              failing_for_tests)
