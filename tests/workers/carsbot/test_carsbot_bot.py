"""The carsbot bot driven through the sandbox Bot API: channel posts in (once, edits, albums, unknown channels),
subscribers' /start and /status, a blocked subscriber marked and not written to again."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from adolfd.sandbox.accounts import CARSBOT_BOT
from adolfd.sandbox.telegram import telegram_fake
from adolfd.settings import RateLimit
from adolfd.testing import until_polling
from adolfd.workers.carsbot.channel_bot import serve_carsbot_bot
from structlog.testing import capture_logs

from .conftest import AD, CHANNEL, OTHER_CHANNEL

UNKNOWN_CHANNEL = -1001000000099
SUBSCRIBER = 700000001


@pytest.fixture
def fake(sandbox):
    return telegram_fake(sandbox.sandbox)


@pytest.fixture
async def carsbot(res, sandbox, monkeypatch) -> AsyncIterator[asyncio.Event]:
    """The carsbot bot process polling the sandbox until the test ends; yields its stop event."""
    monkeypatch.setattr(res.settings.ops, "poll_timeout_seconds", 1)
    monkeypatch.setattr(res.settings, "rate_limits", {**res.settings.rate_limits,
                                                      "telegram:chat": RateLimit(rate=200, burst=200)})
    sandbox.sandbox.set_limit("telegram", "chat", 200, 200)
    assert res.settings.carsbot.bot_token.get_secret_value() == CARSBOT_BOT.token
    stop = asyncio.Event()
    task = asyncio.create_task(serve_carsbot_bot(res.settings, res, stop=stop))
    await until_polling(task, sandbox.sandbox, CARSBOT_BOT.token)
    yield stop
    stop.set()
    await asyncio.wait_for(task, 15)


@pytest.fixture
def post(sandbox) -> Callable[..., Awaitable[int]]:
    """`await post(CHANNEL, "text", photo=…, media_group_id=…, edit_of=…)` → the channel's message id."""

    async def send(chat_id: int, text: str | None = None, **kw: Any) -> int:
        async with httpx.AsyncClient(base_url=sandbox.url, timeout=5) as client:
            r = await client.post("/telegram/_sandbox/channel_posts", json={"chat_id": chat_id, "text": text, **kw})
        r.raise_for_status()
        return int(r.json()["message_id"])

    return send


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def queued_jobs(res) -> list[str]:
    return sorted(k.decode().removeprefix("arq:job:") for k in await res.redis.keys("arq:job:*"))


async def test_channel_posts_are_stored_once_and_edits_update_the_text(res, channels, carsbot, post, fake):
    await channels()
    update = fake.channel_post(CHANNEL, AD)
    first = update["channel_post"]["message_id"]
    await post(UNKNOWN_CHANNEL, AD)                          # not in the channels sheet: ignored
    await post(OTHER_CHANNEL, "Продам Kia Rio 2015, 700 тыс, Казань, 89001112233")
    await eventually(lambda: _count(res, 2))
    # the same update delivered twice (a poller restarted before confirming it): still one row, one job
    fake.inject(update={"channel_post": update["channel_post"]}, bot_id=CARSBOT_BOT.bot_id)
    await post(CHANNEL, AD + "\nТорг уместен", edit_of=first)
    await eventually(lambda: _edited(res, CHANNEL, first))
    rows = await res.db.fetch("SELECT channel_id, message_id, text, status FROM carsbot_posts ORDER BY id")
    assert [(r["channel_id"], r["message_id"]) for r in rows] == [(CHANNEL, first), (OTHER_CHANNEL, 1)]
    assert rows[0]["text"].endswith("Торг уместен") and rows[0]["status"] == "new"
    assert UNKNOWN_CHANNEL not in {r["channel_id"] for r in rows}
    jobs = await queued_jobs(res)
    assert jobs.count("carsbot:process:1") == 1 and any(j.startswith("carsbot:process:1:edit:") for j in jobs)


async def test_a_published_post_is_not_reprocessed_on_edit(res, channels, carsbot, post, run_job):
    await channels()
    first = await post(CHANNEL, AD)
    await eventually(lambda: _count(res, 1))
    await run_job("carsbot.process_post_task", post_id=1, _job_id="carsbot:process:1")
    await run_job("carsbot.publish_post_task", post_id=1, _job_id="carsbot:publish:1")
    assert await res.db.fetchval("SELECT status FROM carsbot_posts WHERE id = 1") == "published"
    with capture_logs() as logs:
        await post(CHANNEL, "Продано!", edit_of=first)

        async def edit_handled() -> bool:
            return any(e["event"] == "carsbot_post_ignored" and e["message_id"] == first for e in logs)

        await eventually(edit_handled)
    row = await res.db.fetchrow("SELECT text, status, edited_at FROM carsbot_posts WHERE id = 1")
    assert row["status"] == "published" and row["text"] == AD and row["edited_at"] is None
    assert not [j for j in await queued_jobs(res) if j.startswith("carsbot:process:1:")]


async def test_album_parts_become_one_post_with_every_photo(res, channels, carsbot, post, fake):
    await channels()
    ids = [await post(CHANNEL, AD if n == 0 else None, photo=f"photo-{n}", media_group_id="album-7")
           for n in range(3)]
    await post(CHANNEL, "after the album")
    await eventually(lambda: _count(res, 2))
    album = await res.db.fetchrow("SELECT * FROM carsbot_posts WHERE media_group_id = 'album-7'")
    await eventually(lambda: _photos(res, album["id"], 3))
    album = await res.db.fetchrow("SELECT * FROM carsbot_posts WHERE media_group_id = 'album-7'")
    assert album["message_id"] == ids[0] and album["text"] == AD
    assert [p["file_id"] for p in album["photos"]] == ["photo-0", "photo-1", "photo-2"]   # the largest size
    job = await res.redis.zscore("adolfd:carsbot:ai", f"carsbot:process:{album['id']}")
    assert job is not None, "processing is deferred by album_wait_seconds so every part is in"


async def test_start_and_status_in_private_chat(res, sheet, clock, carsbot, fake, run_job):
    clock.set(datetime(2026, 3, 2, 12, tzinfo=UTC))
    sheet("Подписчики", [["telegram_id", "username", "plan", "expires_at"],
                         [str(SUBSCRIBER), "ivan", "pro", "2026-03-31"]])
    assert (await run_job("carsbot.sync_subscribers_task"))["success"]
    await res.db.execute("UPDATE carsbot_subscribers SET blocked_at = now(), invite_link = 'https://t.me/+renewal1' "
                         "WHERE telegram_id = $1", SUBSCRIBER)     # renewed while blocking the bot
    fake.inject("/start", user_id=SUBSCRIBER, bot_id=CARSBOT_BOT.bot_id)
    fake.inject("/start", user_id=555, bot_id=CARSBOT_BOT.bot_id)
    fake.inject("/status", user_id=SUBSCRIBER, bot_id=CARSBOT_BOT.bot_id)
    await eventually(lambda: _sent(fake, SUBSCRIBER, 2))
    await eventually(lambda: _sent(fake, 555, 1))
    # updates are handled concurrently: tell the replies apart by what they say
    start, status = sorted((m.text for m in fake.messages(SUBSCRIBER)), key=lambda t: "Здравствуйте" not in t)
    assert "Здравствуйте" in start and "pro" in start and "31.03.2026" in status and "осталось дней: 30" in status
    assert "https://t.me/+renewal1" in status

    async def invited() -> bool:          # the link reached them here: the renewal sync will not send it again
        return await res.db.fetchval("SELECT invited_at IS NOT NULL FROM carsbot_subscribers WHERE telegram_id = $1",
                                     SUBSCRIBER)

    await eventually(invited)
    stranger = fake.messages(555)[0].text
    assert "555" in stranger and "администратору" in stranger
    # writing to the bot lifts the 403 mark
    assert await res.db.fetchval("SELECT blocked_at FROM carsbot_subscribers WHERE telegram_id = $1",
                                 SUBSCRIBER) is None
    # the admin bot's queue got none of these
    assert fake.updates == []


async def _count(res, n: int) -> bool:
    return await res.db.fetchval("SELECT count(*) FROM carsbot_posts") >= n


async def _edited(res, channel: int, message_id: int) -> bool:
    return await res.db.fetchval("SELECT edited_at IS NOT NULL FROM carsbot_posts WHERE channel_id = $1 AND "
                                 "message_id = $2", channel, message_id) is True


async def _photos(res, post_id: int, n: int) -> bool:
    return len(await res.db.fetchval("SELECT photos FROM carsbot_posts WHERE id = $1", post_id)) >= n


async def _sent(fake, chat_id: int, n: int) -> bool:
    return len(fake.messages(chat_id)) >= n


async def test_a_post_the_store_cannot_take_is_logged_whole_and_ingests_later(res, channels, ctx, monkeypatch,
                                                                             tmp_path):
    """Database down past the handler's retries: the post is logged as `carsbot_post_lost` with a Message JSON
    that `adolfd carsbot ingest` takes back (Telegram would not send the update again)."""
    import dataclasses
    import json

    from adolfd.process import db
    from adolfd.workers.carsbot import channel_bot, operator
    from aiogram.types import Message

    await channels()
    monkeypatch.setattr(channel_bot, "STORE_PAUSES", (0.01, 0.01))
    dead_pool = await db.create_pool(res.settings.database_url.get_secret_value(), 1)
    await dead_pool.close()
    down = dataclasses.replace(res, db=dead_pool)
    update = telegram_fake_update(res, photo=True)
    message = Message.model_validate(update)
    with capture_logs() as logs:
        await channel_bot.on_channel_post(message, down)
    retries = [e for e in logs if e["event"] == "carsbot_post_store_retry"]
    [lost] = [e for e in logs if e["event"] == "carsbot_post_lost"]
    assert len(retries) == 2 and lost["message"]["caption"] == AD
    assert await res.db.fetchval("SELECT count(*) FROM carsbot_posts") == 0
    path = tmp_path / "lost.jsonl"
    path.write_text(json.dumps(lost["message"], ensure_ascii=False) + "\n", encoding="utf-8")
    assert (await operator.ingest_file(ctx, path))["stored"] == 1
    row = await res.db.fetchrow("SELECT * FROM carsbot_posts")
    assert (row["channel_id"], row["message_id"], row["text"]) == (CHANNEL, 77, AD)
    assert [p["file_id"] for p in row["photos"]] == ["big"] and row["posted_at"] is not None


def telegram_fake_update(res, *, photo: bool) -> dict[str, Any]:
    chat = {"id": CHANNEL, "type": "channel", "title": "Авто Москва"}
    body: dict[str, Any] = {"message_id": 77, "sender_chat": chat, "chat": chat, "date": 1772355600}
    if photo:
        body |= {"caption": AD, "photo": [{"file_id": "small", "file_unique_id": "s", "width": 90, "height": 68},
                                          {"file_id": "big", "file_unique_id": "b", "width": 1280, "height": 960}]}
    else:
        body["text"] = AD
    return body
