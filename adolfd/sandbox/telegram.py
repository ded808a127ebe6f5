"""Fake Telegram Bot API (`https://api.telegram.org`), the part adolfd's admin bot, alert delivery and the
carsbot bot use.

Served under `/telegram` exactly as the real server shapes it (docs/external-apis.md "Telegram Bot API"):
`POST|GET /telegram/bot<token>/<method>` with parameters as query string, urlencoded or multipart form
(aiogram's encoding: nested objects JSON-encoded per field) or a JSON body; answers
`{"ok": true, "result": …}` or `{"ok": false, "error_code": N, "description": "…", "parameters": {…}}`.

- `getMe`, `getUpdates` (long polling with `offset`/`limit`/`timeout`/`allowed_updates`; a second poller ends the
  first with 409 Conflict, as Telegram does), `deleteWebhook`, `getWebhookInfo`, `setMyCommands`,
  `getMyCommands`, `deleteMyCommands`, `sendMessage` (text ≤ 4096 characters after entity parsing; HTML parse
  mode checked for unsupported or unbalanced tags and bare `&`), `sendPhoto` and `sendMediaGroup` by file id
  (captions ≤ 1024 characters, albums of 2–10 photos), `banChatMember` / `unbanChatMember`,
  `createChatInviteLink` (a `ChatInviteLink`; `member_limit` 1–99999, not together with `creates_join_request`).
- Two bots (`accounts.TELEGRAM_BOTS`: the admin bot and the carsbot bot), each with its own token, identity
  (`getMe`) and update queue: each polls its own updates, as on Telegram. Sent messages are one log.
- Limits from Telegram's Bot FAQ: about one message per second per chat (short bursts allowed), 20 messages
  per minute per group, about 30 messages per second overall; over a limit → 429 with
  `parameters.retry_after`. An injected `429` fault is answered the same way (`too_many_requests`).
- Test side, under `/telegram/_sandbox/`: `POST updates` injects an update (`{"text", "user_id", "chat_id",
  "username"}` or a whole `{"update": {…}}`; `"bot": "carsbot"` for the carsbot bot's queue) and wakes a
  waiting `getUpdates`; `POST channel_posts` posts to a channel the carsbot bot administers
  (`{"chat_id", "text", "photo", "media_group_id", "edit_of"}` → a `channel_post` / `edited_channel_post` update
  with a real `Message`); `GET messages?chat_id=` lists what was sent; `POST chats` makes a chat `blocked` (403)
  or `missing` (400) or `ok` again. In-process tests use `telegram_fake(sandbox)` for the same.

Every sent message is counted as a side effect under `messages_sent` / `telegram:<chat_id>`.
"""
from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

from adolfd.sandbox.accounts import CARSBOT_BOT, TELEGRAM_BOT, TELEGRAM_BOTS, TelegramBotAccount
from adolfd.sandbox.core import STORM_KEY, ApiError, Caller, Sandbox, endpoint

API = "telegram"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_POLL_TIMEOUT = 50.0          # Telegram holds a long poll for at most about 50 s

# endpoint classes of the sandbox gates: (rate per second, burst)
CHAT, GROUP, GLOBAL = "chat", "group", "global"
DEFAULT_LIMITS = {
    CHAT: (1.0, 3.0),            # "avoid sending more than one message per second … short bursts" (Bot FAQ)
    GROUP: (20.0 / 60.0, 5.0),   # "not able to send more than 20 messages per minute to the same group"
    GLOBAL: (30.0, 30.0),        # "will not allow more than 30 messages per second or so"
}

HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "tg-emoji",
             "code", "pre", "blockquote"}
_INT_FIELDS = {"chat_id", "offset", "limit", "timeout", "message_id", "message_thread_id", "user_id",
               "from_chat_id", "reply_to_message_id", "member_limit", "expire_date"}
_BOOL_FIELDS = {"only_if_banned", "drop_pending_updates", "disable_notification", "protect_content",
                "allow_sending_without_reply", "disable_web_page_preview", "creates_join_request"}
_JSON_FIELDS = {"media", "allowed_updates", "reply_markup", "reply_parameters", "link_preview_options", "entities",
                "commands", "scope"}


_BOTS_BY_ID = {bot.bot_id: bot for bot in TELEGRAM_BOTS.values()}
_CALLER: ContextVar[int] = ContextVar("telegram_fake_caller", default=TELEGRAM_BOT.bot_id)   # the calling bot


def error_body(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


class TelegramError(ApiError):
    """A Bot API refusal: `{"ok": false, "error_code", "description"}`, with `parameters` (retry_after) if any."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        body = error_body(code, description)
        if parameters:
            body["parameters"] = parameters
        super().__init__(code, description, body=body)
        self.code = code
        self.description = description
        self.parameters = parameters


def too_many_requests(wait: float) -> TelegramError:
    """Telegram's 429: `"Too Many Requests: retry after N"` with `parameters.retry_after` N, whole seconds ≥ 1."""
    retry_after = max(1, math.ceil(wait))
    return TelegramError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


@dataclass
class SentMessage:
    message_id: int
    chat_id: int
    text: str
    date: int
    parse_mode: str | None = None
    reply_markup: Any = None
    method: str = "sendMessage"
    photos: list[str] = field(default_factory=list)        # file ids of sendPhoto / sendMediaGroup
    media_group_id: str | None = None
    document: dict[str, Any] | None = None                 # sendDocument: file_name, mime_type, file_size, content


@dataclass
class _Feed:
    """One bot's pending updates and its long poll (each token polls its own, as on Telegram)."""

    updates: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    poll_generation: int = 0


@dataclass
class TelegramFake:
    """State of the fake Bot API of one sandbox: pending updates, sent messages, chat states, commands."""

    sandbox: Sandbox
    feeds: dict[int, _Feed] = field(default_factory=dict)          # bot id -> its updates
    sent: list[SentMessage] = field(default_factory=list)
    chat_states: dict[int, str] = field(default_factory=dict)      # chat id -> blocked | missing
    banned: dict[int, set[int]] = field(default_factory=dict)      # chat id -> banned user ids
    invite_links: list[dict[str, Any]] = field(default_factory=list)   # ChatInviteLink objects, with chat_id
    commands: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1
    callback_answers: list[dict[str, Any]] = field(default_factory=list)
    _message_ids: dict[int, int] = field(default_factory=dict)
    _reset_epoch: int = 0

    def feed(self, bot_id: int | None = None) -> _Feed:
        return self.feeds.setdefault(bot_id or _CALLER.get(), _Feed())

    @property
    def updates(self) -> list[dict[str, Any]]:
        """The admin bot's pending updates."""
        return self.feed(TELEGRAM_BOT.bot_id).updates

    def reset(self) -> None:
        for feed in self.feeds.values():
            feed.updates.clear()
            feed.arrived.set()
        self.sent.clear()
        self.chat_states.clear()
        self.banned.clear()
        self.invite_links.clear()
        self.commands.clear()
        self.callback_answers.clear()
        self.next_update_id = 1
        self._message_ids.clear()
        self._reset_epoch += 1              # a waiting poll returns empty, as after a quiet timeout

    # -- test side ---------------------------------------------------------------------------------
    def inject(self, text: str | None = None, *, user_id: int = 1, chat_id: int | None = None,
               username: str | None = None, update: dict[str, Any] | None = None,
               bot_id: int = TELEGRAM_BOT.bot_id) -> dict[str, Any]:
        """Queue one incoming update for a bot (a private-chat text message unless a whole `update` is given)."""
        if update is None:
            if not isinstance(text, str) or not text:
                raise ValueError("give text (non-empty) or a whole update")
            chat = chat_id if chat_id is not None else user_id
            user = {"id": user_id, "is_bot": False, "first_name": username or f"user{user_id}"}
            if username:
                user["username"] = username
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat), "date": self._now(), "from": user,
                "chat": _chat_object(chat, user), "text": text,
            }
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            update = {"message": message}
        update = {**update, "update_id": self.next_update_id}
        self.next_update_id += 1
        feed = self.feed(bot_id)
        feed.updates.append(update)
        self.sandbox.count("updates_injected", API)
        feed.arrived.set()
        return update

    def channel_post(self, chat_id: int, text: str | None = None, *, photo: str | None = None,
                     media_group_id: str | None = None, edit_of: int | None = None,
                     bot_id: int = CARSBOT_BOT.bot_id) -> dict[str, Any]:
        """A post in a channel the bot administers: a `channel_post` update (or `edited_channel_post` of message
        `edit_of`) carrying a real `Message`: `sender_chat`, `chat` of type channel, `text`, or `caption` with
        `photo` (PhotoSize sizes, smallest first, as Telegram sends them) and `media_group_id` for albums."""
        if chat_id >= 0:
            raise ValueError("a channel id is negative (-100…)")
        if not text and not photo:
            raise ValueError("a post needs text or a photo")
        chat = {"id": chat_id, "type": "channel", "title": f"channel {chat_id}"}
        message: dict[str, Any] = {
            "message_id": edit_of if edit_of is not None else self._next_message_id(chat_id),
            "sender_chat": chat, "chat": chat, "date": self._now(),
        }
        if photo:
            message["photo"] = [
                {"file_id": f"{photo}-s", "file_unique_id": f"{photo[-10:]}-s", "width": 90, "height": 68,
                 "file_size": 1500},
                {"file_id": photo, "file_unique_id": photo[-12:], "width": 1280, "height": 960, "file_size": 98000},
            ]
            if text:
                message["caption"] = text
        else:
            message["text"] = text
        if media_group_id:
            message["media_group_id"] = media_group_id
        if edit_of is not None:
            message["edit_date"] = self._now()
        return self.inject(update={"edited_channel_post" if edit_of is not None else "channel_post": message},
                           bot_id=bot_id)

    def set_chat_state(self, chat_id: int, state: str) -> None:
        if state not in ("ok", "blocked", "missing"):
            raise ValueError("state must be ok, blocked or missing")
        if state == "ok":
            self.chat_states.pop(chat_id, None)
        else:
            self.chat_states[chat_id] = state

    def messages(self, chat_id: int | None = None) -> list[SentMessage]:
        return [m for m in self.sent if chat_id is None or m.chat_id == chat_id]

    # -- Bot API side ------------------------------------------------------------------------------
    def _now(self) -> int:
        return int(self.sandbox.now().timestamp())

    def _next_message_id(self, chat_id: int) -> int:
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    async def get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), MAX_POLL_TIMEOUT)
        allowed = params.get("allowed_updates") or None
        feed = self.feed()
        if offset is not None:
            # confirming: everything below offset is gone for good (negative offsets count from the end)
            if offset < 0:
                feed.updates = feed.updates[offset:]
            else:
                feed.updates = [u for u in feed.updates if u["update_id"] >= offset]
        feed.poll_generation += 1
        generation, epoch = feed.poll_generation, self._reset_epoch
        feed.arrived.set()                  # an older poll still waiting wakes and sees it lost
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != feed.poll_generation:
                raise TelegramError(409, "Conflict: terminated by other getUpdates request; "
                                         "make sure that only one bot instance is running")
            if epoch != self._reset_epoch:
                return []
            ready = [u for u in feed.updates if allowed is None or any(k in u for k in allowed)]
            if ready:
                return ready[:limit]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            feed.arrived.clear()
            try:
                await asyncio.wait_for(feed.arrived.wait(), remaining)
            except TimeoutError:
                pass

    def _check_chat(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise TelegramError(400, "Bad Request: chat not found")
        state = self.chat_states.get(chat_id)
        if state == "missing":
            raise TelegramError(400, "Bad Request: chat not found")
        if state == "blocked":
            raise TelegramError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _record(self, chat_id: int, text: str, parse_mode: str | None, method_name: str, *, photos: list[str],
                media_group_id: str | None = None, reply_markup: Any = None) -> SentMessage:
        message = SentMessage(message_id=self._next_message_id(chat_id), chat_id=chat_id, text=text,
                              date=self._now(), parse_mode=parse_mode, reply_markup=reply_markup,
                              method=method_name, photos=photos, media_group_id=media_group_id)
        self.sent.append(message)
        self.sandbox.count("messages_sent", f"{API}:{chat_id}")
        return message

    def _message_object(self, message: SentMessage, visible: str, *, caption: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {"message_id": message.message_id, "date": message.date, "from": bot_user(),
                                "chat": _chat_object(message.chat_id, None)}
        if message.photos:
            body["photo"] = [{"file_id": message.photos[0], "file_unique_id": message.photos[0][-12:],
                              "width": 1280, "height": 960}]
            if message.media_group_id:
                body["media_group_id"] = message.media_group_id
            if caption and visible:
                body["caption"] = visible
        else:
            body["text"] = visible
        return body

    def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._check_chat(params)
        text = params.get("text")
        if not isinstance(text, str):
            raise TelegramError(400, "Bad Request: message text is empty")
        parse_mode = params.get("parse_mode") or None
        visible = visible_text(text, parse_mode)
        if not visible.strip():
            raise TelegramError(400, "Bad Request: message text is empty")
        if len(visible) > MAX_TEXT:
            raise TelegramError(400, "Bad Request: message is too long")
        self._gate(chat_id)
        message = self._record(chat_id, text, parse_mode, "sendMessage", photos=[],
                               reply_markup=params.get("reply_markup"))
        return self._message_object(message, visible)

    def _caption(self, caption: Any, parse_mode: str | None) -> str:
        if caption is None:
            return ""
        visible = visible_text(str(caption), parse_mode)
        if len(visible) > MAX_CAPTION:
            raise TelegramError(400, "Bad Request: message caption is too long")
        return visible

    def send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._check_chat(params)
        photo = params.get("photo")
        upload = None
        if isinstance(photo, str) and photo.startswith("attach://"):     # an uploaded file (multipart)
            upload = params.get(photo.removeprefix("attach://"))
            if not isinstance(upload, dict) or not upload.get("content"):
                raise TelegramError(400, "Bad Request: there is no photo in the request")
            photo = f"sandbox-photo-{chat_id}-{len(self.sent) + 1}"
        if not isinstance(photo, str) or not photo:
            raise TelegramError(400, "Bad Request: there is no photo in the request")
        parse_mode = params.get("parse_mode") or None
        visible = self._caption(params.get("caption"), parse_mode)
        self._gate(chat_id)
        message = self._record(chat_id, str(params.get("caption") or ""), parse_mode, "sendPhoto", photos=[photo])
        if upload is not None:          # the uploaded bytes, for tests to look at (not part of Telegram's answer)
            message.document = {"file_name": upload["filename"], "mime_type": upload["content_type"],
                                "file_size": len(upload["content"]), "content": upload["content"]}
        return self._message_object(message, visible, caption=True)

    def send_media_group(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat_id = self._check_chat(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise TelegramError(400, "Bad Request: wrong number of media: must include 2-10 items")
        if not all(isinstance(m, dict) and m.get("type") == "photo" and m.get("media") for m in media):
            raise TelegramError(400, "Bad Request: wrong media: only photos with a file id are supported")
        visible = [self._caption(m.get("caption"), m.get("parse_mode")) for m in media]
        self._gate(chat_id)
        group = f"sandbox-{self._message_ids.get(chat_id, 0) + 1}"
        out = []
        for item, shown in zip(media, visible, strict=True):
            message = self._record(chat_id, str(item.get("caption") or ""), item.get("parse_mode"),
                                   "sendMediaGroup", photos=[str(item["media"])], media_group_id=group)
            out.append(self._message_object(message, shown, caption=True))
        return out

    def kick(self, params: dict[str, Any], *, ban: bool) -> bool:
        chat_id = self._check_chat(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise TelegramError(400, "Bad Request: invalid user_id specified")
        banned = self.banned.setdefault(chat_id, set())
        if ban:
            banned.add(user_id)
            self.sandbox.count("members_banned", f"{API}:{chat_id}")
        elif user_id in banned or not params.get("only_if_banned"):
            if user_id in banned:
                self.sandbox.count("members_unbanned", f"{API}:{chat_id}")
            banned.discard(user_id)
        return True

    def create_invite_link(self, params: dict[str, Any]) -> dict[str, Any]:
        """`createChatInviteLink`: a new `ChatInviteLink` (the bot must be an admin of the chat)."""
        chat_id = self._check_chat(params)
        limit = params.get("member_limit")
        joins = params.get("creates_join_request")
        if limit is not None and (not isinstance(limit, int) or not 1 <= limit <= 99999):
            raise TelegramError(400, "Bad Request: invalid member limit specified")
        if limit is not None and joins in (True, "true"):
            raise TelegramError(400, "Bad Request: member limit can't be specified for links "
                                     "requiring administrator approval")
        link: dict[str, Any] = {
            "invite_link": f"https://t.me/+sandbox{len(self.invite_links) + 1:06d}",
            "creator": bot_user(_CALLER.get()), "creates_join_request": bool(joins in (True, "true")),
            "is_primary": False, "is_revoked": False,
        }
        for name in ("name", "expire_date"):
            if params.get(name) is not None:
                link[name] = params[name]
        if limit is not None:
            link["member_limit"] = limit
        self.invite_links.append({**link, "chat_id": chat_id})
        self.sandbox.count("invite_links_created", f"{API}:{chat_id}")
        return link

    def _gate(self, chat_id: int) -> None:
        checks = [(str(_CALLER.get()), GLOBAL), (str(chat_id), GROUP if chat_id < 0 else CHAT)]
        for account, endpoint_class in checks:
            wait = self.sandbox.gate(API, account, endpoint_class)
            if wait is not None:
                raise too_many_requests(wait)


def bot_user(bot_id: int | None = None) -> dict[str, Any]:
    bot: TelegramBotAccount = _BOTS_BY_ID.get(bot_id or _CALLER.get(), TELEGRAM_BOT)
    return {"id": bot.bot_id, "is_bot": True, "first_name": "adolfd", "username": bot.username,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}


def _chat_object(chat_id: int, user: dict[str, Any] | None) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": (user or {}).get("first_name", f"user{chat_id}")}
    kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "type": kind, "title": f"chat {chat_id}"}


class _HtmlCheck(HTMLParser):
    """Telegram's HTML parse mode: only its tags, properly nested; returns the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            raise TelegramError(400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise TelegramError(400, f'Bad Request: can\'t parse entities: Unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            raise TelegramError(400, "Bad Request: can't parse entities: Unexpected \"<\"; escape it as &lt;")
        if "&" in data:
            raise TelegramError(400, "Bad Request: can't parse entities: Character entity expected")
        self.parts.append(data)

    def handle_entityref(self, name: str) -> None:
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
        if name not in named:
            raise TelegramError(400, f'Bad Request: can\'t parse entities: Unsupported HTML entity "&{name};"')
        self.parts.append(named[name])

    def handle_charref(self, name: str) -> None:
        try:
            self.parts.append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))
        except ValueError as exc:
            raise TelegramError(400, "Bad Request: can't parse entities: Invalid character reference") from exc


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text a reader sees; raises the error Telegram gives for markup it cannot parse."""
    if parse_mode is None or parse_mode.upper() != "HTML":
        return text
    check = _HtmlCheck()
    check.feed(text)
    leftover = check.rawdata   # what the parser could not finish: "AT&T", "a <b"
    if leftover.startswith("&"):
        raise TelegramError(400, "Bad Request: can't parse entities: Character entity expected")
    if leftover:
        raise TelegramError(400, "Bad Request: can't parse entities: Unclosed start tag")
    check.close()
    if check.stack:
        raise TelegramError(400, f'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start '
                                 f'tag "{check.stack[-1]}"')
    return "".join(check.parts)


# -- HTTP --------------------------------------------------------------------------------------------

_FAKE = web.AppKey("telegram_fake", TelegramFake)


def telegram_fake(sandbox: Sandbox) -> TelegramFake:
    """The fake's state, for tests running the sandbox in-process."""
    return sandbox.subapp(API)[_FAKE]


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value                    # "@channelusername" stays a string
    if name in _BOOL_FIELDS:
        return value.lower() == "true"
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise TelegramError(400, f"Bad Request: can't parse {name} JSON object") from exc
    return value


async def _params(request: web.Request) -> dict[str, Any]:
    raw: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError as exc:
                raise TelegramError(400, "Bad Request: can't parse JSON body") from exc
            if not isinstance(body, dict):
                raise TelegramError(400, "Bad Request: JSON body must be an object")
            raw.update(body)
        else:
            form = await request.post()
            raw.update({k: v for k, v in form.items() if isinstance(v, str)})
            # multipart uploads (sendDocument, sendPhoto with a file): name, type and bytes
            raw.update({k: {"filename": v.filename, "content_type": v.content_type, "content": v.file.read()}
                        for k, v in form.items() if isinstance(v, web.FileField)})
    return {name: _coerce(name, value) for name, value in raw.items()}


Method = Callable[[TelegramFake, dict[str, Any]], Awaitable[Any]]
METHODS: dict[str, Method] = {}


def method(name: str) -> Callable[[Method], Method]:
    """Register a Bot API method (case-insensitive, as Telegram treats method names)."""
    def register(fn: Method) -> Method:
        METHODS[name.lower()] = fn
        return fn
    return register


@method("getMe")
async def _get_me(fake: TelegramFake, params: dict[str, Any]) -> Any:
    return bot_user()


@method("getUpdates")
async def _get_updates(fake: TelegramFake, params: dict[str, Any]) -> Any:
    return await fake.get_updates(params)


@method("deleteWebhook")
async def _delete_webhook(fake: TelegramFake, params: dict[str, Any]) -> Any:
    if params.get("drop_pending_updates"):
        fake.feed().updates.clear()
    return True


@method("getWebhookInfo")
async def _webhook_info(fake: TelegramFake, params: dict[str, Any]) -> Any:
    return {"url": "", "has_custom_certificate": False, "pending_update_count": len(fake.feed().updates)}


@method("setMyCommands")
async def _set_commands(fake: TelegramFake, params: dict[str, Any]) -> Any:
    commands = params.get("commands")
    if not isinstance(commands, list) or not all(isinstance(c, dict) and c.get("command") for c in commands):
        raise TelegramError(400, "Bad Request: commands must be a non-empty array of BotCommand")
    fake.commands = commands
    return True


@method("getMyCommands")
async def _get_commands(fake: TelegramFake, params: dict[str, Any]) -> Any:
    return fake.commands


@method("deleteMyCommands")
async def _delete_commands(fake: TelegramFake, params: dict[str, Any]) -> Any:
    fake.commands = []
    return True


@method("sendMessage")
async def _send_message(fake: TelegramFake, params: dict[str, Any]) -> Any:
    return fake.send_message(params)


@method("sendDocument")
async def _send_document(fake: TelegramFake, params: dict[str, Any]) -> Any:
    """Bot API sendDocument with an uploaded file (multipart): answers the Message with its `document`."""
    chat_id = fake._check_chat(params)
    upload = params.get("document")
    if isinstance(upload, str) and upload.startswith("attach://"):      # the file travels as its own form field
        upload = params.get(upload.removeprefix("attach://"))
    if not isinstance(upload, dict) or not upload.get("content"):
        raise TelegramError(400, "Bad Request: there is no document in the request")
    if len(upload["content"]) > 50 * 1024 * 1024:
        raise TelegramError(413, "Request Entity Too Large")
    parse_mode = params.get("parse_mode") or None
    visible = fake._caption(params.get("caption"), parse_mode)
    fake._gate(chat_id)
    message = fake._record(chat_id, str(params.get("caption") or ""), parse_mode, "sendDocument", photos=[])
    file_id = f"sandbox-doc-{chat_id}-{message.message_id}"
    message.document = {"file_id": file_id, "file_unique_id": file_id[-12:], "file_name": upload["filename"],
                        "mime_type": upload["content_type"], "file_size": len(upload["content"]),
                        "content": upload["content"]}
    body = fake._message_object(message, visible, caption=True)
    body.pop("text", None)
    if visible:
        body["caption"] = visible
    body["document"] = {k: v for k, v in message.document.items() if k != "content"}
    return body


@method("answerCallbackQuery")
async def _answer_callback(fake: TelegramFake, params: dict[str, Any]) -> Any:
    query_id = params.get("callback_query_id")
    if not isinstance(query_id, str) or not query_id:
        raise TelegramError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
    if len(str(params.get("text") or "")) > 200:
        raise TelegramError(400, "Bad Request: text is too long")
    fake.callback_answers.append({"callback_query_id": query_id, "text": params.get("text")})
    return True


@method("sendPhoto")
async def _send_photo(fake: TelegramFake, params: dict[str, Any]) -> Any:
    return fake.send_photo(params)


@method("sendMediaGroup")
async def _send_media_group(fake: TelegramFake, params: dict[str, Any]) -> Any:
    return fake.send_media_group(params)


@method("banChatMember")
async def _ban(fake: TelegramFake, params: dict[str, Any]) -> Any:
    return fake.kick(params, ban=True)


@method("unbanChatMember")
async def _unban(fake: TelegramFake, params: dict[str, Any]) -> Any:
    return fake.kick(params, ban=False)


@method("createChatInviteLink")
async def _create_invite_link(fake: TelegramFake, params: dict[str, Any]) -> Any:
    return fake.create_invite_link(params)


async def bot_token(request: web.Request) -> Caller:
    """The token is part of the path (`/bot<token>/<method>`); the account is the bot's id."""
    bot = TELEGRAM_BOTS.get(request.match_info.get("token", ""))
    if bot is None:
        raise TelegramError(401, "Unauthorized")
    return Caller(account=str(bot.bot_id))


@asynccontextmanager
async def _storm(caller: Caller, request: web.Request) -> AsyncIterator[dict[str, str]]:
    """An injected `429` fault refused in Telegram's words, as the per-chat gates refuse (`TelegramFake._gate`);
    the core's generic answer would carry no `parameters.retry_after`, which Telegram always gives."""
    wait = request.pop(STORM_KEY, None)
    if wait is not None:
        raise too_many_requests(wait)
    yield {}


async def _bot_api(request: web.Request, caller: Caller) -> web.Response:
    """One Bot API method. Its limits are per chat, known only from the parameters: `TelegramFake._gate`."""
    impl = METHODS.get(request.match_info["method"].lower())
    if impl is None:
        raise TelegramError(404, "Not Found: method not found")
    _CALLER.set(int(caller.account))
    result = await impl(request.app[_FAKE], await _params(request))
    return web.json_response({"ok": True, "result": result})


# -- test side -----------------------------------------------------------------------------------------

async def _control_json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"body is not JSON: {exc}"}),
                                 content_type="application/json") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "body must be a JSON object"}),
                                 content_type="application/json")
    return body


def _bot_of(body: dict[str, Any], default: TelegramBotAccount) -> int:
    name = body.get("bot")
    if name is None:
        return default.bot_id
    bots = {"admin": TELEGRAM_BOT.bot_id, "carsbot": CARSBOT_BOT.bot_id}
    if name not in bots:
        raise ValueError(f"bot must be one of {', '.join(bots)}")
    return bots[name]


async def _inject(request: web.Request) -> web.Response:
    body = await _control_json(request)
    try:
        update = request.app[_FAKE].inject(
            body.get("text"), user_id=int(body.get("user_id", 1)),
            chat_id=None if body.get("chat_id") is None else int(body["chat_id"]),
            username=body.get("username"), update=body.get("update"), bot_id=_bot_of(body, TELEGRAM_BOT),
        )
    except (TypeError, ValueError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"update_id": update["update_id"]})


async def _channel_post(request: web.Request) -> web.Response:
    body = await _control_json(request)
    try:
        update = request.app[_FAKE].channel_post(
            int(body["chat_id"]), body.get("text"), photo=body.get("photo"),
            media_group_id=body.get("media_group_id"),
            edit_of=None if body.get("edit_of") is None else int(body["edit_of"]),
            bot_id=_bot_of(body, CARSBOT_BOT))
    except (KeyError, TypeError, ValueError) as exc:
        return web.json_response({"error": f"give chat_id and text or photo: {exc}"}, status=400)
    message = update.get("channel_post") or update["edited_channel_post"]
    return web.json_response({"update_id": update["update_id"], "message_id": message["message_id"]})


async def _list_messages(request: web.Request) -> web.Response:
    raw = request.query.get("chat_id")
    try:
        chat_id = int(raw) if raw is not None else None
    except ValueError:
        return web.json_response({"error": "chat_id must be an integer"}, status=400)
    def shown(m: SentMessage) -> dict[str, Any]:
        body = asdict(m)
        if m.document is not None:        # the bytes stay in the process; the listing gives their size
            body["document"] = {k: v for k, v in m.document.items() if k != "content"}
        return body

    return web.json_response({"messages": [shown(m) for m in request.app[_FAKE].messages(chat_id)]})


async def _set_chat(request: web.Request) -> web.Response:
    body = await _control_json(request)
    try:
        request.app[_FAKE].set_chat_state(int(body["chat_id"]), str(body.get("state", "")))
    except (KeyError, TypeError, ValueError) as exc:
        return web.json_response({"error": f"give chat_id and state (ok|blocked|missing): {exc}"}, status=400)
    return web.json_response({"chat_id": int(body["chat_id"]), "state": body["state"]})


def install(sandbox: Sandbox) -> None:
    app = sandbox.subapp(API, error_body=error_body)
    fake = TelegramFake(sandbox)
    app[_FAKE] = fake
    sandbox.on_reset(fake.reset)
    for endpoint_class, (rate, burst) in DEFAULT_LIMITS.items():
        sandbox.define_limit(API, endpoint_class, rate, burst)
    app.router.add_post("/_sandbox/updates", _inject)
    app.router.add_post("/_sandbox/channel_posts", _channel_post)
    app.router.add_get("/_sandbox/messages", _list_messages)
    app.router.add_post("/_sandbox/chats", _set_chat)
    bot_api = endpoint(sandbox, API, _bot_api, auth=bot_token, limit=_storm)
    app.router.add_route("POST", "/bot{token}/{method}", bot_api)
    app.router.add_route("GET", "/bot{token}/{method}", bot_api)
