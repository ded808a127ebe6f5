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
