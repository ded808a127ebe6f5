"""LLM providers: review analysis and reply drafts (seed 003 §7.3), later marketing recommendations and
carsbot extraction (ARCHITECTURE.md "External systems").

Two providers behind one interface, chosen by configuration:

- `OfflineProvider` (the default): the rules of DOMAIN.md, no network. Analysis and drafts come from
  `adolfd.domain.reputation.review_analysis` and `adolfd.domain.reputation.replies`; `complete_json` answers only
  schemas a module registered a rule for (the carsbot ad schemas of `adolfd.domain.carsbot.answers` are built in),
  and says so clearly for any other schema.
- `HttpProvider`: an OpenAI-compatible chat-completions API (`POST {api_urls.llm}/chat/completions`, bearer
  key, `response_format: json_object`), through `ApiClient` like every other external API: shared Redis rate
  limit, 5xx / 429 / timeouts retried with exponential backoff, other 4xx not. The answer is parsed as JSON and
  validated with the caller's pydantic schema; a malformed one raises `LLMBadResponse` saying what was wrong.
  Every failure is an `ApiError`; no message carries the key.

Whatever a model says, `enforce_rules` re-applies the escalation rule to its analysis.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator

from adolfd.clients.errors import ApiError, BadResponse
from adolfd.clients.http import ApiClient
from adolfd.clients.ratelimit import RateLimiter
from adolfd.domain.carsbot.answers import OFFLINE_RULES as CARSBOT_RULES
from adolfd.domain.reputation import replies
from adolfd.domain.reputation.reply_guard import MIN_REPLY_CHARS, looks_like_name
from adolfd.domain.reputation.review_analysis import (
    DEFAULT_LEXICON,
    Analysis,
    FeedbackItem,
    Lexicon,
    Sentiment,
    analyze_offline,
    enforce_rules,
)
from adolfd.settings import Settings

if TYPE_CHECKING:
    from adolfd.engine.context import Resources

M = TypeVar("M", bound=BaseModel)


# -- errors ---------------------------------------------------------------------------------------------
class LLMBadResponse(BadResponse):
    """The API answered, but not with what was asked: no content, content not JSON, or not matching the schema."""


class NoOfflineRule(ApiError):
    """The offline provider was asked for a schema no module registered a rule for."""


# -- the interface --------------------------------------------------------------------------------------
class LLMProvider(Protocol):
    name: str

    async def analyze(self, item: FeedbackItem) -> Analysis: ...

    async def draft_reply(self, item: FeedbackItem, analysis: Analysis, instructions: str | None = None) -> str: ...

    async def complete_json(self, prompt: str, schema: type[M]) -> M: ...

    async def aclose(self) -> None: ...


OfflineRule = Callable[[str], BaseModel]


class OfflineProvider:
    """DOMAIN.md's rules provider. Modules add rules for their own `complete_json` schemas via `register`."""

    name = "offline"

    def __init__(self, lexicon: Lexicon = DEFAULT_LEXICON, rules: dict[type[BaseModel], OfflineRule] | None = None):
        self.lexicon = lexicon
        self._rules: dict[type[BaseModel], OfflineRule] = dict(rules or {})

    def register(self, schema: type[BaseModel], rule: OfflineRule) -> None:
        self._rules[schema] = rule

    async def analyze(self, item: FeedbackItem) -> Analysis:
        return analyze_offline(item, self.lexicon)

    async def draft_reply(self, item: FeedbackItem, analysis: Analysis, instructions: str | None = None) -> str:
        return replies.draft_reply(item, analysis, instructions)

    async def complete_json(self, prompt: str, schema: type[M]) -> M:
        rule = self._rules.get(schema)
        if rule is None:
            raise NoOfflineRule(
                f"the offline LLM provider has no rule for {schema.__name__}; "
                "register one with OfflineProvider.register or configure the HTTP provider", api="llm"
            )
        answer = rule(prompt)
        return answer if isinstance(answer, schema) else schema.model_validate(answer.model_dump())

    async def aclose(self) -> None:
        return None


# -- answer schemas of the reputation prompts -------------------------------------------------------------
class AnalysisAnswer(BaseModel):
    sentiment: Sentiment
    topics: list[str] = Field(default_factory=list, max_length=12)
    escalate: bool = False
    reasons: list[str] = Field(default_factory=list, max_length=12)

    @field_validator("topics", "reasons")
    @classmethod
    def _names(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip().lower().replace(" ", "_")[:40] for v in values]
        return list(dict.fromkeys(v for v in cleaned if v))


class ReplyAnswer(BaseModel):
    reply: str = Field(min_length=MIN_REPLY_CHARS, max_length=3000)


ANALYSIS_SYSTEM = (
    "You analyse marketplace reviews and questions for a seller. Answer with one JSON object only: "
    '{"sentiment": "positive|neutral|negative", "topics": [..], "escalate": bool, "reasons": [..]}. '
    "Topics come from: defect, return, safety, size, delivery, packaging, price, quality, description. "
    "Escalate when the rating is 1-2 or the text speaks of defects, returns or safety; reasons name why "
    "(low_rating, defect, return, safety)."
)

REPLY_SYSTEM = (
    "You write the seller's public reply to a marketplace review or question, in Russian, polite, at most "
    f"{replies.MAX_DRAFT_CHARS} characters, without links, phone numbers or promises of money. "
    'Answer with one JSON object only: {"reply": "..."}.'
)


def describe_item(item: FeedbackItem) -> str:
    lines = [f"Marketplace: {item.platform}", f"Type: {item.item_type.value}"]
    if item.product_name:
        lines.append(f"Product: {item.product_name}")
    if item.rating is not None:
        lines.append(f"Rating: {item.rating}/5")
    if looks_like_name(item.author):          # a link or an ad as the author name is not shown to the model
        lines.append(f"Author: {item.author}")
    for label, text in (("Text", item.text), ("Pros", item.pros), ("Cons", item.cons)):
        if text:
            lines.append(f"{label}: {text}")
    return "\n".join(lines)


# -- the HTTP provider ----------------------------------------------------------------------------------
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class ChatCompletionsApi(ApiClient):
    """An OpenAI-compatible chat-completions endpoint behind the shared rate limiter (`llm:default`).

    Retries, backoff, 429 handling and error mapping are `ApiClient`'s: 5xx and timeouts → `Unavailable`
    after `http.attempts` tries, 401/403 → `AuthError`, other 4xx → `Rejected`, a body that is not JSON →
    `BadResponse`. A completion has no side effect, so it is safe to repeat.
    """

    api = "llm"

    def __init__(self, http: httpx.AsyncClient, limiter: RateLimiter, *, api_key: SecretStr, **kw: Any) -> None:
        kw.setdefault("account", "default")
        super().__init__(http, limiter, **kw)
        self._api_key = api_key

    async def auth_headers(self) -> dict[str, str]:
        key = self._api_key.get_secret_value()
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def chat(self, body: dict[str, Any]) -> Any:
        return await self.request_json("POST", "chat/completions", json_body=body, idempotent=True)


class HttpProvider:
    """Prompts for the reputation answers, JSON answers validated by pydantic (module docstring)."""

    def __init__(
        self,
        api: ChatCompletionsApi,
        *,
        model: str,
        temperature: float = 0.2,
        json_mode: bool = True,
        lexicon: Lexicon = DEFAULT_LEXICON,
    ) -> None:
        self.api = api
        self.model = model
        self.temperature = temperature
        self.json_mode = json_mode
        self.lexicon = lexicon
        self.name = f"http:{model}"

    async def aclose(self) -> None:
        return None  # the httpx client belongs to the worker's resources

    async def analyze(self, item: FeedbackItem) -> Analysis:
        answer = await self._ask(ANALYSIS_SYSTEM, describe_item(item), AnalysisAnswer)
        analysis = Analysis(
            sentiment=answer.sentiment,
            topics=tuple(answer.topics),
            escalate=answer.escalate,
            reasons=tuple(answer.reasons),
            provider=self.name,
        )
        return enforce_rules(item, analysis, self.lexicon)

    async def draft_reply(self, item: FeedbackItem, analysis: Analysis, instructions: str | None = None) -> str:
        prompt = describe_item(item) + "\nAnalysis: " + json.dumps(analysis.as_json(), ensure_ascii=False)
        if instructions:
            prompt += f"\nOperator's instructions for this reply: {instructions}"
        answer = await self._ask(REPLY_SYSTEM, prompt, ReplyAnswer)
        return replies.fit_reply(answer.reply)

    async def complete_json(self, prompt: str, schema: type[M]) -> M:
        system = (
            "Answer with one JSON object only, matching this JSON schema: "
            + json.dumps(schema.model_json_schema(), ensure_ascii=False)
        )
        return await self._ask(system, prompt, schema)

    async def _ask(self, system: str, prompt: str, schema: type[M]) -> M:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": prompt}],
            "temperature": self.temperature,
        }
        if self.json_mode:
            body["response_format"] = {"type": "json_object"}
        return parse_answer(await self.api.chat(body), schema)


def parse_answer(envelope: Any, schema: type[M]) -> M:
    """Chat-completions envelope → the JSON object in the first choice → `schema`. Clear errors otherwise."""
    try:
        choice = envelope["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LLMBadResponse(
            "answer has no choices[0].message.content: "
            f"{_excerpt(json.dumps(envelope, ensure_ascii=False))!r}", api="llm"
        ) from None
    if not isinstance(content, str) or not content.strip():
        reason = choice.get("finish_reason") if isinstance(choice, dict) else None
        raise LLMBadResponse(f"answer is empty (finish_reason={reason!r})", api="llm")
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except ValueError:
        raise LLMBadResponse(f"answer is not JSON: {_excerpt(content)!r}", api="llm") from None
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise LLMBadResponse(f"answer does not match {schema.__name__}: {problems}", api="llm") from None


def build_provider(settings: Settings, http: httpx.AsyncClient | None, limiter: RateLimiter | None) -> LLMProvider:
    """The configured provider: `offline` (default) or `http` (needs the worker's httpx client and limiter)."""
    choice = settings.llm.provider
    if choice == "offline":
        return OfflineProvider(rules=CARSBOT_RULES)
    if choice != "http":
        raise ValueError(f"unknown LLM provider {choice!r}; expected 'offline' or 'http'")
    if http is None or limiter is None:
        raise ValueError("the http LLM provider needs an httpx client and the rate limiter")
    api = ChatCompletionsApi(
        http, limiter, api_key=settings.llm.api_key,
        limits=lambda endpoint_class: settings.rate_limit("llm", endpoint_class), settings=settings.http,
    )
    return HttpProvider(api, model=settings.llm.model, temperature=settings.llm.temperature,
                        json_mode=settings.llm.json_mode)


def worker_provider(res: Resources) -> LLMProvider:
    """The process's LLM provider, built once (offline unless `llm.provider=http`); its HTTP pool is one of the
    process's and is closed with them."""
    if res.llm is None:
        http = None
        if res.settings.llm.provider == "http":
            http = res.http.setdefault("llm", llm_http_client(res.settings))
        res.llm = build_provider(res.settings, http, res.limiter)
    return res.llm


def llm_http_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The LLM's own connection pool: its timeout is `llm.timeout`, longer than a marketplace call's."""
    return httpx.AsyncClient(
        base_url=settings.api_urls.llm, timeout=settings.llm.timeout, transport=transport,
        headers={"User-Agent": "adolfd/0.1"},
    )


def _excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
