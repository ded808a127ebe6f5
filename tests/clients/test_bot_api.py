"""The workers' Bot API sender: JSON requests, Telegram's answers mapped into the error tree (httpx.MockTransport),
the shared pacing (real Redis), and the calls the carsbot jobs make against the sandbox's fake Bot API."""
from __future__ import annotations

import json

import httpx
import pytest
from adolfd.clients.bot_api import (
    BotApi,
    BotApiError,
    BotBadRequest,
    BotBadResponse,
    BotForbidden,
    BotNetworkError,
    BotRetryAfter,
    BotServerError,
    BotUnauthorized,
)
from adolfd.errors import AuthError, BadResponse, RateLimited, Rejected, Unavailable, is_retryable
from adolfd.sandbox.accounts import CARSBOT_BOT
from adolfd.sandbox.telegram import telegram_fake
from adolfd.settings import RateLimit

TOKEN = "7000000002:sandbox-telegram-secret-part"
SECRET = "sandbox-telegram-secret-part"


def message(chat_id: int, text: str, message_id: int = 7) -> dict:
    return {"message_id": message_id, "date": 1, "chat": {"id": chat_id, "type": "channel"}, "text": text}


def bot_over(handler, settings, limiter=None) -> BotApi:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return BotApi(client, TOKEN, base_url="https://telegram.test/", limiter=limiter, settings=settings)


async def test_requests_are_json_to_the_token_path(settings):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True, "result": message(-100, "hi")})

    sent = await bot_over(handler, settings).send_photo(-100, "file-1", caption="<b>hi</b>", parse_mode="HTML")
    assert sent["message_id"] == 7
    [request] = seen
    assert request.method == "POST" and request.url.path == f"/bot{TOKEN}/sendPhoto"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"chat_id": -100, "photo": "file-1", "caption": "<b>hi</b>",
                                           "parse_mode": "HTML"}      # None values are left out


@pytest.mark.parametrize(("status", "body", "kind", "tree", "retryable"), [
    (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
           "parameters": {"retry_after": 7}}, BotRetryAfter, RateLimited, True),
    (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}, BotServerError, Unavailable,
     True),
    (502, "<html>502 Bad Gateway</html>", BotNetworkError, Unavailable, True),
    (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, BotUnauthorized, AuthError, False),
    (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}, BotForbidden,
     AuthError, False),
    (400, {"ok": False, "error_code": 400, "description": "Bad Request: message caption is too long"},
     BotBadRequest, Rejected, False),
    (404, {"ok": False, "error_code": 404, "description": "Not Found"}, BotBadRequest, Rejected, False),
    (200, "not json at all", BotBadResponse, BadResponse, False),
    (200, {"ok": True}, BotBadResponse, BadResponse, False),
    (200, {"ok": True, "result": True}, BotBadResponse, BadResponse, False),      # not a Message
    (200, ["ok"], BotBadResponse, BadResponse, False),
])
async def test_answers_map_into_the_error_tree(settings, status, body, kind, tree, retryable):
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    with pytest.raises(kind) as failure:
        await bot_over(handler, settings).send_message(5, "hi")
    error = failure.value
    assert isinstance(error, tree) and isinstance(error, BotApiError)
    assert is_retryable(error) is retryable
    assert error.api == "telegram" and error.method == "sendMessage"
    if isinstance(body, dict) and "description" in body:
        assert error.description == body["description"]
    if kind is BotRetryAfter:
        assert error.retry_after == 7.0


@pytest.mark.parametrize("raised", [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError])
async def test_no_answer_is_a_network_error_without_the_token(settings, raised):
    def handler(request: httpx.Request) -> httpx.Response:
        raise raised(f"failed talking to {request.url}", request=request)

    bot = bot_over(handler, settings)
    with pytest.raises(BotNetworkError) as failure:
        await bot.send_message(5, "hi")
    error = failure.value
    assert is_retryable(error) and raised.__name__ in error.description
    for text in (str(error), repr(error), repr(bot), str(error.__cause__), str(error.__context__)):
        assert SECRET not in text


def test_malformed_token_is_a_configuration_error(settings):
    for token in ("", "not-a-token", "abc:def", "123:", "123:has space"):
        with pytest.raises(LookupError, match="malformed"):
            BotApi(httpx.AsyncClient(), token, base_url="https://telegram.test", limiter=None, settings=settings)


async def test_pacing_spaces_messages_per_chat_and_obeys_429(res, monkeypatch):
    monkeypatch.setattr(res.settings, "rate_limits", {"telegram:chat": RateLimit(rate=5, burst=1)})
    answers = [httpx.Response(200, json={"ok": True, "result": message(5, "a")}),
               httpx.Response(429, json={"ok": False, "error_code": 429, "description": "Too Many Requests: retry "
                                         "after 2", "parameters": {"retry_after": 2}})]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    bot = bot_over(handler, res.settings, res.limiter)
    await bot.send_message(5, "a")
    with pytest.raises(BotRetryAfter):
        await bot.send_message(5, "b")               # waited 0.2 s for its slot, then Telegram said 429
    # the chat's slot is pushed out by retry_after for every process sharing this Redis
    wait = await res.limiter.reserve("telegram:5:chat", res.settings.rate_limit("telegram", "chat"))
    assert 1.5 < wait <= 2.3
    other = await res.limiter.reserve("telegram:6:chat", res.settings.rate_limit("telegram", "chat"))
    assert other == 0
    # the bot's overall slot is the same key aiogram's pacing uses (bot id from the token)
    assert await res.redis.exists(res.limiter._prefix + "telegram:7000000002:default")


async def test_the_carsbot_calls_against_the_sandbox(res, sandbox):
    fake = telegram_fake(sandbox.sandbox)
    channel, user = -1002000000001, 700000009
    bot = BotApi(res.http_for("telegram"), CARSBOT_BOT.token, base_url=res.settings.api_urls.telegram,
                 limiter=res.limiter, settings=res.settings)
    album = await bot.send_media_group(channel, [
        {"type": "photo", "media": "p1", "caption": "<b>Авто</b>", "parse_mode": "HTML"},
        {"type": "photo", "media": "p2"}])
    assert [m["message_id"] for m in album] == [m.message_id for m in fake.messages(channel)]
    first, second = fake.messages(channel)
    assert (first.photos, first.text, first.parse_mode, second.photos) == (["p1"], "<b>Авто</b>", "HTML", ["p2"])
    assert first.media_group_id == second.media_group_id
    assert await bot.ban_chat_member(channel, user) is True
    assert user in fake.banned[channel]
    assert await bot.unban_chat_member(channel, user, only_if_banned=True) is True
    assert user not in fake.banned.get(channel, set())
    link = await bot.create_chat_invite_link(channel, name="renewal", member_limit=1)
    assert link == fake.invite_links[-1]["invite_link"]
    fake.set_chat_state(user, "blocked")
    with pytest.raises(BotForbidden, match="blocked by the user"):
        await bot.send_message(user, "hello")
    fake.set_chat_state(user, "missing")
    with pytest.raises(BotBadRequest, match="chat not found"):
        await bot.send_message(user, "hello")
    with pytest.raises(BotBadRequest, match="can't parse entities"):
        await bot.send_message(channel, "<b>unclosed", parse_mode="HTML")


async def test_documents_are_multipart_uploads(settings):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True, "result": message(111, "")})

    sent = await bot_over(handler, settings).send_document(111, "report.csv", b"a,b\n1,2\n", mime_type="text/csv",
                                                           caption="Отчёт")
    assert sent["message_id"] == 7
    [request] = seen
    body = request.read()
    assert request.url.path == f"/bot{TOKEN}/sendDocument"
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="chat_id"\r\n\r\n111\r\n' in body and "Отчёт".encode() in body
    assert b'name="document"; filename="report.csv"' in body and b"a,b\n1,2\n" in body
