"""Expired subscriptions closed once and the subscriber told once (seed 004 check_subscriptions_task); stats and
retention."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adolfd.sandbox.environment import CARSBOT_PRIVATE_CHANNEL
from adolfd.sandbox.telegram import telegram_fake

MIDNIGHT = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
SUBSCRIBERS = [["telegram_id", "username", "plan", "expires_at"],
               ["700000001", "ivan", "pro", "2026-03-01"],        # expired yesterday
               ["700000002", "olga", "basic", "2026-03-02"],      # last day today
               ["700000003", "petr", "pro", "2026-02-20"]]        # expired, has blocked the bot


async def test_expired_subscriptions_are_closed_and_told_once(res, sandbox, sheet, clock, run_job):
    clock.set(MIDNIGHT)
    sheet("Подписчики", SUBSCRIBERS)
    await run_job("carsbot.sync_subscribers_task")
    fake = telegram_fake(sandbox.sandbox)
    fake.set_chat_state(700000003, "blocked")
    first = await run_job("carsbot.check_subscriptions_task")
    assert first["result"] == {"status": "success", "closed": 2, "notified": 1, "blocked": 1, "to_retry": 0,
                               "access_removed": 2}
    second = await run_job("carsbot.check_subscriptions_task", _job_id="again")
    assert second["result"]["closed"] == 0 and second["result"]["notified"] == 0
    told = fake.messages(700000001)
    assert len(told) == 1 and "01.03.2026" in told[0].text
    assert fake.messages(700000003) == [] and fake.messages(700000002) == []
    assert sandbox.sandbox.counter("members_banned", f"telegram:{CARSBOT_PRIVATE_CHANNEL}") == 2
    rows = {r["telegram_id"]: r for r in await res.db.fetch("SELECT * FROM carsbot_subscribers")}
    assert not rows[700000001]["is_active"] and rows[700000002]["is_active"]
    assert rows[700000003]["blocked_at"] is not None
    # the sheet sync after the closing does not reopen it; a renewal does
    await run_job("carsbot.sync_subscribers_task", _job_id="resync")
    assert not await res.db.fetchval("SELECT is_active FROM carsbot_subscribers WHERE telegram_id = 700000001")
    sheet("Подписчики", [SUBSCRIBERS[0], ["700000001", "ivan", "pro", "2026-04-01"]])
    await run_job("carsbot.sync_subscribers_task", _job_id="renewed")
    renewed = await res.db.fetchrow("SELECT * FROM carsbot_subscribers WHERE telegram_id = 700000001")
    assert renewed["is_active"] and renewed["closed_at"] is None and renewed["notified_at"] is None


async def test_stats_and_retention(res, clock, channels, ctx, run_job):
    from adolfd.workers.carsbot.pipeline import store_post

    from .conftest import message

    await channels()
    await store_post(ctx, message())
    stats = await run_job("carsbot.collect_stats_task")
    assert stats["result"]["posts"] == {"new": 1} and stats["result"]["queues"]["ai"] == 1
    assert await res.db.fetchval("SELECT count(*) FROM carsbot_stats") == 1
    await res.db.execute("UPDATE carsbot_posts SET status = 'published', received_at = $1",
                         clock.now() - timedelta(days=91))
    await res.db.execute("UPDATE carsbot_stats SET slot = $1", clock.now() - timedelta(days=31))
    out = await run_job("carsbot.cleanup_old_results_task")
    assert out["result"] == {"status": "success", "posts_deleted": 1, "stats_deleted": 1}


async def test_a_renewed_subscriber_is_invited_back_once(res, sandbox, sheet, clock, run_job):
    """Removed at expiry, renewed in the sheet: one unban-if-banned, one member_limit=1 link, one message — however
    often the sync runs; a subscriber who blocked the bot gets a link kept for /status and no send attempt."""
    clock.set(MIDNIGHT)
    sheet("Подписчики", SUBSCRIBERS)
    await run_job("carsbot.sync_subscribers_task")
    fake = telegram_fake(sandbox.sandbox)
    fake.set_chat_state(700000003, "blocked")
    closed = await run_job("carsbot.check_subscriptions_task")
    assert closed["result"]["access_removed"] == 2
    fake.banned.setdefault(CARSBOT_PRIVATE_CHANNEL, set()).add(700000001)   # as if the unban had not happened
    sheet("Подписчики", [SUBSCRIBERS[0], ["700000001", "ivan", "pro", "2026-04-01"],
                         ["700000003", "petr", "pro", "2026-05-01"]])
    first = await run_job("carsbot.sync_subscribers_task", _job_id="renewed")
    assert first["result"]["reinvited"] == {"links": 2, "sent": 1}
    for n in range(2):
        again = await run_job("carsbot.sync_subscribers_task", _job_id=f"again-{n}")
        assert again["result"]["reinvited"] == {"links": 0, "sent": 0}
    links = fake.invite_links
    assert [(link["chat_id"], link["member_limit"]) for link in links] == [(CARSBOT_PRIVATE_CHANNEL, 1)] * 2
    assert 700000001 not in fake.banned[CARSBOT_PRIVATE_CHANNEL]
    notice, invite = fake.messages(700000001)
    assert "закончилась" in notice.text and links[0]["invite_link"] in invite.text and "01.04.2026" in invite.text
    rows = {r["telegram_id"]: r for r in await res.db.fetch("SELECT * FROM carsbot_subscribers")}
    assert rows[700000001]["invited_at"] is not None and rows[700000001]["access_removed_at"] is None
    petr = rows[700000003]
    assert petr["invite_link"] == links[1]["invite_link"] and petr["invited_at"] is None and petr["blocked_at"]
    refused = [r for r in sandbox.sandbox.requests if r.path.endswith("/sendMessage") and r.status == 403]
    assert len(refused) == 1                  # the expiry notice only: a blocked subscriber is never retried
    # the next expiry closes again and clears the link; its renewal gets a fresh one
    clock.set(datetime(2026, 4, 2, 0, 0, tzinfo=UTC))
    await run_job("carsbot.check_subscriptions_task", _job_id="april")
    assert await res.db.fetchval("SELECT invite_link FROM carsbot_subscribers WHERE telegram_id = 700000001") is None
    sheet("Подписчики", [SUBSCRIBERS[0], ["700000001", "ivan", "pro", "2026-05-01"],
                         ["700000003", "petr", "pro", "2026-05-01"]])
    renewed = await run_job("carsbot.sync_subscribers_task", _job_id="may")
    assert renewed["result"]["reinvited"] == {"links": 1, "sent": 1} and len(fake.invite_links) == 3


async def test_the_invite_is_sent_again_only_when_telegram_surely_did_not_take_it(res, sandbox, sheet, clock,
                                                                                  run_job):
    clock.set(MIDNIGHT)
    sheet("Подписчики", SUBSCRIBERS[:2])
    await run_job("carsbot.sync_subscribers_task")
    await run_job("carsbot.check_subscriptions_task")
    sheet("Подписчики", [SUBSCRIBERS[0], ["700000001", "ivan", "pro", "2026-04-01"]])
    fake = telegram_fake(sandbox.sandbox)
    fake.set_chat_state(700000001, "missing")                    # 400: not delivered, released
    first = await run_job("carsbot.sync_subscribers_task", _job_id="renewed")
    assert first["result"]["reinvited"] == {"links": 1, "sent": 0, "retry": 1}
    fake.set_chat_state(700000001, "ok")
    second = await run_job("carsbot.sync_subscribers_task", _job_id="later")
    assert second["result"]["reinvited"] == {"links": 0, "sent": 1} and len(fake.invite_links) == 1
    assert len(fake.messages(700000001)) == 2                    # the expiry notice and one invite


async def test_access_removal_lost_on_the_wire_is_done_by_the_next_run(res, sandbox, sheet, clock, run_job, ctx):
    from adolfd.workers.carsbot.resources import carsbot_bot

    clock.set(MIDNIGHT)
    sheet("Подписчики", SUBSCRIBERS)
    await run_job("carsbot.sync_subscribers_task")
    # the first ban gets no answer in time (Telegram never acted on it)
    sandbox.sandbox.add_fault("telegram", "timeout", count=1, seconds=0.5, path="banChatMember")
    bot = carsbot_bot(ctx)
    bot.timeout = 0.2
    try:
        first = await run_job("carsbot.check_subscriptions_task")
    finally:
        bot.timeout = res.settings.http.timeout
    assert first["result"]["closed"] == 2 and first["result"]["access_removed"] == 1
    second = await run_job("carsbot.check_subscriptions_task", _job_id="again")
    assert second["result"]["access_removed"] == 1
    assert sandbox.sandbox.counter("members_banned", f"telegram:{CARSBOT_PRIVATE_CHANNEL}") == 2
    assert await res.db.fetchval("SELECT count(*) FROM carsbot_subscribers WHERE access_removed_at IS NULL "
                                 "AND closed_at IS NOT NULL") == 0
