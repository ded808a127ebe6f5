"""The `adolfd` command as an operator runs it (a real process against the test database and Redis)."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from adolfd.cron import TABLE


def test_schedule_json_has_exactly_the_promised_keys(adolfd):
    out = adolfd("schedule", "--json", "--now", "2026-02-14T06:59:59+03:00")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) == len(TABLE)
    assert all(set(r) == {"job", "module", "queue", "cron", "second", "timezone", "enabled", "next"} for r in rows)
    supply = next(r for r in rows if r["job"] == "generate_supply_tasks")
    assert supply["next"] == ["2026-02-14T07:00:00+03:00", "2026-02-15T07:00:00+03:00", "2026-02-16T07:00:00+03:00"]
    poll = next(r for r in rows if r["module"] == "reputation" and r["second"] == 40)
    assert [datetime.fromisoformat(t).strftime("%M:%S") for t in poll["next"]] == ["01:40", "06:40", "11:40"]
    carsbot = [r for r in rows if r["module"] == "carsbot"]
    assert carsbot and all(r["timezone"] == "UTC" and r["next"][0].endswith("+00:00") for r in carsbot)


def test_schedule_refuses_a_bad_time(adolfd):
    out = adolfd("schedule", "--now", "yesterday")
    assert out.returncode == 2 and "ISO 8601" in out.stderr


def test_run_unknown_job_and_bad_argument_exit_non_zero_with_a_clear_message(adolfd, res):
    unknown = adolfd("run", "sync_everything")
    assert unknown.returncode == 2 and "unknown job 'sync_everything'" in unknown.stderr
    bad = adolfd("run", "probe", "sleep_ms=soon")
    assert bad.returncode == 2 and "sleep_ms" in bad.stderr
    malformed = adolfd("run", "probe", "sleep_ms")
    assert malformed.returncode == 2 and "key=value" in malformed.stderr


async def test_run_enqueues_and_job_reports_status(adolfd, res, run_queue):
    out = adolfd("run", "probe", "sleep_ms=1")
    assert out.returncode == 0, out.stderr
    job_id = json.loads(out.stdout)["job_id"]
    queued = json.loads(adolfd("job", job_id).stdout)
    assert queued["status"] == "queued" and queued["queue"] == "adolfd:operations:default"
    await run_queue("operations", "default")
    done = json.loads(adolfd("job", job_id).stdout)
    assert done["status"] == "complete" and done["success"] is True and done["result"]["status"] == "success"
    assert adolfd("job", "no-such-id").returncode == 1


def test_migrate_is_idempotent(adolfd):
    assert adolfd("migrate").returncode == 0
    again = adolfd("migrate")
    assert again.returncode == 0 and "schema applied" in again.stdout


def test_status_and_failed(adolfd):
    status = adolfd("status", "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert {"queues", "cron", "failed_jobs"} <= set(data)
    assert any(c["job"] == "sync_ozon_stocks" for c in data["cron"])
    assert "no failed jobs" in adolfd("failed").stdout
    missing = adolfd("retry", "424242")
    assert missing.returncode == 1 and "no failed job with id 424242" in missing.stderr


async def test_kill_switch_from_the_command_line(adolfd, res):
    from adolfd.kill_switch import bids_paused

    out = adolfd("pause-bids", "--reason", "budget review")
    assert out.returncode == 0, out.stderr
    paused = await bids_paused(res.redis)
    assert paused is not None and paused.get("reason") == "budget review"
    assert adolfd("resume-bids").returncode == 0
    assert await bids_paused(res.redis) is None
