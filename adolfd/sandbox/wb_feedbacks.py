"""Fake Wildberries feedbacks and questions API (`https://feedbacks-api.wildberries.ru`), served under
`/wb-feedbacks` with the real paths, auth, envelopes, paging and limits (docs/external-apis.md "Wildberries —
feedbacks and questions"; seed 003 §7.3).

Customers come from `feedback_feed`. The fake accepts every reply it is sent — also a second one to the same
item — and counts each under `replies_published`, so a test sees any duplicate adolfd would cause.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, Literal, overload

from aiohttp import web

from adolfd.sandbox import feedback_feed as feed
from adolfd.sandbox import wildberries
from adolfd.sandbox.core import ApiError, Caller, Handler, Sandbox, endpoint

API = "wb-feedbacks"
PLATFORM = "wb"
LIMIT = (3.0, 6.0)          # all methods of the category per seller account: 3 req/s, burst 6
MAX_ANSWER = 5000
BRAND_NAMES = {"ohana_market": "Ohana Market", "ohana_kids": "Ohana Kids"}


ORIGIN = "s2s-api-auth-feedbacks"


def envelope(data: Any = None, error: str = "") -> dict[str, Any]:
    return {"data": data, "error": bool(error), "errorText": error, "additionalErrors": [error] if error else None}


def wb_error_body(status: int, message: str) -> dict[str, Any]:
    return {**envelope(None, message), "requestId": uuid.uuid4().hex}


class WbError(ApiError):
    """A refusal in the feedbacks API's envelope (`wb_error_body`)."""


@overload
def _int(query: Any, name: str, *, required: Literal[True], lo: int = 0, hi: int | None = None) -> int: ...


@overload
def _int(query: Any, name: str, *, required: Literal[False] = False, lo: int = 0, hi: int | None = None) -> int | None:
    ...


def _int(query: Any, name: str, *, required: bool = False, lo: int = 0, hi: int | None = None) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        if required:
            raise WbError(400, f"{name} is required")
        return None
    try:
        value = int(raw)
    except ValueError:
        raise WbError(400, f"{name}: {raw!r} is not an integer") from None
    if value < lo or (hi is not None and value > hi):
        raise WbError(400, f"{name} must be between {lo} and {hi}")
    return value


def _bool(query: Any, name: str) -> bool:
    raw = query.get(name)
    if raw not in ("true", "false"):
        raise WbError(400, f"{name} is required: true or false")
    return raw == "true"


def _entries(sandbox: Sandbox, brand: str, kind: str) -> list[tuple[str, feed.Entry]]:
    return [(feed.wb_id(sandbox.seed, brand, kind, e.index), e)
            for e in feed.arrived(sandbox, API, PLATFORM, brand, kind)]


def _product(e: feed.Entry) -> dict[str, Any]:
    nm = feed.wb_nm_id(e.article)
    return {"imtId": nm // 10, "nmId": nm, "productName": e.article.name, "supplierArticle": e.article.offer_id,
            "supplierName": "ООО «Охана»", "brandName": BRAND_NAMES.get(e.brand, e.brand), "size": "0"}


def render_feedback(sandbox: Sandbox, wb_id: str, e: feed.Entry) -> dict[str, Any]:
    answers = feed.answers(sandbox, API, "review", wb_id)
    last = answers[-1] if answers else None
    out: dict[str, Any] = {
        "id": wb_id, "text": e.text, "pros": e.pros, "cons": e.cons, "productValuation": e.rating,
        "createdDate": feed.iso_z(e.created_at), "state": "wbRu" if last else "none",
        "answer": {"text": last["text"], "state": "wbRu", "editable": True} if last else None,
        "productDetails": _product(e), "photoLinks": [], "video": None, "wasViewed": bool(last),
        "userName": e.author, "matchingSize": "", "isAbleSupplierFeedbackValuation": False,
        "supplierFeedbackValuation": 0, "isAbleSupplierProductValuation": False, "supplierProductValuation": 0,
        "isAbleReturnProductOrders": False, "returnProductOrdersDate": None, "bables": [],
        "lastOrderShkId": 0, "lastOrderCreatedAt": feed.iso_z(e.created_at), "color": "", "subjectId": 0,
        "subjectName": "", "parentFeedbackId": None, "childFeedbackId": None,
    }
    if feed.is_broken(sandbox, API, wb_id):
        out["productValuation"] = None
    return out


def render_question(sandbox: Sandbox, wb_id: str, e: feed.Entry) -> dict[str, Any]:
    answers = feed.answers(sandbox, API, "question", wb_id)
    last = answers[-1] if answers else None
    out: dict[str, Any] = {
        "id": wb_id, "text": e.text, "createdDate": feed.iso_z(e.created_at),
        "state": "wbRu" if last else "suppliersPortalSynch",
        "answer": {"text": last["text"], "editable": True, "createDate": feed.iso_z(last["at"])} if last else None,
        "productDetails": _product(e), "wasViewed": bool(last), "isWarned": False,
    }
    if feed.is_broken(sandbox, API, wb_id):
        del out["createdDate"]
    return out


def _brand(caller: Caller) -> str:
    assert caller.brand is not None
    return caller.brand


def _list(sandbox: Sandbox, kind: str) -> Any:
    max_take = 5000 if kind == "review" else 10000
    render = render_feedback if kind == "review" else render_question

    async def handle(request: web.Request, caller: Caller) -> web.Response:
        q = request.query
        answered = _bool(q, "isAnswered")
        take = _int(q, "take", required=True, lo=1, hi=max_take)
        skip = _int(q, "skip", required=True, lo=0, hi=199990 if kind == "review" else 10000)
        if kind == "question" and take + skip > 10000:
            raise WbError(400, "the sum of take and skip must not exceed 10000")
        order = q.get("order", "dateDesc")
        if order not in ("dateAsc", "dateDesc"):
            raise WbError(400, "order must be dateAsc or dateDesc")
        date_from, date_to = _int(q, "dateFrom"), _int(q, "dateTo")
        nm_id = _int(q, "nmId")
        rows = []
        unanswered = archive = 0
        for wb_id, e in _entries(sandbox, _brand(caller), kind):
            has_answer = bool(feed.answers(sandbox, API, kind, wb_id))
            unanswered += not has_answer
            archive += has_answer
            stamp = e.created_at.timestamp()
            if has_answer != answered or (date_from is not None and stamp < date_from) \
                    or (date_to is not None and stamp > date_to) \
                    or (nm_id is not None and feed.wb_nm_id(e.article) != nm_id):
                continue
            rows.append((e.created_at, wb_id, e))
        rows.sort(key=lambda r: r[0], reverse=order == "dateDesc")
        page = [render(sandbox, wb_id, e) for _, wb_id, e in rows[skip: skip + take]]
        key = "feedbacks" if kind == "review" else "questions"
        return web.json_response(envelope({"countUnanswered": unanswered, "countArchive": archive, key: page}))

    return handle


def _one(sandbox: Sandbox, kind: str) -> Any:
    render = render_feedback if kind == "review" else render_question

    async def handle(request: web.Request, caller: Caller) -> web.Response:
        wanted = request.query.get("id", "")
        for wb_id, e in _entries(sandbox, _brand(caller), kind):
            if wb_id == wanted:
                return web.json_response(envelope(render(sandbox, wb_id, e)))
        raise WbError(404, "Не найден")

    return handle


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise WbError(400, "invalid JSON syntax") from None
    if not isinstance(body, dict):
        raise WbError(400, "request body must be a JSON object")
    return body


def _text(value: Any) -> str:
    if not isinstance(value, str) or len(value.strip()) < 2:
        raise WbError(400, "text must have at least 2 characters")
    if len(value) > MAX_ANSWER:
        raise WbError(400, f"text is longer than {MAX_ANSWER} characters")
    return value


def _answer_feedback(sandbox: Sandbox) -> Any:
    async def handle(request: web.Request, caller: Caller) -> web.Response:
        body = await _body(request)
        wb_id, text = body.get("id"), _text(body.get("text"))
        if not isinstance(wb_id, str) or not wb_id:
            raise WbError(400, "id is required")
        # "There is no validation by feedback ID": an unknown id answers 204 and changes nothing
        if any(i == wb_id for i, _ in _entries(sandbox, _brand(caller), "review")):
            feed.add_answer(sandbox, API, "review", wb_id, text, f"wb-{feed.next_answer_number(sandbox, API)}")
        return web.Response(status=204)

    return handle


def _patch_question(sandbox: Sandbox) -> Any:
    async def handle(request: web.Request, caller: Caller) -> web.Response:
        body = await _body(request)
        wb_id = body.get("id")
        if not isinstance(wb_id, str) or not any(i == wb_id for i, _ in _entries(sandbox, _brand(caller),
                                                                                 "question")):
            raise WbError(404, "Вопрос не найден")
        if "wasViewed" in body and "answer" not in body:
            return web.json_response(envelope())
        answer = body.get("answer")
        if not isinstance(answer, dict) or body.get("state") not in ("wbRu", "none"):
            raise WbError(400, "answer {text} and state (wbRu or none) are required")
        text = _text(answer.get("text"))
        if body["state"] == "wbRu":
            feed.add_answer(sandbox, API, "question", wb_id, text, f"wb-{feed.next_answer_number(sandbox, API)}")
        return web.json_response(envelope())

    return handle


def install(sandbox: Sandbox) -> None:
    app = sandbox.subapp(API, error_body=wb_error_body, auth=wildberries.token_auth(ORIGIN))
    sandbox.define_limit(API, "default", *LIMIT)
    limit = wildberries.rate_limit(sandbox, API, "default", ORIGIN)    # all methods of the category share it

    def method(handler: Handler) -> Callable[[web.Request], Any]:
        return endpoint(sandbox, API, handler, limit=limit)

    app.router.add_get("/api/v1/feedbacks", method(_list(sandbox, "review")))
    app.router.add_get("/api/v1/questions", method(_list(sandbox, "question")))
    app.router.add_get("/api/v1/feedback", method(_one(sandbox, "review")))
    app.router.add_get("/api/v1/question", method(_one(sandbox, "question")))
    app.router.add_post("/api/v1/feedbacks/answer", method(_answer_feedback(sandbox)))
    app.router.add_patch("/api/v1/questions", method(_patch_question(sandbox)))
