"""Fake Yandex Market goods feedback and questions, served under `/ym` (docs/external-apis.md "Yandex Market —
goods feedback and questions"; seed 003 §7.3). Header `Api-Key`; the business in the path must be the key's;
envelope `{status: "OK", result}`; too many requests → HTTP 420 with `X-RateLimit-Resource-*` headers, which
every answer carries. Paths are accepted with and without the version prefix.

Comments and answers are accepted however often they are sent and counted under `replies_published`.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from adolfd.sandbox import feedback_feed as feed
from adolfd.sandbox import yandex_market
from adolfd.sandbox.accounts import ACCOUNTS
from adolfd.sandbox.core import Caller, Sandbox, endpoint
from adolfd.sandbox.yandex_market import API, OWNER, YmError, ym_error_body

STATE = "ym-feedback"          # sandbox state and counter key (the API's own state is shared)
PLATFORM = "ym"
# per-method hourly resource limits (x-resource-limit-config of the official spec)
LIMITS = {
    "goods_feedback": 5000, "goods_feedback_comments": 5000, "goods_feedback_reply": 1000,
    "goods_questions": 1000, "goods_question_answers": 1000, "goods_question_answer": 500,
}
MAX_COMMENT = 4096


Impl = Callable[[Sandbox, str, dict[str, Any], Any], Any]


def _method(sandbox: Sandbox, endpoint_class: str, impl: Impl) -> Any:
    """A JSON object in, `impl(sandbox, brand, body, query)` in the `{status: "OK", result}` envelope out."""
    async def handle(request: web.Request, caller: Caller) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise YmError(400, "Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise YmError(400, "Request body must be a JSON object")
        assert caller.brand is not None
        result = impl(sandbox, caller.brand, body, request.query)
        return web.json_response({"status": "OK", **({"result": result} if result is not None else {})})

    return endpoint(sandbox, API, handle, auth=yandex_market.api_key_auth("business"),
                    limit=yandex_market.resource_limit(sandbox, endpoint_class))


def _limit(query: Any) -> int:
    raw = query.get("limit", "25")
    if not raw.isdigit() or not 1 <= int(raw) <= 50:
        raise YmError(400, "limit must be between 1 and 50")
    return int(raw)


def _page(rows: list[Any], query: Any) -> tuple[list[Any], dict[str, Any]]:
    limit = _limit(query)
    token = query.get("pageToken") or query.get("page_token")
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise YmError(400, "pageToken is invalid") from None
    page = rows[start: start + limit]
    paging = {}
    if start + limit < len(rows):
        paging["nextPageToken"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
    return page, paging


def _time(body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise YmError(400, f"{name}: {value!r} is not a date-time") from None


def _day(body: dict[str, Any], name: str) -> date | None:
    value = body.get(name)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise YmError(400, f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def _entries(sandbox: Sandbox, brand: str, kind: str) -> list[tuple[int, feed.Entry]]:
    return [(feed.ym_id(sandbox.seed, brand, e.index), e) for e in feed.arrived(sandbox, STATE, PLATFORM, brand, kind)]


def _find(sandbox: Sandbox, brand: str, kind: str, item_id: Any) -> tuple[int, feed.Entry]:
    if isinstance(item_id, bool) or not isinstance(item_id, int):
        raise YmError(400, f"{'feedbackId' if kind == 'review' else 'questionId'} must be an integer")
    for ym_id, e in _entries(sandbox, brand, kind):
        if ym_id == item_id:
            return ym_id, e
    raise YmError(404, f"{'Feedback' if kind == 'review' else 'Question'} {item_id} not found")


def _text(value: Any, hi: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > hi:
        raise YmError(400, f"text must have from 1 to {hi} characters")
    return value


# -- goods feedback ------------------------------------------------------------------------------------------

def render_feedback(sandbox: Sandbox, ym_id: int, e: feed.Entry) -> dict[str, Any]:
    comments = feed.answers(sandbox, STATE, "review", str(ym_id))
    out: dict[str, Any] = {
        "feedbackId": ym_id, "createdAt": feed.iso_z(e.created_at), "needReaction": not comments,
        "identifiers": {"orderId": 50_000_000 + ym_id % 1_000_000, "offerId": e.article.offer_id},
        "author": e.author, "description": {"advantages": e.pros, "disadvantages": e.cons, "comment": e.text},
        "media": {"photos": [], "videos": []},
        "statistics": {"rating": e.rating, "commentsCount": len(comments), "recommended": (e.rating or 0) >= 4},
    }
    if feed.is_broken(sandbox, STATE, str(ym_id)):
        del out["statistics"]
    return out


def feedback_list(sandbox: Sandbox, brand: str, body: dict[str, Any], query: Any) -> dict[str, Any]:
    since, until = _time(body, "dateTimeFrom"), _time(body, "dateTimeTo")
    reaction = body.get("reactionStatus", "ALL")
    if reaction not in ("ALL", "NEED_REACTION"):
        raise YmError(400, "reactionStatus must be ALL or NEED_REACTION")
    ratings = set(body.get("ratingValues") or [])
    offers = set(body.get("offerIds") or [])
    ids = set(body.get("feedbackIds") or [])
    rows = []
    for ym_id, e in _entries(sandbox, brand, "review"):
        if ids:
            if ym_id in ids:
                rows.append((ym_id, e))
            continue
        if (since and e.created_at <= since) or (until and e.created_at >= until) \
                or (reaction == "NEED_REACTION" and feed.answers(sandbox, STATE, "review", str(ym_id))) \
                or (ratings and e.rating not in ratings) or (offers and e.article.offer_id not in offers):
            continue
        rows.append((ym_id, e))
    rows.sort(key=lambda r: r[1].created_at, reverse=True)
    page, paging = _page(rows, query)
    return {"feedbacks": [render_feedback(sandbox, ym_id, e) for ym_id, e in page], "paging": paging}


def _comment(sandbox: Sandbox, brand: str, ym_id: int, a: dict[str, Any]) -> dict[str, Any]:
    return {"id": int(a["id"]), "text": a["text"], "canModify": True,
            "author": {"type": "BUSINESS", "name": ACCOUNTS[brand].brand}, "status": "PUBLISHED", "feedbackId": ym_id}


def feedback_comments(sandbox: Sandbox, brand: str, body: dict[str, Any], query: Any) -> dict[str, Any]:
    ym_id, _ = _find(sandbox, brand, "review", body.get("feedbackId"))
    rows = [_comment(sandbox, brand, ym_id, a) for a in feed.answers(sandbox, STATE, "review", str(ym_id))]
    page, paging = _page(rows, query)
    return {"comments": page, "paging": paging}


def feedback_reply(sandbox: Sandbox, brand: str, body: dict[str, Any], query: Any) -> dict[str, Any]:
    ym_id, _ = _find(sandbox, brand, "review", body.get("feedbackId"))
    comment = body.get("comment")
    if not isinstance(comment, dict):
        raise YmError(400, "comment is required")
    text = _text(comment.get("text"), MAX_COMMENT)
    if comment.get("id"):
        for a in feed.answers(sandbox, STATE, "review", str(ym_id)):
            if int(a["id"]) == comment["id"]:
                a["text"] = text
                return _comment(sandbox, brand, ym_id, a)
        raise YmError(404, f"Comment {comment['id']} not found")
    record = feed.add_answer(sandbox, STATE, "review", str(ym_id), text,
                             str(80_000_000 + feed.next_answer_number(sandbox, STATE)))
    return _comment(sandbox, brand, ym_id, record)


# -- goods questions -----------------------------------------------------------------------------------------

def render_question(sandbox: Sandbox, brand: str, ym_id: int, e: feed.Entry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "questionIdentifiers": {"id": ym_id, "categoryId": 7_811_000 + e.index % 7, "offerId": e.article.offer_id},
        "businessId": ACCOUNTS[brand].ym.business_id, "text": e.text, "createdAt": feed.iso_z(e.created_at),
        "votes": {"likes": 0, "dislikes": 0}, "author": {"type": "USER", "name": e.author},
    }
    if feed.is_broken(sandbox, STATE, str(ym_id)):
        del out["createdAt"]
    return out


def question_list(sandbox: Sandbox, brand: str, body: dict[str, Any], query: Any) -> dict[str, Any]:
    today = sandbox.now().date()
    date_to = _day(body, "dateTo") or today
    date_from = _day(body, "dateFrom") or date_to - timedelta(days=30)
    if (date_to - date_from).days > 31:
        raise YmError(400, "The period between dateFrom and dateTo must not exceed one month")
    sort = body.get("sort", "CREATED_AT_DESC")
    if sort not in ("CREATED_AT_DESC", "CREATED_AT_ASC"):
        raise YmError(400, "sort must be CREATED_AT_DESC or CREATED_AT_ASC")
    ids = set(body.get("questionIds") or [])
    need_answer = bool(body.get("needAnswer", False))
    rows = []
    for ym_id, e in _entries(sandbox, brand, "question"):
        day = e.created_at.date()
        if ids and ym_id not in ids:
            continue
        if not ids and (day < date_from or day > date_to
                        or (need_answer and feed.answers(sandbox, STATE, "question", str(ym_id)))):
            continue
        rows.append((ym_id, e))
    rows.sort(key=lambda r: r[1].created_at, reverse=sort == "CREATED_AT_DESC")
    page, paging = _page(rows, query)
    return {"questions": [render_question(sandbox, brand, ym_id, e) for ym_id, e in page], "paging": paging,
            "totalCount": len(rows)}


def question_answers(sandbox: Sandbox, brand: str, body: dict[str, Any], query: Any) -> dict[str, Any]:
    ym_id, _ = _find(sandbox, brand, "question", body.get("questionId"))
    rows = [{"id": int(a["id"]), "text": a["text"], "canModify": True,
             "author": {"type": "BUSINESS", "name": ACCOUNTS[brand].brand}, "status": "PUBLISHED",
             "questionId": ym_id, "createdAt": feed.iso_z(a["at"]), "votes": {"likes": 0, "dislikes": 0}}
            for a in feed.answers(sandbox, STATE, "question", str(ym_id))]
    page, paging = _page(rows, query)
    return {"answers": page, "paging": paging}


def question_update(sandbox: Sandbox, brand: str, body: dict[str, Any], query: Any) -> dict[str, Any] | None:
    operation = body.get("operationType")
    if operation != "CREATE":
        if operation in ("UPDATE", "DELETE"):
            return None            # adolfd only creates answers; the fake accepts the others without effect
        raise YmError(400, "operationType must be CREATE, UPDATE or DELETE")
    parent = body.get("parentEntityId")
    if not isinstance(parent, dict) or parent.get("type") != "QUESTION":
        raise YmError(400, "parentEntityId {id, type: QUESTION} is required to answer a question")
    ym_id, _ = _find(sandbox, brand, "question", parent.get("id"))
    text = _text(body.get("text"), 5000)
    record = feed.add_answer(sandbox, STATE, "question", str(ym_id), text,
                             str(90_000_000 + feed.next_answer_number(sandbox, STATE)))
    return {"entity": {"id": int(record["id"]), "type": "ANSWER"}}


ROUTES = (
    ("v2", "goods-feedback", "goods_feedback", feedback_list),
    ("v2", "goods-feedback/comments", "goods_feedback_comments", feedback_comments),
    ("v2", "goods-feedback/comments/update", "goods_feedback_reply", feedback_reply),
    ("v1", "goods-questions", "goods_questions", question_list),
    ("v1", "goods-questions/answers", "goods_question_answers", question_answers),
    ("v1", "goods-questions/update", "goods_question_answer", question_update),
)


def install(sandbox: Sandbox) -> None:
    app = sandbox.subapp(API, error_body=ym_error_body, auth=yandex_market.api_key_auth("business"))
    for endpoint_class, per_hour in LIMITS.items():
        sandbox.define_limit(API, endpoint_class, per_hour / 3600.0, float(per_hour))
    for version, path, endpoint_class, impl in ROUTES:
        handler = _method(sandbox, endpoint_class, impl)
        app.router.add_post(f"/{version}/businesses/{{{OWNER}}}/{path}", handler)
        app.router.add_post(f"/businesses/{{{OWNER}}}/{path}", handler)
