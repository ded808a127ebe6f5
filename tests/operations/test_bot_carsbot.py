"""Carsbot's commands in the admin bot (adolfd.workers.carsbot.bot), driven through the sandbox's fake Telegram:
the same operator functions as `adolfd carsbot …`, refused to anyone but an admin."""
from __future__ import annotations

from datetime import timedelta

import pytest

from .conftest import ADMIN, STRANGER

pytestmark = pytest.mark.usefixtures("fast_chats")

CHANNEL = -1001000000001


async def _post(ops, status: str, text: str = "Продам Toyota Camry 2018, 2 150 000 ₽, Москва") -> int:
    now = ops.clock.now()
    await ops.db.execute("INSERT INTO carsbot_channels (channel_id, title, synced_at) VALUES ($1, 'Авто', $2) "
                         "ON CONFLICT DO NOTHING", CHANNEL, now)
    message_id = await ops.db.fetchval("SELECT count(*) + 1 FROM carsbot_posts")
    return await ops.db.fetchval(
        "INSERT INTO carsbot_posts (channel_id, source_key, message_id, text, status, received_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        CHANNEL, f"msg:{message_id}", message_id, text, status, now)


async def _status(ops, post_id: int) -> str:
    return await ops.db.fetchval("SELECT status FROM carsbot_posts WHERE id = $1", post_id)


async def test_a_stranger_cannot_touch_carsbot_posts(ops, bot, say, replies, fake):
    rejected = await _post(ops, "rejected")
    await say(f"/cars_skip {rejected}", user_id=STRANGER)
    await say(f"/cars_reprocess {rejected}", user_id=STRANGER)
    await say("/cars_sync", user_id=STRANGER)
    await say("/help", user_id=ADMIN)                # handled after the stranger's three
    await replies(ADMIN, 1)
    [refusal] = await replies(STRANGER, 1)
    assert "only answers the adolfd operators" in refusal.text and len(fake.messages(STRANGER)) == 1
    assert await _status(ops, rejected) == "rejected"
    assert await ops.redis.keys("arq:job:carsbot:*") == []


async def test_admin_lists_skips_reprocesses_publishes_and_syncs(ops, bot, say, replies):
    rejected = await _post(ops, "rejected", "Куплю Ладу Гранту до 500 тыс")
    ready = await _post(ops, "ready")
    await say("/cars_posts")
    [listing] = await replies(ADMIN, 1)
    assert "ready 1, rejected 1" in listing.text and f"#{rejected} rejected" in listing.text
    await say("/cars_posts sold")
    [_, refused] = await replies(ADMIN, 2)
    assert "unknown post status" in refused.text and "publish_unknown" in refused.text

    await say(f"/cars_skip {ready}")
    [*_, skipped] = await replies(ADMIN, 3)
    assert f"post #{ready} skipped" in skipped.text and await _status(ops, ready) == "skipped"
    await say(f"/cars_reprocess {rejected}")
    [*_, again] = await replies(ADMIN, 4)
    assert "pipeline again" in again.text and await _status(ops, rejected) == "new"
    assert [k for k in await ops.redis.keys("arq:job:carsbot:process:*")]
    await say(f"/cars_publish {rejected}")
    [*_, not_ready] = await replies(ADMIN, 5)
    assert "❌" in not_ready.text and "not ready" in not_ready.text
    await say("/cars_publish x")
    [*_, usage] = await replies(ADMIN, 6)
    assert usage.text == "Usage: /cars_publish POST"

    await say("/cars_sync")
    [*_, synced] = await replies(ADMIN, 7)
    assert "sync_channels_task" in synced.text and "sync_subscribers_task" in synced.text
    assert await ops.redis.zcard("adolfd:carsbot:sheets") == 2


async def test_admin_sees_subscriptions_expiring_this_week(ops, bot, say, replies):
    today = ops.clock.now().astimezone(ops.settings.tz).date()
    for telegram_id, name, days in ((700000001, "ivan", 2), (700000002, "olga", 30)):
        await ops.db.execute(
            "INSERT INTO carsbot_subscribers (telegram_id, username, plan, expires_on, synced_at) "
            "VALUES ($1, $2, 'pro', $3, now())", telegram_id, name, today + timedelta(days=days))
    await say("/cars_expiring")
    [reply] = await replies(ADMIN, 1)
    assert "700000001 @ivan · pro" in reply.text and "700000002" not in reply.text
