"""Fake Telegram Bot API over real HTTP, driven by aiogram itself (multipart) and by plain JSON/query calls."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from adolfd.sandbox import RunningSandbox
from adolfd.sandbox.accounts import TELEGRAM_BOT
from adolfd.sandbox.telegram import telegram_fake
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)

ADMIN = 111
GROUP = -1001234567890


def make_bot(running: RunningSandbox, token: str = TELEGRAM_BOT.token) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(running.api_url("telegram")))
    return Bot(token, session=session)


@pytest.fixture
async def bot(running: RunningSandbox) -> AsyncIterator[Bot]:
    b = make_bot(running)
    yield b
    await b.session.close()


def api(running: RunningSandbox, method: str) -> str:
    return f"{running.api_url('telegram')}/bot{TELEGRAM_BOT.token}/{method}"


async def test_get_me_through_aiogram(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == TELEGRAM_BOT.bot_id and me.is_bot and me.username == TELEGRAM_BOT.username


async def test_wrong_token_is_unauthorized(running: RunningSandbox) -> None:
    wrong = make_bot(running, token="7000000001:not-the-token")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await wrong.get_me()
    finally:
        await wrong.session.close()


async def test_unknown_method_is_404(running: RunningSandbox) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.post(api(running, "sendTelepathy"), json={})
    assert r.status_code == 404
    assert r.json() == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}


async def test_send_message_is_recorded_and_counted(bot: Bot, running: RunningSandbox) -> None:
    sent = await bot.send_message(ADMIN, "<b>queues</b> ok &amp; fine", parse_mode="HTML")
    assert sent.chat.id == ADMIN and sent.message_id == 1
    assert sent.text == "queues ok & fine"           # what the reader sees
    again = await bot.send_message(ADMIN, "second")
    assert again.message_id == 2
    fake = telegram_fake(running.sandbox)
    assert [m.text for m in fake.messages(ADMIN)] == ["<b>queues</b> ok &amp; fine", "second"]
    assert fake.messages(ADMIN)[0].parse_mode == "HTML"
    assert running.sandbox.counter("messages_sent", f"telegram:{ADMIN}") == 2


async def test_json_body_and_query_string_work_too(running: RunningSandbox, control: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient() as client:
        by_json = await client.post(api(running, "sendMessage"), json={"chat_id": ADMIN, "text": "json"})
        by_query = await client.get(api(running, "sendmessage"), params={"chat_id": str(ADMIN), "text": "query"})
    assert by_json.json()["ok"] and by_query.json()["ok"]
    listed = (await control.get("/telegram/_sandbox/messages", params={"chat_id": ADMIN})).json()["messages"]
    assert [m["text"] for m in listed] == ["json", "query"]


@pytest.mark.parametrize(
    ("text", "parse_mode", "error"),
    [
        ("a <b>b", "HTML", "Can't find end tag"),
        ("profit < cost", "HTML", 'Unexpected "<"'),
        ("<div>x</div>", "HTML", 'Unsupported start tag "div"'),
        ("AT&T", "HTML", "can't parse entities"),
        ("", None, "message text is empty"),
        ("x" * 4097, None, "message is too long"),
    ],
)
async def test_bad_text_is_rejected(bot: Bot, running: RunningSandbox, text: str, parse_mode: str | None,
                                    error: str) -> None:
    with pytest.raises(TelegramBadRequest, match=error):
        await bot.send_message(ADMIN, text, parse_mode=parse_mode)
    assert telegram_fake(running.sandbox).messages() == []


async def test_length_counts_visible_characters(bot: Bot) -> None:
    # 4096 visible characters, more than 4096 bytes of markup: accepted, as Telegram counts after parsing
    text = "<b>" + "&lt;" * 4096 + "</b>"
    sent = await bot.send_message(ADMIN, text, parse_mode="HTML")
    assert sent.text == "<" * 4096


async def test_blocked_and_missing_chats(bot: Bot, running: RunningSandbox, control: httpx.AsyncClient) -> None:
    await control.post("/telegram/_sandbox/chats", json={"chat_id": 222, "state": "blocked"})
    await control.post("/telegram/_sandbox/chats", json={"chat_id": 333, "state": "missing"})
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.send_message(222, "hi")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(333, "hi")
    await control.post("/telegram/_sandbox/chats", json={"chat_id": 222, "state": "ok"})
    assert (await bot.send_message(222, "hi")).chat.id == 222


async def test_per_chat_limit_answers_429_with_retry_after(bot: Bot, running: RunningSandbox) -> None:
    # the sandbox clock is frozen: buckets refill only when the test advances it
    for n in range(3):                                  # a short burst is allowed
        await bot.send_message(ADMIN, f"burst {n}")
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(ADMIN, "one too many")
    assert refused.value.retry_after == 1
    await bot.send_message(ADMIN + 1, "another chat is not limited by this one")
    running.sandbox.advance(1.0)
    await bot.send_message(ADMIN, "after a second")
    assert running.sandbox.counter("messages_sent", f"telegram:{ADMIN}") == 4
    assert running.sandbox.counter("rate_limited", "telegram:chat") == 1


async def test_a_429_fault_answers_in_telegrams_words(running: RunningSandbox) -> None:
    """An injected `429` is Telegram's own refusal: its body, `retry_after` in whole seconds, nothing sent."""
    running.sandbox.add_fault("telegram", "429", count=1, path="sendMessage", seconds=2.5)
    async with httpx.AsyncClient() as client:
        refused = await client.post(api(running, "sendMessage"), json={"chat_id": ADMIN, "text": "hi"})
        sent = await client.post(api(running, "sendMessage"), json={"chat_id": ADMIN, "text": "hi"})
    assert refused.status_code == 429
    assert refused.json() == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
                              "parameters": {"retry_after": 3}}
    assert sent.json()["ok"] is True
    assert running.sandbox.counter("messages_sent", f"telegram:{ADMIN}") == 1


async def test_group_limit_is_twenty_a_minute(bot: Bot, running: RunningSandbox) -> None:
    for n in range(5):
        await bot.send_message(GROUP, f"alert {n}")
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(GROUP, "over")
    assert refused.value.retry_after == 3               # one message per 3 s on average
    running.sandbox.advance(3.0)
    await bot.send_message(GROUP, "again")


async def test_long_poll_wakes_on_injected_update_and_offset_confirms(
        bot: Bot, running: RunningSandbox, control: httpx.AsyncClient) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    assert not poll.done()                              # waiting: nothing to deliver yet
    r = await control.post("/telegram/_sandbox/updates", json={"text": "/status", "user_id": ADMIN,
                                                             "username": "ops"})
    assert r.status_code == 200
    updates = await asyncio.wait_for(poll, 2)
    assert [u.update_id for u in updates] == [r.json()["update_id"]]
    message = updates[0].message
    assert message.text == "/status" and message.from_user.id == ADMIN and message.chat.id == ADMIN
    assert message.entities[0].type == "bot_command"
    # not confirmed yet: the same update comes again; confirmed with offset: gone
    assert len(await bot.get_updates(timeout=0)) == 1
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == []


async def test_second_poller_ends_the_first_with_conflict(running: RunningSandbox) -> None:
    first, second = make_bot(running), make_bot(running)
    try:
        waiting = asyncio.create_task(first.get_updates(timeout=10))
        await asyncio.sleep(0.1)
        other = asyncio.create_task(second.get_updates(timeout=1))
        with pytest.raises(TelegramConflictError, match="only one bot instance"):
            await asyncio.wait_for(waiting, 2)
        assert await other == []
    finally:
        await first.session.close()
        await second.session.close()


async def test_reset_ends_a_waiting_poll_quietly(bot: Bot, running: RunningSandbox) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    running.sandbox.reset()
    assert await asyncio.wait_for(poll, 2) == []


async def test_commands_and_webhook(bot: Bot) -> None:
    from aiogram.types import BotCommand

    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.set_my_commands([BotCommand(command="status", description="system at a glance")])
    assert [c.command for c in await bot.get_my_commands()] == ["status"]


async def test_injection_needs_text(control: httpx.AsyncClient) -> None:
    r = await control.post("/telegram/_sandbox/updates", json={"user_id": ADMIN})
    assert r.status_code == 400 and "text" in r.json()["error"]


async def test_two_bots_poll_their_own_updates(running: RunningSandbox, control: httpx.AsyncClient) -> None:
    from adolfd.sandbox.accounts import CARSBOT_BOT

    admin, cars = make_bot(running), make_bot(running, CARSBOT_BOT.token)
    try:
        assert (await cars.get_me()).username == CARSBOT_BOT.username
        waiting = asyncio.create_task(admin.get_updates(timeout=1))      # no conflict between two tokens
        r = await control.post("/telegram/_sandbox/updates", json={"text": "/status", "user_id": ADMIN,
                                                                 "bot": "carsbot"})
        [update] = await cars.get_updates(timeout=2)
        assert update.update_id == r.json()["update_id"] and update.message.text == "/status"
        assert await waiting == []
        r = await control.post("/telegram/_sandbox/updates", json={"text": "/x", "bot": "nobody"})
        assert r.status_code == 400 and "admin, carsbot" in r.json()["error"]
    finally:
        await admin.session.close()
        await cars.session.close()


async def test_channel_posts_arrive_as_real_updates(running: RunningSandbox, control: httpx.AsyncClient) -> None:
    from adolfd.sandbox.accounts import CARSBOT_BOT

    cars = make_bot(running, CARSBOT_BOT.token)
    try:
        first = await control.post("/telegram/_sandbox/channel_posts",
                                   json={"chat_id": GROUP, "text": "Продам", "photo": "ph-1", "media_group_id": "g1"})
        await control.post("/telegram/_sandbox/channel_posts",
                           json={"chat_id": GROUP, "text": "Продано", "edit_of": first.json()["message_id"]})
        assert (await control.post("/telegram/_sandbox/channel_posts", json={"chat_id": ADMIN, "text": "x"})
                ).status_code == 400                                        # a channel id is negative
        post, edit = await cars.get_updates(allowed_updates=["channel_post", "edited_channel_post"], timeout=1)
        assert post.channel_post is not None and edit.edited_channel_post is not None
        message = post.channel_post
        assert message.chat.type == "channel" and message.sender_chat.id == GROUP and message.caption == "Продам"
        assert message.media_group_id == "g1" and [p.file_id for p in message.photo] == ["ph-1-s", "ph-1"]
        assert edit.edited_channel_post.message_id == message.message_id and edit.edited_channel_post.edit_date
    finally:
        await cars.session.close()


async def test_create_invite_link_and_unban(bot: Bot, running: RunningSandbox) -> None:
    link = await bot.create_chat_invite_link(GROUP, name="renewal 42", member_limit=1)
    assert link.invite_link.startswith("https://t.me/+") and link.member_limit == 1 and not link.is_revoked
    assert link.creator.id == TELEGRAM_BOT.bot_id
    with pytest.raises(TelegramBadRequest, match="member limit"):
        await bot.create_chat_invite_link(GROUP, member_limit=1, creates_join_request=True)
    with pytest.raises(TelegramBadRequest, match="invalid member limit"):
        await bot.create_chat_invite_link(GROUP, member_limit=100000)
    await bot.ban_chat_member(GROUP, 42)
    await bot.unban_chat_member(GROUP, 42, only_if_banned=True)
    await bot.unban_chat_member(GROUP, 42, only_if_banned=True)            # not banned any more: nothing
    assert running.sandbox.counter("members_unbanned", f"telegram:{GROUP}") == 1
    assert running.sandbox.counter("invite_links_created", f"telegram:{GROUP}") == 1
