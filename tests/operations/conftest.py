"""Operations fixtures: admin-bot settings, the bot running against the sandbox's fake Telegram, chat helpers."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from adolfd.admin.bot.app import serve_bot
from adolfd.sandbox.accounts import TELEGRAM_BOT
from adolfd.sandbox.telegram import SentMessage, telegram_fake
from adolfd.settings import AlertChatSettings, OpsSettings, RateLimit
from adolfd.testing import until_polling

ADMIN = 111                      # an operator (private chat id = user id)
SECOND_ADMIN = 112
STRANGER = 999
ADMIN_CHAT = -1001000000001      # role admin: every critical/high alert
MARKET_MANAGERS = -1001000000002  # role manager, brand ohana_market
KIDS_MANAGERS = -1001000000003    # role manager, brand ohana_kids
SENIOR = 222                     # role senior (a person's private chat)

ALERT_CHATS = [
    AlertChatSettings(chat_id=ADMIN_CHAT, role="admin", name="ops"),
    AlertChatSettings(chat_id=MARKET_MANAGERS, role="manager", brand="ohana_market"),
    AlertChatSettings(chat_id=KIDS_MANAGERS, role="manager", brand="ohana_kids"),
    AlertChatSettings(chat_id=SENIOR, role="senior"),
]


@pytest.fixture
def ops(res, monkeypatch):
    """`res` whose settings name two admins and four alert chats; delivery runs only when a test asks."""
    monkeypatch.setattr(res.settings, "ops", OpsSettings(
        bot_token=TELEGRAM_BOT.token, admin_ids=[ADMIN, SECOND_ADMIN], alert_chats=ALERT_CHATS,
        delivery_interval_seconds=3600, poll_timeout_seconds=1))
    return res


@pytest.fixture
def fast_chats(ops, sandbox, monkeypatch):
    """Lift the per-chat limits (ours and the fake's) for tests about commands, not pacing."""
    monkeypatch.setattr(ops.settings, "rate_limits", {**ops.settings.rate_limits,
                                                      "telegram:chat": RateLimit(rate=200, burst=200)})
    sandbox.sandbox.set_limit("telegram", "chat", 200, 200)
    return ops


@pytest.fixture
def fake(sandbox):
    return telegram_fake(sandbox.sandbox)


@pytest.fixture
async def bot(ops, sandbox, fake) -> AsyncIterator[asyncio.Event]:
    """The bot process (polling + alert delivery) running until the test ends; yields its stop event."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve_bot(ops.settings, ops, stop=stop))
    await until_polling(task, sandbox.sandbox)
    yield stop
    stop.set()
    await asyncio.wait_for(task, 15)


@pytest.fixture
def say(sandbox) -> Callable[..., Any]:
    """`await say("/status")`: a user writes to the bot (injected through the fake's test endpoint)."""

    async def send(text: str, user_id: int = ADMIN, username: str | None = "ops", chat_id: int | None = None) -> int:
        async with httpx.AsyncClient(base_url=sandbox.url, timeout=5) as client:
            r = await client.post("/telegram/_sandbox/updates",
                                  json={"text": text, "user_id": user_id, "username": username, "chat_id": chat_id})
        r.raise_for_status()
        return r.json()["update_id"]

    return send


@pytest.fixture
def replies(fake) -> Callable[..., Any]:
    """`await replies(chat_id, 2)`: the first n messages the bot sent to a chat, waiting up to `timeout`."""

    async def wait(chat_id: int = ADMIN, n: int = 1, timeout: float = 8.0) -> list[SentMessage]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(fake.messages(chat_id)) < n:
            if loop.time() > deadline:
                got = [m.text for m in fake.messages(chat_id)]
                raise AssertionError(f"expected {n} messages to {chat_id}, got {len(got)}: {got}")
            await asyncio.sleep(0.02)
        return fake.messages(chat_id)[:n]

    return wait


@pytest.fixture
def press(sandbox) -> Callable[..., Any]:
    """`await press("sup:confirm:SUP-…")`: a user presses an inline button (a callback_query update)."""

    async def run(data: str, user_id: int = ADMIN) -> None:
        user = {"id": user_id, "is_bot": False, "first_name": "ops", "username": f"u{user_id}"}
        update = {"callback_query": {
            "id": f"cb-{user_id}-{data}", "from": user, "chat_instance": "1", "data": data,
            "message": {"message_id": 1, "date": 1771214400, "chat": {"id": user_id, "type": "private"},
                        "text": "…"}}}
        async with httpx.AsyncClient(base_url=sandbox.url, timeout=5) as client:
            r = await client.post("/telegram/_sandbox/updates", json={"update": update})
        r.raise_for_status()

    return run
