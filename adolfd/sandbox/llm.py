"""Fake LLM: an OpenAI-compatible `POST /chat/completions` under `/llm` (docs/external-apis.md "LLM provider").

It answers the reputation prompts of `adolfd.clients.llm` with the offline rules (so a demo with
`ADOLFD_LLM__PROVIDER=http` behaves like the offline provider, over HTTP): an analysis prompt gets
`{"sentiment", "topics", "escalate", "reasons"}`, a reply prompt gets `{"reply"}`; a `complete_json` prompt
whose schema is one of the carsbot ad schemas (`CarAdVerdict`, `CarAdFields`, `CarPostText`, recognised by the
schema title in the system message) gets the carsbot offline answer; any other prompt gets `{}`.
Besides the core's faults (5xx, timeout, malformed body), `script_answers(sandbox, [...])` makes the next
completions return the given message contents verbatim (e.g. text that is not JSON). Completions are counted
under `llm_completions`.
"""
from __future__ import annotations

import json
import re
import time
from typing import Any

from aiohttp import web

from adolfd.domain.carsbot.answers import OFFLINE_RULES as CARSBOT_RULES
from adolfd.domain.reputation.replies import draft_reply
from adolfd.domain.reputation.review_analysis import Analysis, FeedbackItem, ItemType, analyze_offline
from adolfd.sandbox.accounts import LLM
from adolfd.sandbox.core import ApiError, Caller, Sandbox, bearer_token, endpoint

API = "llm"


def llm_error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "server_error" if status >= 500 else "invalid_request_error",
                      "code": status}}


async def api_key(request: web.Request) -> Caller:
    """`Authorization: Bearer <key>`; a wrong or missing key is OpenAI's 401 `invalid_api_key`."""
    if bearer_token(request) != LLM.api_key:
        raise ApiError(401, "Incorrect API key provided", body={"error": {
            "message": "Incorrect API key provided", "type": "invalid_request_error", "param": None,
            "code": "invalid_api_key"}})
    return Caller(account=LLM.organization)


def script_answers(sandbox: Sandbox, contents: list[str]) -> None:
    """The next completions answer these message contents, in order, instead of the rules."""
    sandbox.state(API).setdefault("scripted", []).extend(contents)


def _field(text: str, label: str) -> str:
    m = re.search(rf"^{label}: (.*)$", text, re.MULTILINE)
    return m.group(1).strip() if m else ""


def _item(prompt: str) -> FeedbackItem:
    rating = _field(prompt, "Rating")
    return FeedbackItem(
        platform=_field(prompt, "Marketplace") or "wb", item_type=ItemType(_field(prompt, "Type") or "review"),
        external_id="llm", text=_field(prompt, "Text"), pros=_field(prompt, "Pros"), cons=_field(prompt, "Cons"),
        author=_field(prompt, "Author"), product_name=_field(prompt, "Product"),
        rating=int(rating.split("/")[0]) if rating else None,
    )


def _answer(system: str, prompt: str) -> str:
    if '"sentiment"' in system:
        analysis = analyze_offline(_item(prompt))
        return json.dumps({k: v for k, v in analysis.as_json().items() if k != "provider"}, ensure_ascii=False)
    if '"reply"' in system:
        raw = _field(prompt, "Analysis")
        analysis = Analysis.from_json(json.loads(raw)) if raw else analyze_offline(_item(prompt))
        instructions = _field(prompt, "Operator's instructions for this reply") or None
        return json.dumps({"reply": draft_reply(_item(prompt), analysis, instructions)}, ensure_ascii=False)
    for schema, rule in CARSBOT_RULES.items():
        if f'"title": "{schema.__name__}"' in system:
            return rule(prompt).model_dump_json()
    return "{}"


def _completions(sandbox: Sandbox) -> Any:
    async def handle(request: web.Request, caller: Caller) -> web.Response:
        try:
            body = await request.json()
            messages = body["messages"]
            system = next((m["content"] for m in messages if m.get("role") == "system"), "")
            prompt = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
            model = str(body.get("model") or "sandbox")
        except (ValueError, KeyError, TypeError, StopIteration):
            raise ApiError(400, "messages are required") from None
        scripted = sandbox.state(API).get("scripted") or []
        content = scripted.pop(0) if scripted else _answer(system, prompt)
        sandbox.count("llm_completions", model)
        return web.json_response({
            "id": f"chatcmpl-sandbox-{sandbox.counter('llm_completions', model)}", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(content) // 4,
                      "total_tokens": (len(prompt) + len(content)) // 4},
        })

    return handle


def install(sandbox: Sandbox) -> None:
    app = sandbox.subapp(API, error_body=llm_error_body, auth=api_key)
    completions = endpoint(sandbox, API, _completions(sandbox))
    app.router.add_post("/chat/completions", completions)
    app.router.add_post("/v1/chat/completions", completions)
