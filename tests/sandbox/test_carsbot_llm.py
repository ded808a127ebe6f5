"""The carsbot ad schemas through both LLM providers: offline rules, and the sandbox model over HTTP."""
from __future__ import annotations

import os

import httpx
import pytest
from adolfd.clients.llm import ChatCompletionsApi, HttpProvider, build_provider
from adolfd.clients.ratelimit import RateLimiter
from adolfd.domain.carsbot.answers import (
    CarAdFields,
    CarAdVerdict,
    CarPostText,
    classification_prompt,
    extraction_prompt,
    generation_prompt,
)
from adolfd.settings import HttpSettings, RateLimit, Settings
from pydantic import SecretStr
from redis.asyncio import Redis

AD = "Продам Kia Rio 2015, пробег 156 000 км, 780 000 руб, Екатеринбург, @rio_seller"
NOT_AD = "Куплю Kia Rio до 700 тыс, Екатеринбург"


async def _pipeline(provider) -> tuple[CarAdVerdict, CarAdVerdict, CarAdFields, CarPostText]:
    verdict = await provider.complete_json(classification_prompt(AD, 2027), CarAdVerdict)
    rejected = await provider.complete_json(classification_prompt(NOT_AD, 2027), CarAdVerdict)
    fields = await provider.complete_json(extraction_prompt(AD, 2027), CarAdFields)
    post = await provider.complete_json(generation_prompt(AD, fields, 1024), CarPostText)
    return verdict, rejected, fields, post


def _check(verdict, rejected, fields, post) -> None:
    assert verdict.is_ad and not rejected.is_ad and "not_a_sale:куплю" in rejected.reasons
    assert fields.model_dump() == {"make": "Kia", "model": "Rio", "year": 2015, "price_rub": 780_000,
                                   "mileage_km": 156_000, "city": "Екатеринбург", "contact": "@rio_seller"}
    assert post.text.startswith("🚗 <b>Kia Rio, 2015</b>")


async def test_offline_provider_answers_the_carsbot_schemas():
    _check(*await _pipeline(build_provider(Settings(), None, None)))


@pytest.fixture
async def redis():
    r = Redis(db=int(os.environ.get("ADOLFD_TEST_REDIS_DB", "4")))
    await r.flushdb()
    yield r
    await r.flushdb()
    await r.aclose()


async def test_sandbox_model_answers_the_carsbot_schemas_over_http(running, redis):
    async with httpx.AsyncClient(base_url=running.api_url("llm")) as http:
        api = ChatCompletionsApi(http, RateLimiter(redis), api_key=SecretStr("sk-sandbox"),
                                 limits=lambda _: RateLimit(rate=1000, burst=100), settings=HttpSettings())
        _check(*await _pipeline(HttpProvider(api, model="sandbox")))
    assert running.sandbox.counter("llm_completions", "sandbox") == 4
