"""The worker-side aiogram session over httpx (MockTransport) and the shared Telegram pacing (real Redis)."""
from __future__ import annotations

import json
from urllib.parse import parse_qs

import httpx
import pytest
from adolfd.clients.telegram import HttpxSession, TelegramPacing, chat_class, make_bot
from adolfd.settings import RateLimit
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

TOKEN = "7000000001:sandbox-telegram-adolfd-bot"
API = TelegramAPIServer.from_base("https://telegram.test")


def bot_over(handler, pacing: TelegramPacing | None = None) -> Bot:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    session = HttpxSession(client, api=API)
    if pacing:
        session.middleware(pacing)
    return Bot(TOKEN, session=session)


def message_result(chat_id: int, text: str) -> dict:
    return {"ok": True, "result": {"message_id": 7, "date": 1, "chat": {"id": chat_id, "type": "private"},
                                   "text": text}}


async def test_requests_use_aiogram_form_encoding():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=message_result(5, "hi"))

    bot = bot_over(handler)
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="ok", callback_data="a:1")]])
    sent = await bot.send_message(5, "hi", reply_markup=keyboard)
    assert sent.message_id == 7
    [request] = seen
    assert request.url.path == f"/bot{TOKEN}/sendMessage"
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    assert form["chat_id"] == "5" and form["text"] == "hi"
    assert json.loads(form["reply_markup"])["inline_keyboard"][0][0]["callback_data"] == "a:1"


async def test_network_errors_never_carry_the_token():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    with pytest.raises(TelegramNetworkError) as failure:
        await bot_over(handler).send_message(5, "hi")
    assert TOKEN not in str(failure.value) and "ConnectError" in str(failure.value)


async def test_timeouts_map_to_network_errors():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot_over(handler).get_me()


def test_chat_classes():
    assert chat_class(5) == "chat"
    assert chat_class(-1001) == "group" and chat_class("@channel") == "group"


def test_missing_or_malformed_token_is_a_configuration_error(settings):
    from pydantic import SecretStr

    for token, message in (("", "no Telegram bot token"), ("not-a-token", "malformed")):
        broken = settings.model_copy(update={"ops": settings.ops.model_copy(update={"bot_token": SecretStr(token)})})
        with pytest.raises(LookupError, match=message):
            make_bot(broken, HttpxSession(httpx.AsyncClient(), api=API))


async def test_pacing_spaces_messages_per_chat_and_obeys_429(res, monkeypatch):
    monkeypatch.setattr(res.settings, "rate_limits", {"telegram:chat": RateLimit(rate=5, burst=1)})
    answers = [httpx.Response(200, json=message_result(5, "a")),
               httpx.Response(429, json={"ok": False, "error_code": 429, "description": "Too Many Requests: retry "
                                         "after 2", "parameters": {"retry_after": 2}})]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    pacing = TelegramPacing(res.limiter, res.settings)
    bot = bot_over(handler, pacing)
    await bot.send_message(5, "a")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(5, "b")               # waited 0.2 s for its slot, then Telegram said 429
    # the chat's slot is pushed out by retry_after for every process sharing this Redis
    wait = await res.limiter.reserve("telegram:5:chat", res.settings.rate_limit("telegram", "chat"))
    assert 1.5 < wait <= 2.3
    # another chat is not held back
    other = await res.limiter.reserve("telegram:6:chat", res.settings.rate_limit("telegram", "chat"))
    assert other == 0
