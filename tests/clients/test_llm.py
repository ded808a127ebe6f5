"""LLM providers: the offline rules provider and the HTTP provider over httpx.MockTransport.

The HTTP provider goes through `ApiClient`, so its rate limiter is the real Redis one (the test DB).
"""
import json
import os

import httpx
import pytest
from adolfd.clients.errors import ApiError, AuthError, BadResponse, Rejected, Unavailable
from adolfd.clients.llm import (
    ChatCompletionsApi,
    HttpProvider,
    LLMBadResponse,
    NoOfflineRule,
    OfflineProvider,
    build_provider,
    parse_answer,
)
from adolfd.clients.ratelimit import RateLimiter
from adolfd.domain.reputation.review_analysis import Analysis, FeedbackItem, Sentiment
from adolfd.errors import is_retryable
from adolfd.settings import HttpSettings, RateLimit, Settings
from pydantic import BaseModel, SecretStr
from redis.asyncio import Redis

BASE = "http://llm.test/v1"
KEY = "sk-test-secret-0123456789"


@pytest.fixture
async def redis():
    r = Redis(db=int(os.environ.get("ADOLFD_TEST_REDIS_DB", "4")))
    await r.flushdb()
    yield r
    await r.flushdb()
    await r.aclose()


class Recorder:
    """A scripted chat-completions server: each call pops the next answer."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def body(self, i: int = -1) -> dict:
        return json.loads(self.requests[i].content)


def completion(content: str, status: int = 200) -> httpx.Response:
    message = {"role": "assistant", "content": content}
    return httpx.Response(status, json={"id": "c1", "choices": [{"index": 0, "finish_reason": "stop",
                                                                 "message": message}]})


@pytest.fixture
async def make_provider(redis):
    sleeps: list[float] = []
    clients: list[httpx.AsyncClient] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def make(recorder: Recorder, attempts: int = 3) -> HttpProvider:
        http = httpx.AsyncClient(base_url=BASE, transport=httpx.MockTransport(recorder))
        clients.append(http)
        api = ChatCompletionsApi(
            http, RateLimiter(redis), api_key=SecretStr(KEY),
            limits=lambda _: RateLimit(rate=1000, burst=100),
            settings=HttpSettings(attempts=attempts, backoff=0.25), sleep=fake_sleep,
        )
        return HttpProvider(api, model="test-model")

    make.sleeps = sleeps
    yield make
    for http in clients:
        await http.aclose()


REVIEW = FeedbackItem("wb", "review", "fb-1", text="Платье село после стирки", rating=4, author="Ольга",
                      product_name="Платье летнее")


async def test_analyze_sends_chat_request_and_parses_answer(make_provider):
    rec = Recorder(completion('{"sentiment": "neutral", "topics": ["Size", "quality"], "escalate": false}'))
    result = await make_provider(rec).analyze(REVIEW)
    request = rec.requests[0]
    assert request.url == f"{BASE}/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = rec.body()
    assert body["model"] == "test-model"
    assert body["response_format"] == {"type": "json_object"}
    assert "Платье село после стирки" in body["messages"][1]["content"]
    assert result.sentiment is Sentiment.NEUTRAL
    assert result.topics == ("size", "quality")
    assert result.provider == "http:test-model"
    assert not result.escalate


async def test_a_model_cannot_hide_a_low_rating(make_provider):
    rec = Recorder(completion('{"sentiment": "positive", "topics": [], "escalate": false}'))
    item = FeedbackItem("ozon", "review", "r-2", text="Брак", rating=1)
    result = await make_provider(rec).analyze(item)
    assert result.escalate
    assert result.sentiment is Sentiment.NEGATIVE
    assert result.reasons == ("low_rating", "defect")


async def test_draft_reply_passes_instructions_and_fences_are_stripped(make_provider):
    rec = Recorder(completion('```json\n{"reply": "Здравствуйте, Ольга!   Спасибо за отзыв."}\n```'))
    text = await make_provider(rec).draft_reply(REVIEW, Analysis(Sentiment.NEUTRAL), "упомяни таблицу размеров")
    assert text == "Здравствуйте, Ольга! Спасибо за отзыв."
    assert "упомяни таблицу размеров" in rec.body()["messages"][1]["content"]


class Extraction(BaseModel):
    make: str
    year: int


async def test_complete_json_validates_against_the_callers_schema(make_provider):
    rec = Recorder(completion('{"make": "Toyota", "year": 2015}'))
    result = await make_provider(rec).complete_json("Продаю Toyota 2015", Extraction)
    assert result == Extraction(make="Toyota", year=2015)
    assert "year" in rec.body()["messages"][0]["content"]  # the JSON schema is sent


async def test_5xx_and_timeouts_are_retried_with_backoff(make_provider):
    rec = Recorder(httpx.Response(502, text="bad gateway"), httpx.ReadTimeout("slow"),
                   completion('{"make": "Lada", "year": 2010}'))
    provider = make_provider(rec, attempts=3)
    result = await provider.complete_json("x", Extraction)
    assert result.make == "Lada"
    assert len(rec.requests) == 3
    assert make_provider.sleeps == [0.25, 0.5]


async def test_persistent_5xx_is_unavailable_after_the_configured_tries(make_provider):
    rec = Recorder(*(httpx.Response(503, text="overloaded") for _ in range(3)))
    with pytest.raises(Unavailable) as err:
        await make_provider(rec, attempts=3).complete_json("x", Extraction)
    assert len(rec.requests) == 3
    assert is_retryable(err.value)
    assert KEY not in str(err.value)


async def test_429_waits_as_asked_then_succeeds(make_provider):
    rec = Recorder(httpx.Response(429, headers={"Retry-After": "0"}, json={"error": {"message": "slow down"}}),
                   completion('{"make": "Kia", "year": 2020}'))
    assert (await make_provider(rec).complete_json("x", Extraction)).make == "Kia"
    assert len(rec.requests) == 2


@pytest.mark.parametrize("status, error", [(400, Rejected), (404, Rejected), (401, AuthError)])
async def test_client_errors_are_not_retried(make_provider, status, error):
    rec = Recorder(httpx.Response(status, json={"error": {"message": "model not found"}}))
    with pytest.raises(error):
        await make_provider(rec).complete_json("x", Extraction)
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    "response, message",
    [
        (httpx.Response(200, text="<html>proxy error</html>"), "malformed JSON"),
        (httpx.Response(200, json={"object": "error"}), "no choices"),
        (httpx.Response(200, json={"choices": []}), "no choices"),
        (completion(""), "empty"),
        (completion("Sure! Here is the JSON you asked for"), "not JSON"),
        (completion('{"make": "Audi"}'), "does not match Extraction: year"),
        (completion('{"make": "Audi", "year": "old"}'), "does not match Extraction: year"),
    ],
)
async def test_malformed_answers_raise_clear_errors(make_provider, response, message):
    with pytest.raises(BadResponse, match=message) as err:
        await make_provider(Recorder(response)).complete_json("x", Extraction)
    assert not is_retryable(err.value)


async def test_malformed_analysis_answer_names_the_field(make_provider):
    rec = Recorder(completion('{"sentiment": "ecstatic"}'))
    with pytest.raises(LLMBadResponse, match="AnalysisAnswer: sentiment"):
        await make_provider(rec).analyze(REVIEW)


async def test_reply_that_is_too_short_is_refused(make_provider):
    with pytest.raises(LLMBadResponse, match="reply"):
        await make_provider(Recorder(completion('{"reply": "!"}'))).draft_reply(REVIEW, Analysis(Sentiment.NEUTRAL))


def test_parse_answer_accepts_plain_json_without_fences():
    assert parse_answer({"choices": [{"message": {"content": ' {"make": "VW", "year": 1999} '}}]},
                        Extraction).year == 1999


async def test_offline_provider_uses_the_rules():
    provider = OfflineProvider()
    item = FeedbackItem("ym", "review", "y1", text="Брак, хочу вернуть", rating=2)
    analysis = await provider.analyze(item)
    assert analysis.provider == "offline" and analysis.escalate
    draft = await provider.draft_reply(item, analysis)
    assert "возврат" in draft


async def test_offline_complete_json_needs_a_registered_rule():
    provider = OfflineProvider()
    with pytest.raises(NoOfflineRule, match="no rule for Extraction"):
        await provider.complete_json("Продаю Lada 2010", Extraction)
    provider.register(Extraction, lambda prompt: Extraction(make=prompt.split()[1], year=int(prompt.split()[2])))
    assert await provider.complete_json("Продаю Lada 2010", Extraction) == Extraction(make="Lada", year=2010)
    assert isinstance(NoOfflineRule("x"), ApiError)


async def test_build_provider_from_settings(redis):
    assert isinstance(build_provider(Settings(), None, None), OfflineProvider)
    with pytest.raises(ValueError, match="unknown LLM provider 'gpt'"):
        build_provider(Settings(llm={"provider": "gpt"}), None, None)
    async with httpx.AsyncClient(base_url=BASE) as http:
        provider = build_provider(Settings(llm={"provider": "http", "model": "m1", "api_key": KEY}), http,
                                  RateLimiter(redis))
        assert isinstance(provider, HttpProvider) and provider.name == "http:m1"
        assert KEY not in repr(Settings(llm={"api_key": KEY}))


def test_the_model_sees_the_author_only_when_it_is_a_name():
    from adolfd.clients.llm import describe_item

    named = FeedbackItem("wb", "review", "x1", text="Отлично", rating=5, author="Анна")
    handle = FeedbackItem("wb", "review", "x1", text="Отлично", rating=5, author="t.me/cheap_copies_shop")
    assert "Author: Анна" in describe_item(named)
    assert "cheap_copies_shop" not in describe_item(handle) and "Author" not in describe_item(handle)
