"""The Telegram Bot API for worker processes: a few methods over the process's shared httpx client.

Worker jobs only send (posts, notices, invite links, bans); they never poll. aiogram's `Bot` costs ~155 MiB and
~4 s of imports (its pydantic models), so the workers use this small sender, and aiogram stays in the
long-polling bot processes (`adolfd bot`, `adolfd carsbot-bot`) and alert delivery.

Requests are JSON bodies to `<api_urls.telegram>/bot<token>/<method>` (the real server or the sandbox), paced
like aiogram's (`pace_message`: the shared per-chat and per-bot slots, a 429 pushes the chat's slot out by its
`retry_after`). Telegram's answers map into adolfd's error tree, so `is_retryable` decides for a job that lets
one through:

    BotApiError (ApiError, api "telegram"; `description` is Telegram's words)
     ├── BotRetryAfter    429, `retry_after` seconds          RateLimited  → retried
     ├── BotServerError   5xx with a Bot API error body       Unavailable  → retried
     ├── BotNetworkError  no answer (timeout, connection, a   Unavailable  → retried
     │                    proxy's 5xx page)
     ├── BotBadResponse   an answer that is not the Bot API's BadResponse  → not retried
     ├── BotUnauthorized  401: the token is wrong             AuthError    → not retried
     ├── BotForbidden     403: blocked by the user, not admin AuthError    → not retried
     └── BotBadRequest    400 and other 4xx                   Rejected     → not retried

The token is part of the URL path: no error, log line or repr here carries the URL.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

from adolfd.clients.ratelimit import RateLimiter
from adolfd.errors import ApiError, AuthError, BadResponse, RateLimited, Rejected, Unavailable
from adolfd.settings import Settings

if TYPE_CHECKING:
    from adolfd.engine.context import Resources

PACED_PREFIXES = ("send", "copy", "forward")


class BotApiError(ApiError):
    """A Bot API call failed; `method` is the Bot API method, `description` what Telegram (or the wire) said."""

    def __init__(self, method: str, description: str, *, status: int | None = None) -> None:
        ApiError.__init__(self, f"{method}: {description}", api="telegram", status=status)
        self.method = method
        self.description = description


class BotRetryAfter(BotApiError, RateLimited):
    retry_after: float          # always given by Telegram's `parameters` (1 s if it left it out)

    def __init__(self, method: str, description: str, *, retry_after: float, status: int | None = 429) -> None:
        BotApiError.__init__(self, method, description, status=status)
        self.retry_after = retry_after


class BotServerError(BotApiError, Unavailable):
    """Telegram answered 5xx: the call did not happen."""


class BotNetworkError(BotApiError, Unavailable):
    """No answer (timeout, connection lost): Telegram may or may not have acted."""


class BotBadResponse(BotApiError, BadResponse):
    """An answer that is not a Bot API reply (not JSON, no `ok`, no `result`): Telegram may have acted."""


class BotUnauthorized(BotApiError, AuthError):
    """401: the bot token is wrong or revoked."""


class BotForbidden(BotApiError, AuthError):
    """403: the user blocked the bot, or the bot is not allowed in the chat."""


class BotBadRequest(BotApiError, Rejected):
    """400 (and other 4xx): the request cannot succeed as it is (bad text, chat not found, …)."""


def chat_class(chat_id: int | str) -> str:
    """Groups, supergroups and channels (negative ids, @usernames) share the stricter group limit."""
    return "group" if isinstance(chat_id, str) or chat_id < 0 else "chat"


def bot_id(token: str) -> int:
    """The bot's id, the part of the token before the colon (what aiogram's `Bot.id` is)."""
    head, sep, secret = token.partition(":")
    if not sep or not head.isdigit() or not secret or any(c.isspace() for c in token):
        raise LookupError("the configured Telegram bot token is malformed (expected <bot id>:<secret>)")
    return int(head)


def chat_key(chat_id: int | str) -> str:
    return f"telegram:{chat_id}:{chat_class(chat_id)}"


async def pace_message(limiter: RateLimiter, settings: Settings, bot: int, chat_id: int | str) -> None:
    """Wait for the chat's slot and the bot's overall slot, shared by every process on this Redis."""
    await limiter.acquire(chat_key(chat_id), settings.rate_limit("telegram", chat_class(chat_id)))
    await limiter.acquire(f"telegram:{bot}:default", settings.rate_limit("telegram", "default"))


def refusal(method: str, status: int, body: dict[str, Any]) -> BotApiError:
    """The error for a Bot API `{"ok": false, "error_code", "description", "parameters"}` answer."""
    code = body["error_code"] if isinstance(body.get("error_code"), int) else status
    description = str(body.get("description") or f"error {code}")
    parameters: dict[str, Any] = body["parameters"] if isinstance(body.get("parameters"), dict) else {}
    if code == 429:
        retry_after = parameters.get("retry_after")
        return BotRetryAfter(method, description, status=code,
                             retry_after=float(retry_after) if isinstance(retry_after, int | float) else 1.0)
    if code >= 500:
        return BotServerError(method, description, status=code)
    if code == 401:
        return BotUnauthorized(method, description, status=code)
    if code == 403:
        return BotForbidden(method, description, status=code)
    return BotBadRequest(method, description, status=code)


class BotApi:
    """One bot's sender over a shared httpx client. Methods return the Bot API's `result` as plain JSON."""

    def __init__(self, client: httpx.AsyncClient, token: str, *, base_url: str, limiter: RateLimiter | None,
                 settings: Settings, timeout: float | None = None) -> None:
        self.id = bot_id(token)
        self._client = client
        self._token = token
        self._base = base_url.rstrip("/")
        self.limiter = limiter
        self.settings = settings
        self.timeout = settings.http.timeout if timeout is None else timeout

    def __repr__(self) -> str:
        return f"BotApi(bot={self.id})"

    async def call(self, method: str, params: dict[str, Any], files: dict[str, tuple[str, bytes, str]] | None = None
                   ) -> Any:
        """POST one method; messages wait for their pacing slots first; a 429 penalises the chat's slot.
        `files` (field -> (file name, bytes, MIME type)) makes it a multipart upload."""
        body = {key: value for key, value in params.items() if value is not None}
        chat_id: int | str | None = body.get("chat_id")
        if self.limiter is None or chat_id is None or not method.startswith(PACED_PREFIXES):
            return await self._post(method, body, files)
        await pace_message(self.limiter, self.settings, self.id, chat_id)
        try:
            return await self._post(method, body, files)
        except BotRetryAfter as exc:
            await self.limiter.penalise(chat_key(chat_id), exc.retry_after,
                                        self.settings.rate_limit("telegram", chat_class(chat_id)))
            raise

    async def _post(self, method: str, body: dict[str, Any], files: dict[str, tuple[str, bytes, str]] | None) -> Any:
        url = f"{self._base}/bot{self._token}/{method}"
        payload: dict[str, Any] = {"json": body}
        if files:       # form fields are strings; objects and numbers JSON-encoded, as the Bot API reads them
            payload = {"data": {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()},
                       "files": files}
        # httpx puts the URL, and so the token, into its errors: only their class names go further, raised
        # outside the `except` so the httpx error is not even the new one's context
        response: httpx.Response | None = None
        try:
            response = await self._client.post(url, timeout=self.timeout, **payload)
        except httpx.TimeoutException as exc:
            lost = f"no answer in time ({type(exc).__name__})"
        except httpx.HTTPError as exc:
            lost = f"no answer ({type(exc).__name__})"
        if response is None:
            raise BotNetworkError(method, lost)
        try:
            answer = json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            if response.status_code >= 500:       # a proxy's page (502, 504): the Bot API behind it may have acted
                raise BotNetworkError(method, f"HTTP {response.status_code} without a Bot API answer",
                                      status=response.status_code)
            raise BotBadResponse(method, f"HTTP {response.status_code}, not a Bot API answer",
                                 status=response.status_code)
        if not answer["ok"]:
            raise refusal(method, response.status_code, answer)
        if "result" not in answer:
            raise BotBadResponse(method, "ok without a result", status=response.status_code)
        return answer["result"]

    async def _message(self, method: str, params: dict[str, Any],
                       files: dict[str, tuple[str, bytes, str]] | None = None) -> dict[str, Any]:
        result = await self.call(method, params, files)
        if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
            raise BotBadResponse(method, "the result is not a Message")
        return result

    async def send_message(self, chat_id: int | str, text: str, *, parse_mode: str | None = None) -> dict[str, Any]:
        return await self._message("sendMessage", {"chat_id": chat_id, "text": text, "parse_mode": parse_mode})

    async def send_photo(self, chat_id: int | str, photo: str, *, caption: str | None = None,
                         parse_mode: str | None = None) -> dict[str, Any]:
        """`photo` is a file id or an HTTP URL (worker jobs never upload bytes)."""
        return await self._message("sendPhoto", {"chat_id": chat_id, "photo": photo, "caption": caption,
                                                 "parse_mode": parse_mode})

    async def send_document(self, chat_id: int | str, filename: str, content: bytes, *, mime_type: str,
                            caption: str | None = None) -> dict[str, Any]:
        """Upload one file as a document (multipart, as the Bot API requires for new files)."""
        return await self._message("sendDocument", {"chat_id": chat_id, "caption": caption},
                                   files={"document": (filename, content, mime_type)})

    async def send_media_group(self, chat_id: int | str, media: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`media`: InputMediaPhoto objects (`{"type": "photo", "media": <file id>, "caption"?, "parse_mode"?}`)."""
        result = await self.call("sendMediaGroup", {"chat_id": chat_id, "media": media})
        if not isinstance(result, list) or not all(isinstance(m, dict) and isinstance(m.get("message_id"), int)
                                                   for m in result):
            raise BotBadResponse("sendMediaGroup", "the result is not a list of Messages")
        return result

    async def ban_chat_member(self, chat_id: int | str, user_id: int) -> bool:
        return bool(await self.call("banChatMember", {"chat_id": chat_id, "user_id": user_id}))

    async def unban_chat_member(self, chat_id: int | str, user_id: int, *, only_if_banned: bool = False) -> bool:
        return bool(await self.call("unbanChatMember", {"chat_id": chat_id, "user_id": user_id,
                                                        "only_if_banned": only_if_banned}))

    async def create_chat_invite_link(self, chat_id: int | str, *, name: str | None = None,
                                      member_limit: int | None = None) -> str:
        """The new link's URL (`ChatInviteLink.invite_link`)."""
        result = await self.call("createChatInviteLink", {"chat_id": chat_id, "name": name,
                                                          "member_limit": member_limit})
        if not isinstance(result, dict) or not isinstance(result.get("invite_link"), str):
            raise BotBadResponse("createChatInviteLink", "the result is not a ChatInviteLink")
        return result["invite_link"]


def worker_bot(res: Resources, token: str, purpose: str) -> BotApi:
    """The `purpose` bot of this worker process, built once over the shared httpx client and the shared pacing."""
    bot = res.bot_apis.get(purpose)
    if bot is None or bot._token != token:
        bot = res.bot_apis[purpose] = BotApi(res.http_for("telegram"), token,
                                             base_url=res.settings.api_urls.telegram, limiter=res.limiter,
                                             settings=res.settings)
    return bot


def admin_bot(res: Resources) -> BotApi:
    """The admin bot (`ops.bot_token`) for jobs that deliver to an operator's chat (reports)."""
    token = res.settings.ops.bot_token.get_secret_value()
    if not token:
        raise LookupError("no Telegram bot token configured (ADOLFD_OPS__BOT_TOKEN or its credential file)")
    return worker_bot(res, token, "admin")
