"""Dead letters whose text PostgreSQL refuses (a NUL, a lone surrogate) are stored cleaned; a spooled entry that
cannot be stored at all is set aside with an alert and never blocks the others, `adolfd failed` and `/failed`."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from adolfd.engine.failures import flush_spool, list_failed
from adolfd.engine.jobs import job
from adolfd.engine.retry import RetryPolicy
from adolfd.keys import FAILED_SPOOL, FAILED_SPOOL_UNWRITABLE
from adolfd.outside_text import printable, storable, storable_json
from adolfd.testing import with_jobs


def dead_letter(job_id: str, error: str = "RuntimeError: boom", **args: object) -> dict:
    return {"job_id": job_id, "module": "operations", "job_name": "probe", "queue": "adolfd:operations:default",
            "args": args, "error": error, "traceback": f"Traceback\n{error}", "tries": 3,
            "failed_at": datetime(2026, 3, 1, 12, tzinfo=UTC).isoformat()}


@job(queue="default", retry=RetryPolicy(tries=1, delay=0.01), timeout=5)
async def nul_raising_for_tests(ctx, text: str = "") -> dict:
    """Fails with the outside text it was given in its error, as a marketplace's error body would."""
    raise RuntimeError(f"marketplace said: {text}")


@pytest.fixture(autouse=True)
def _jobs_under_test(monkeypatch):
    with_jobs(monkeypatch, "operations", nul_raising_for_tests)


def test_storable_text_drops_nul_and_replaces_lone_surrogates_only():
    assert storable("a\x00b\ud800c — ок") == "ab\ufffdc — ок"
    assert storable_json({"k\x00": ["x\x00", 1, {"n": "\udfff"}]}) == {"k": ["x", 1, {"n": "\ufffd"}]}


def test_printable_text_strips_terminal_escapes_and_keeps_lines():
    hostile = "ok\x1b[2J\x1b[31mred\x1b[0m\x1b]0;title\x07 \x9b1mX\rY\x08\n\tnext"
    assert printable(hostile) == "okred XY\n\tnext"


async def test_a_job_failing_with_a_nul_in_its_error_is_stored_not_spooled(res, run_job):
    out = await run_job("nul_raising_for_tests", text="bad\x00byte")
    assert not out["success"]
    failed = await list_failed(res.db)
    assert len(failed) == 1 and failed[0]["error"] == "RuntimeError: marketplace said: badbyte"
    assert failed[0]["args"] == {"text": "badbyte"}
    assert await res.redis.llen(FAILED_SPOOL) == 0
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE alert_type = 'JOB_FAILED'") == 1


async def test_a_poisoned_spool_entry_is_cleaned_and_the_ones_behind_it_are_written(res):
    await res.redis.rpush(FAILED_SPOOL, json.dumps(dead_letter("j1", "Error: nul\x00here", note="x\x00\ud800")),
                          json.dumps(dead_letter("j2")))
    flushed = await flush_spool(res.db, res.redis)
    assert (flushed.written, flushed.set_aside, flushed.waiting) == (2, 0, 0)
    rows = {r["job_id"]: r for r in await list_failed(res.db)}
    assert rows["j1"]["error"] == "Error: nulhere" and rows["j1"]["args"] == {"note": "x\ufffd"}
    assert "j2" in rows and await res.redis.llen(FAILED_SPOOL) == 0


async def test_an_unwritable_spool_entry_is_set_aside_with_a_critical_alert(res):
    not_a_record = json.dumps({"job_id": "j0", "tries": "three"})
    await res.redis.rpush(FAILED_SPOOL, b"{not json", not_a_record, json.dumps(dead_letter("j3")))
    flushed = await flush_spool(res.db, res.redis)
    assert (flushed.written, flushed.set_aside) == (1, 2)
    assert [r["job_id"] for r in await list_failed(res.db)] == ["j3"]
    assert await res.redis.lrange(FAILED_SPOOL_UNWRITABLE, 0, -1) == [b"{not json", not_a_record.encode()]
    alert = await res.db.fetchrow("SELECT * FROM alerts WHERE alert_type = 'FAILED_JOB_UNWRITABLE'")
    assert alert["severity"] == "critical" and FAILED_SPOOL_UNWRITABLE in alert["message"]
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE alert_type = 'FAILED_JOB_UNWRITABLE'") == 1


async def test_adolfd_failed_keeps_working_over_a_poisoned_spool(adolfd, res):
    await res.redis.rpush(FAILED_SPOOL, json.dumps(dead_letter("j4", "Error: \x00\x1b[2Jcleared")), b"garbage")
    out = adolfd("failed")
    assert out.returncode == 0, out.stderr
    assert "operations.probe" in out.stdout and "Error: cleared" in out.stdout and "\x1b" not in out.stdout
    assert f"1 failed job(s) PostgreSQL refused are kept in Redis {FAILED_SPOOL_UNWRITABLE}" in out.stderr
    assert adolfd("failed").returncode == 0


async def test_adolfd_status_strips_terminal_escapes_from_outside_text(adolfd, res):
    from adolfd.workers.marketing.kill_switch import pause_bids

    await pause_bids(res.db, res.redis, by="tg:\x1b]0;owned\x07ops", now=datetime.now(UTC),
                     reason="audit\x1b[2J\x1b[31m now")
    out = adolfd("status")
    assert out.returncode == 0, out.stderr
    assert "audit now" in out.stdout and "\x1b" not in out.stdout and "\x07" not in out.stdout


async def test_status_counts_failed_jobs_still_in_redis(adolfd, res):
    await res.redis.rpush(FAILED_SPOOL, json.dumps(dead_letter("j5")))
    await res.redis.rpush(FAILED_SPOOL_UNWRITABLE, b"garbage", b"more garbage")
    data = json.loads(adolfd("status", "--json").stdout)
    assert data["failed_jobs"] == {"spooled": 1, "unwritable": 2, "open": 0, "newest": None}
    text = adolfd("status").stdout
    assert "failed jobs still in Redis: 1 spooled, 2 refused by PostgreSQL" in text
