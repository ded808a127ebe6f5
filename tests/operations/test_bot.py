"""The admin bot end to end: updates come from the sandbox's fake Telegram, replies are read back from it."""
from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from adolfd.admin.alerts import raise_alert
from adolfd.engine.serialization import arq_job
from adolfd.sandbox import feedback_feed
from adolfd.workers.marketing.kill_switch import bids_paused
from arq.jobs import JobStatus
from structlog.testing import capture_logs

from .conftest import ADMIN, SECOND_ADMIN, STRANGER

pytestmark = pytest.mark.usefixtures("fast_chats")


async def record_failed_job(res, job_name: str = "sync_ozon_stocks", error: str = "TimeoutError: exceeded 300s") -> int:
    return await res.db.fetchval(
        "INSERT INTO failed_jobs (job_id, module, job_name, queue, args, error, tries) "
        "VALUES ($1, 'logistic', $2, 'adolfd:logistic:sync', $3, $4, 4) RETURNING id",
        f"cron:{job_name}:1", job_name, {"brand_id": "ohana_market"}, error)


async def test_startup_registers_the_command_menu(bot, fake):
    commands = {c["command"] for c in fake.commands}
    assert {"status", "run", "pause_bids", "approve", "help"} <= commands


async def test_stranger_gets_one_polite_refusal_and_every_attempt_is_logged(bot, say, replies, fake):
    with capture_logs() as logs:
        await say("/status", user_id=STRANGER, username="curious")
        [refusal] = await replies(STRANGER, 1)
        await say("/pause_bids", user_id=STRANGER, username="curious")
        await say("/run sync_ozon_stocks", user_id=STRANGER, username="curious")
        await say("/help", user_id=ADMIN)              # an admin message after: proves the others were handled
        await replies(ADMIN, 1)
    assert "only answers the adolfd operators" in refusal.text
    assert len(fake.messages(STRANGER)) == 1            # one refusal, not three
    denied = [e for e in logs if e["event"] == "bot_access_denied"]
    assert [e["text"] for e in denied] == ["/status", "/pause_bids", "/run sync_ozon_stocks"]
    assert all(e["user_id"] == STRANGER and e["username"] == "curious" for e in denied)


async def test_stranger_cannot_pause_bids(ops, bot, say, replies):
    await say("/pause_bids", user_id=STRANGER)
    await replies(STRANGER, 1)
    assert await bids_paused(ops.db, ops.redis) is None


async def test_status_shows_the_system_at_a_glance(ops, bot, say, replies):
    failed_id = await record_failed_job(ops)
    await raise_alert(ops.db, module="logistic", alert_type="STOCK_LOW", severity="warning", message="x",
                      brand_id="ohana_market")
    await say("/status")
    [reply] = await replies(ADMIN, 1)
    text = reply.text
    assert text.startswith("<b>adolfd</b>")
    assert "failed jobs: 1" in text and "→ /failed" in text
    assert "alerts 24h: 1 (0 severe) · 1 waiting" in text
    assert "bid cycle: no run in the last hour" in text and "PAUSED" not in text
    assert "⚠️ no worker for logistic (sync, brain, logic)" in text
    assert "breakers: 6 closed" in text
    assert failed_id > 0


async def test_run_enqueues_a_validated_job_and_job_reports_it(ops, bot, say, replies, run_queue):
    await say("/run probe sleep_ms=1")
    [queued] = await replies(ADMIN, 1)
    assert "queued <b>operations.probe</b>" in queued.text
    job_id = queued.text.split("<code>")[1].split("</code>")[0]
    assert await arq_job(ops.redis, job_id, "adolfd:operations:default").status() == JobStatus.queued
    await run_queue("operations", "default")
    await say(f"/job {job_id}")
    [_, info] = await replies(ADMIN, 2)
    assert "✅ <b>probe</b> · complete" in info.text and "elapsed_ms" in info.text


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/run no_such_job", "unknown job"),
        ("/run probe sleep_ms=soon", "sleep_ms"),
        ("/run probe sleep_ms", "expected key=value"),
        ("/run", "Usage: /run JOB"),
        ("/job", "Usage: /job ID"),
        ("/job nothing-like-this", "No job <code>nothing-like-this</code>"),
        ("/retry abc", "Usage: /retry ID"),
        ("/retry 4242", "no failed job with id 4242"),
        ("/schedule nowhere", "Unknown module nowhere"),
        ("/approve x", "Usage: /approve ITEM"),
        ("/approve 4242", "no reputation item 4242"),
        ("/frobnicate", "Unknown command"),
    ],
)
async def test_bad_commands_get_a_clear_answer(ops, bot, say, replies, command, expected):
    await say(command)
    [reply] = await replies(ADMIN, 1)
    assert expected.lower() in reply.text.lower(), reply.text


async def test_failed_lists_and_retry_requeues_once(ops, bot, say, replies):
    failed_id = await record_failed_job(ops)
    await say("/failed")
    [listing] = await replies(ADMIN, 1)
    assert f"#{failed_id}" in listing.text and "logistic.sync_ozon_stocks" in listing.text
    assert f"/retry {failed_id}" in listing.text and "TimeoutError" in listing.text
    await say(f"/retry {failed_id}")
    [_, done] = await replies(ADMIN, 2)
    job_id = f"retry:{failed_id}:cron:sync_ozon_stocks:1"
    assert job_id in done.text
    job = arq_job(ops.redis, job_id, "adolfd:logistic:sync")
    assert await job.status() == JobStatus.queued
    assert (await job.info()).kwargs == {"brand_id": "ohana_market"}
    assert await ops.db.fetchval("SELECT retry_job_id FROM failed_jobs WHERE id = $1", failed_id) == job_id
    await say("/failed")
    [*_, empty] = await replies(ADMIN, 3)
    assert "No failed jobs waiting" in empty.text


async def test_pause_and_resume_bids(ops, bot, say, replies):
    await say("/pause_bids wb budget audit")
    [paused] = await replies(ADMIN, 1)
    assert "Bid cycle paused" in paused.text and "wb budget audit" in paused.text
    flag = await bids_paused(ops.db, ops.redis)
    assert flag["by"] == "telegram:ops" and flag["reason"] == "wb budget audit"

    await say("/pause_bids again", user_id=SECOND_ADMIN, username="night")
    [again] = await replies(SECOND_ADMIN, 1)
    assert "already paused by telegram:ops" in again.text
    assert (await bids_paused(ops.db, ops.redis))["reason"] == "wb budget audit"     # the first pause stands

    await say("/status")
    [_, status] = await replies(ADMIN, 2)
    assert "bid cycle PAUSED by telegram:ops" in status.text and "wb budget audit" in status.text

    await say("/resume_bids")
    [*_, resumed] = await replies(ADMIN, 3)
    assert "Bid cycle resumed" in resumed.text
    assert await bids_paused(ops.db, ops.redis) is None


async def test_breakers_lists_the_polling_breakers(ops, bot, say, replies):
    from adolfd.workers.reputation.breakers import BREAKER_NAMES, breakers

    br = breakers(ops.redis, ops.settings)
    name = BREAKER_NAMES[0]
    for _ in range(ops.settings.reputation.breaker_failures):
        await br.failure(name, datetime.now(UTC), "HTTP 503 from wb")
    await say("/breakers")
    [reply] = await replies(ADMIN, 1)
    assert f"🔴 {name}: <b>open</b>" in reply.text and "HTTP 503 from wb" in reply.text
    assert "✅ closed:" in reply.text and BREAKER_NAMES[1] in reply.text


async def test_approve_publishes_a_pending_reply_once(ops, bot, say, replies, sandbox, run_job):
    feedback_feed.configure(sandbox.sandbox, "wb-feedbacks", backlog=1)
    polled = await run_job("reputation.poll_wb_reviews")
    assert polled["success"], polled
    pending = await ops.db.fetch("SELECT id FROM reputation_items WHERE status = 'pending_review' ORDER BY id")
    item_id = pending[0]["id"]

    await say("/approve")
    [listing] = await replies(ADMIN, 1)
    assert f"/approve {item_id}" in listing.text

    await say(f"/approve {item_id}")
    [_, done] = await replies(ADMIN, 2)
    assert f"item #{item_id} approved" in done.text
    row = await ops.db.fetchrow("SELECT i.status, r.approved_by FROM reputation_items i "
                                "JOIN reputation_responses r ON r.item_id = i.id WHERE i.id = $1", item_id)
    assert row["status"] == "approved" and row["approved_by"] == "telegram:ops"

    await say(f"/approve {item_id}")                   # a second approval is refused, nothing enqueued twice
    [*_, twice] = await replies(ADMIN, 3)
    assert "only items pending review can be approved" in twice.text


async def test_schedule_and_queues_and_help(ops, bot, say, replies):
    await say("/schedule logistic")
    [schedule] = await replies(ADMIN, 1)
    assert "logistic.sync_ozon_stocks →" in schedule.text and "Europe/Moscow" in schedule.text
    await say("/queues")
    [_, queues] = await replies(ADMIN, 2)
    assert "no worker" in queues.text and "logistic:sync" in queues.text
    await say("/help")
    [*_, help_] = await replies(ADMIN, 3)
    assert "/pause_bids [reason]" in help_.text and "/approve ITEM" in help_.text


async def test_long_replies_are_split_within_telegram_limits(ops, bot, say, replies, fake):
    for n in range(30):
        await record_failed_job(ops, job_name=f"job_{n}", error="E" * 150)
    await say("/failed")
    await replies(ADMIN, 1)
    await asyncio.sleep(0.3)
    assert all(len(m.text) <= 4096 for m in fake.messages(ADMIN))
    assert "#" in fake.messages(ADMIN)[0].text


async def test_every_admin_command_is_audited(ops, bot, say, replies):
    with capture_logs() as logs:
        await say("/queues", username="night", user_id=SECOND_ADMIN)
        await replies(SECOND_ADMIN, 1)
    audit = [e for e in logs if e["event"] == "bot_command"]
    assert audit and audit[0]["user_id"] == SECOND_ADMIN and audit[0]["text"] == "/queues"
    assert json.dumps(audit, default=str).count("sandbox-telegram") == 0     # the token never reaches a log


async def test_approve_lists_escalated_first_and_every_reply_whole(ops, bot, say, replies, sandbox, run_job):
    from adolfd.workers.reputation.approval import list_items
    from adolfd.workers.reputation.bot import render_pending

    feedback_feed.configure(sandbox.sandbox, "wb-feedbacks", backlog=2, written={
        "ohana_kids:review:1": {"rating": 1, "text": "У ребёнка появилась сыпь"}})
    assert (await run_job("reputation.poll_wb_reviews"))["success"]
    long_reply = " ".join(["Спасибо && до встречи <3!"] * 130)                     # ~3300 characters
    first = await ops.db.fetchval("SELECT min(id) FROM reputation_items")
    await ops.db.execute("UPDATE reputation_responses SET draft_text = $2 WHERE item_id = $1", first, long_reply)
    expected = render_pending(await list_items(ops.db, "pending_review", 10))
    assert len(expected) >= 2

    await say("/approve")
    listing = await replies(ADMIN, len(expected))                 # the fake refuses broken HTML or > 4096
    text = "\n".join(m.text for m in listing)
    assert listing[0].text.startswith("<b>Waiting for review</b>")
    assert text.index("escalated") < text.index(f"#{first} ")        # the rash before the thank-you
    assert text.count("&amp;&amp;") == text.count("&lt;3!") == 130   # every word of the reply, escaped
