"""The `adolfd` command as an operator runs it (a real process against the test database and Redis)."""
from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta

from adolfd.cron import TABLE
from adolfd.engine.enqueue import enqueue
from adolfd.engine.serialization import arq_job
from arq.jobs import JobStatus


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
    from adolfd.workers.marketing.kill_switch import bids_paused

    out = adolfd("pause-bids", "--reason", "budget review")
    assert out.returncode == 0, out.stderr
    paused = await bids_paused(res.db, res.redis)
    assert paused is not None and paused.get("reason") == "budget review"
    assert adolfd("resume-bids").returncode == 0
    assert await bids_paused(res.db, res.redis) is None


# -- run --at / --in / --wait, scheduled, purge (Celery's eta, countdown, AsyncResult.get, inspect scheduled, purge) --
QUEUE = "adolfd:operations:default"


async def _adolfd_started(settings, *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "ADOLFD_DATABASE_URL": settings.database_url, "ADOLFD_REDIS_URL": settings.redis_url}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "adolfd", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def _until_queued(redis, queue: str, count: int = 1) -> None:
    async with asyncio.timeout(30):
        while await redis.zcard(queue) < count:
            await asyncio.sleep(0.05)


async def test_run_at_and_in_defer_the_job_and_scheduled_lists_them_soonest_first(adolfd, res, settings):
    before = datetime.now(UTC).timestamp()
    later = adolfd("run", "probe", "sleep_ms=7", "--in", "120")
    after = datetime.now(UTC).timestamp()
    assert later.returncode == 0, later.stderr
    local = (datetime.now(settings.tz) + timedelta(hours=1)).replace(microsecond=0, tzinfo=None)
    at = adolfd("run", "probe", "sleep_ms=8", "--at", local.isoformat())   # naive: read in ADOLFD_TZ
    assert at.returncode == 0, at.stderr
    in_id, at_id = json.loads(later.stdout)["job_id"], json.loads(at.stdout)["job_id"]

    due_in = await res.redis.zscore(QUEUE, in_id) / 1000
    assert before + 120 - 1 <= due_in <= after + 120 + 1     # 120 s from the enqueue, however slow the start
    due_at = datetime.fromtimestamp(await res.redis.zscore(QUEUE, at_id) / 1000, UTC)
    assert due_at == local.replace(tzinfo=settings.tz)
    assert datetime.fromisoformat(json.loads(at.stdout)["due"]) == due_at

    listed = adolfd("scheduled", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["job_id"] for r in rows] == [in_id, at_id]
    assert rows[1] == {"job_id": at_id, "job": "probe", "queue": QUEUE, "args": {"sleep_ms": 8}, "tries": 0,
                       "due": due_at.astimezone(settings.tz).isoformat()}
    assert in_id in adolfd("scheduled").stdout
    assert await arq_job(res.redis, in_id, QUEUE).status() == JobStatus.deferred
    assert await arq_job(res.redis, at_id, QUEUE).status() == JobStatus.deferred


def test_run_refuses_a_time_in_the_past_or_a_negative_delay_and_queues_nothing(adolfd, res):
    past = adolfd("run", "probe", "--at", "2020-01-01T10:00:00")
    assert past.returncode == 2 and "in the past" in past.stderr
    negative = adolfd("run", "probe", "--in", "-5")
    assert negative.returncode == 2 and "zero or more seconds" in negative.stderr
    garbled = adolfd("run", "probe", "--at", "tomorrow")
    assert garbled.returncode == 2 and "ISO 8601" in garbled.stderr
    both = adolfd("run", "probe", "--at", "2099-01-01T10:00:00", "--in", "5")
    assert both.returncode == 2
    assert json.loads(adolfd("scheduled", "--json").stdout) == []
    assert "no deferred jobs" in adolfd("scheduled").stdout


async def test_run_wait_prints_the_result_once_a_worker_has_run_the_job(res, settings, run_queue):
    proc = await _adolfd_started(settings, "run", "probe", "sleep_ms=3", "--wait", "60")
    await _until_queued(res.redis, QUEUE)
    await run_queue("operations", "default")
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    queued, outcome = [json.loads(line) for line in out.decode().splitlines()]
    assert queued["status"] == "queued" and outcome["job_id"] == queued["job_id"]
    assert outcome["success"] is True and outcome["tries"] == 1 and outcome["result"]["status"] == "success"


async def test_run_wait_exits_1_with_the_error_when_the_job_fails(res, settings, run_queue, extract, monkeypatch):
    from adolfd.engine.jobs import resolve
    from adolfd.engine.retry import NO_RETRY

    monkeypatch.setattr(resolve("logistic.sync_brain_stocks"), "retry", NO_RETRY)
    await extract(datetime.now(UTC))     # a fresh 1C extract but no Ozon catalogue: the job refuses
    proc = await _adolfd_started(settings, "run", "sync_brain_stocks", "--wait", "60")
    await _until_queued(res.redis, "adolfd:logistic:brain")
    await run_queue("logistic", "brain")
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1, err.decode()
    outcome = json.loads(out.decode().splitlines()[-1])
    assert outcome["success"] is False and "CatalogueMissing: no Ozon catalogue" in outcome["error"]
    assert "failed: CatalogueMissing" in err.decode()


def test_run_wait_gives_up_with_exit_3_and_leaves_the_job_queued(adolfd, res):
    out = adolfd("run", "probe", "--wait", "0.5")
    assert out.returncode == 3, out.stderr
    job_id = json.loads(out.stdout)["job_id"]
    assert "did not finish within 0.5 s" in out.stderr and job_id in out.stderr
    assert json.loads(adolfd("job", job_id).stdout)["status"] == "queued"


async def test_purge_removes_waiting_jobs_and_keeps_the_running_one(adolfd, res, run_queue):
    running = await enqueue(res.redis, "probe", {"sleep_ms": 1500})
    worker = asyncio.create_task(run_queue("operations", "default", max_jobs=1))
    async with asyncio.timeout(15):
        while not await res.redis.exists(f"arq:in-progress:{running.job_id}"):
            await asyncio.sleep(0.02)
    # queued once the one slot is taken (jobs enqueued in the same millisecond would start in id order)
    waiting = [await enqueue(res.redis, "probe", {"sleep_ms": 1}) for _ in range(2)]
    deferred = await enqueue(res.redis, "probe", {}, defer_by=3600)

    # the CLI runs while this event loop waits for it, so the running job is still running throughout
    dry = adolfd("purge", "operations:default")
    assert dry.returncode == 2 and "3 waiting job(s) in adolfd:operations:default would be removed" in dry.stderr
    assert await res.redis.zcard(QUEUE) == 4
    done = adolfd("purge", "adolfd:operations:default", "--yes")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"queue": QUEUE, "removed": 3}
    assert [m.decode() for m in await res.redis.zrange(QUEUE, 0, -1)] == [running.job_id]
    for job in (*waiting, deferred):
        assert not await res.redis.exists(f"arq:job:{job.job_id}")

    await asyncio.wait_for(worker, 30)    # a burst worker ends only once the queue is empty
    assert (await arq_job(res.redis, running.job_id).result_info()).success
    for job in waiting:   # purged, never run
        assert await arq_job(res.redis, job.job_id, QUEUE).status() == JobStatus.not_found


def test_purge_names_the_queues_when_the_name_is_unknown(adolfd, res):
    out = adolfd("purge", "marketing:urgent", "--yes")
    assert out.returncode == 2
    assert "unknown queue 'marketing:urgent'" in out.stderr and "adolfd:marketing:high" in out.stderr
