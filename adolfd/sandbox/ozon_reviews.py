"""Fake Ozon Seller reviews and questions: routes added to the `ozon-seller` sub-application (same auth,
error body and 50 rps gate as `ozon_seller`), per docs/external-apis.md "Ozon Seller API — reviews and
questions" (seed 003 §7.3).

- `POST /v2/review/list`, `/v2/review/info`, `/v1/review/comment/create`, `/v1/review/comment/list`
- `POST /v1/question/list`, `/v1/question/answer/create`, `/v1/question/answer/list`

A review the seller commented with `mark_review_as_processed` becomes PROCESSED, an answered question too.
Comments and answers are accepted however often they are sent and counted under `replies_published`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from adolfd.sandbox import feedback_feed as feed
from adolfd.sandbox import ozon_seller
from adolfd.sandbox.core import Sandbox
from adolfd.sandbox.ozon_seller import OzonError

API = ozon_seller.API
STATE = "ozon-reviews"          # sandbox state and counter key (the API's own state is shared)
PLATFORM = "ozon"
REVIEWS = "reviews"         # endpoint class: no method-specific limit is published; the 50 rps gate applies
REVIEW_STATUSES = ("ALL", "NEW", "VIEWED", "PROCESSED")
QUESTION_STATUSES = ("NEW", "ALL", "VIEWED", "PROCESSED", "UNPROCESSED")


def _bad(message: str) -> OzonError:
    return OzonError(400, message)


def _entries(sandbox: Sandbox, brand: str, kind: str) -> list[tuple[str, feed.Entry]]:
    return [(feed.ozon_id(sandbox.seed, brand, kind, e.index), e)
            for e in feed.arrived(sandbox, STATE, PLATFORM, brand, kind)]


def _find(sandbox: Sandbox, brand: str, kind: str, item_id: Any) -> tuple[str, feed.Entry]:
    if not isinstance(item_id, str) or not item_id:
        raise _bad(f"{kind}_id is required")
    for oz_id, e in _entries(sandbox, brand, kind):
        if oz_id == item_id:
            return oz_id, e
    raise OzonError(404, f"{kind} not found")


def _status(sandbox: Sandbox, kind: str, oz_id: str, e: feed.Entry) -> str:
    state = sandbox.state(STATE).get("processed", set())
    if f"{kind}:{oz_id}" in state:
        return "PROCESSED"
    return "VIEWED" if e.index % 3 == 2 else "NEW"


def _mark_processed(sandbox: Sandbox, kind: str, oz_id: str) -> None:
    sandbox.state(STATE).setdefault("processed", set()).add(f"{kind}:{oz_id}")


def _time(body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"{name}: {value!r} is not an RFC 3339 time") from None


def _limit(body: dict[str, Any], lo: int, hi: int, default: int | None = None) -> int:
    value = body.get("limit", default)
    if value is None:
        raise _bad("limit is required")
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _bad(f"limit must be between {lo} and {hi}")
    return value


def _page(rows: list[tuple[str, Any]], last_id: Any, limit: int) -> tuple[list[tuple[str, Any]], bool]:
    start = 0
    if last_id:
        ids = [r[0] for r in rows]
        if last_id not in ids:
            raise _bad("last_id is unknown")
        start = ids.index(last_id) + 1
    page = rows[start: start + limit]
    return page, start + limit < len(rows)


def _text(value: Any, lo: int = 1, hi: int = 3000) -> str:
    if not isinstance(value, str) or not lo <= len(value.strip()) <= hi:
        raise _bad(f"text must have from {lo} to {hi} characters")
    return value


# -- reviews ---------------------------------------------------------------------------------------------

def render_review(sandbox: Sandbox, oz_id: str, e: feed.Entry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": oz_id, "sku": e.article.sku, "text": e.text, "published_at": feed.iso_z(e.created_at),
        "rating": e.rating, "status": _status(sandbox, "review", oz_id, e),
        "comments_amount": len(feed.answers(sandbox, STATE, "review", oz_id)), "photos_amount": 0,
        "videos_amount": 0, "order_status": "DELIVERED", "is_rating_participant": True,
    }
    if feed.is_broken(sandbox, STATE, oz_id):
        del out["rating"]
    return out


def review_list(sandbox: Sandbox, brand: str, body: dict[str, Any]) -> dict[str, Any]:
    limit = _limit(body, 20, 100)
    sort_dir = body.get("sort_dir", "DESC")
    if sort_dir not in ("ASC", "DESC"):
        raise _bad("sort_dir must be ASC or DESC")
    filters = body.get("filters") or {}
    if not isinstance(filters, dict):
        raise _bad("filters must be an object")
    status = filters.get("status", "ALL")
    if status not in REVIEW_STATUSES:
        raise _bad(f"filters.status must be one of {', '.join(REVIEW_STATUSES)}")
    since, until = _time(filters, "published_from"), _time(filters, "published_to")
    skus = {int(s) for s in filters.get("skus") or []}
    rows = []
    for oz_id, e in _entries(sandbox, brand, "review"):
        if (status != "ALL" and _status(sandbox, "review", oz_id, e) != status) \
                or (since and e.created_at <= since) or (until and e.created_at >= until) \
                or (skus and e.article.sku not in skus):
            continue
        rows.append((oz_id, e))
    rows.sort(key=lambda r: r[1].created_at, reverse=sort_dir == "DESC")
    page, has_next = _page(rows, body.get("last_id"), limit)
    return {"reviews": [render_review(sandbox, oz_id, e) for oz_id, e in page], "has_next": has_next,
            "last_id": page[-1][0] if page else ""}


def review_info(sandbox: Sandbox, brand: str, body: dict[str, Any]) -> dict[str, Any]:
    oz_id, e = _find(sandbox, brand, "review", body.get("review_id"))
    return {**render_review(sandbox, oz_id, e), "likes_amount": 0, "dislikes_amount": 0, "photos": [], "videos": []}


def comment_create(sandbox: Sandbox, brand: str, body: dict[str, Any]) -> dict[str, Any]:
    oz_id, _ = _find(sandbox, brand, "review", body.get("review_id"))
    text = _text(body.get("text"))
    comment_id = feed.ozon_id(sandbox.seed, brand, "comment", feed.next_answer_number(sandbox, STATE))
    feed.add_answer(sandbox, STATE, "review", oz_id, text, comment_id, parent=body.get("parent_comment_id"))
    if body.get("mark_review_as_processed"):
        _mark_processed(sandbox, "review", oz_id)
    return {"comment_id": comment_id}


def comment_list(sandbox: Sandbox, brand: str, body: dict[str, Any]) -> dict[str, Any]:
    oz_id, _ = _find(sandbox, brand, "review", body.get("review_id"))
    limit = _limit(body, 20, 100)
    offset = body.get("offset", 0)
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise _bad("offset must be a non-negative integer")
    comments = [{
        "id": a["id"], "text": a["text"], "published_at": feed.iso_z(a["at"]), "is_owner": True, "is_official": True,
        "parent_comment_id": a.get("parent") or "", "is_published": True, "is_rejected": False,
        "deviation_reason": "", "likes_amount": 0, "dislikes_amount": 0,
    } for a in feed.answers(sandbox, STATE, "review", oz_id)]
    page = comments[offset: offset + limit]
    return {"comments": page, "offset": offset + len(page)}


# -- questions -------------------------------------------------------------------------------------------

def render_question(sandbox: Sandbox, oz_id: str, e: feed.Entry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": oz_id, "sku": e.article.sku, "text": e.text, "author_name": e.author,
        "published_at": feed.iso_z(e.created_at), "status": _status(sandbox, "question", oz_id, e),
        "answers_count": len(feed.answers(sandbox, STATE, "question", oz_id)),
        "product_url": f"https://www.ozon.ru/product/{e.article.sku}/",
        "question_link": f"https://www.ozon.ru/product/{e.article.sku}/questions/?qid={oz_id}",
    }
    if feed.is_broken(sandbox, STATE, oz_id):
        del out["published_at"]
    return out


def question_list(sandbox: Sandbox, brand: str, body: dict[str, Any]) -> dict[str, Any]:
    limit = _limit(body, 1, 100, default=100)
    sort_dir = body.get("sort_dir", "DESC")
    if sort_dir not in ("ASC", "DESC"):
        raise _bad("sort_dir must be ASC or DESC")
    flt = body.get("filter") or {}
    if not isinstance(flt, dict):
        raise _bad("filter must be an object")
    status = flt.get("status", "ALL")
    if status not in QUESTION_STATUSES:
        raise _bad(f"filter.status must be one of {', '.join(QUESTION_STATUSES)}")
    since, until = _time(flt, "date_from"), _time(flt, "date_to")
    rows = []
    for oz_id, e in _entries(sandbox, brand, "question"):
        current = _status(sandbox, "question", oz_id, e)
        wanted = status == "ALL" or current == status or (status == "UNPROCESSED" and current != "PROCESSED")
        if not wanted or (since and e.created_at < since) or (until and e.created_at > until):
            continue
        rows.append((oz_id, e))
    rows.sort(key=lambda r: r[1].created_at, reverse=sort_dir == "DESC")
    page, has_next = _page(rows, body.get("last_id"), limit)
    return {"questions": [render_question(sandbox, oz_id, e) for oz_id, e in page], "has_next": has_next,
            "last_id": page[-1][0] if page else ""}


def _question_with_sku(sandbox: Sandbox, brand: str, body: dict[str, Any]) -> tuple[str, feed.Entry]:
    oz_id, e = _find(sandbox, brand, "question", body.get("question_id"))
    sku = body.get("sku")
    if isinstance(sku, bool) or str(sku) != str(e.article.sku):
        raise _bad("sku does not match the question")
    return oz_id, e


def answer_create(sandbox: Sandbox, brand: str, body: dict[str, Any]) -> dict[str, Any]:
    oz_id, _ = _question_with_sku(sandbox, brand, body)
    text = _text(body.get("text"), 2, 3000)
    answer_id = str(900_000_000 + feed.next_answer_number(sandbox, STATE))
    feed.add_answer(sandbox, STATE, "question", oz_id, text, answer_id)
    _mark_processed(sandbox, "question", oz_id)
    return {"answer_id": answer_id}


def answer_list(sandbox: Sandbox, brand: str, body: dict[str, Any]) -> dict[str, Any]:
    oz_id, e = _question_with_sku(sandbox, brand, body)
    return {"answers": [{
        "id": a["id"], "question_id": oz_id, "sku": e.article.sku, "text": a["text"], "author_name": "Продавец",
        "published_at": feed.iso_z(a["at"]), "status_publication": "PUBLISHED",
    } for a in feed.answers(sandbox, STATE, "question", oz_id)], "last_id": ""}


ROUTES = (
    ("/v2/review/list", review_list),
    ("/v2/review/info", review_info),
    ("/v1/review/comment/create", comment_create),
    ("/v1/review/comment/list", comment_list),
    ("/v1/question/list", question_list),
    ("/v1/question/answer/create", answer_create),
    ("/v1/question/answer/list", answer_list),
)


def install(sandbox: Sandbox) -> None:
    """Adds the routes to the `ozon-seller` sub-application (installed first by `ozon_seller`)."""
    for path, impl in ROUTES:
        ozon_seller.add_method(sandbox, path, REVIEWS, impl)
