"""The sandbox model drafts reputation replies as the offline rules do, for questions as well as reviews."""
from __future__ import annotations

import os

import httpx
import pytest
from adolfd.clients.llm import ChatCompletionsApi, HttpProvider, build_provider
from adolfd.clients.ratelimit import RateLimiter
from adolfd.domain.reputation.replies import QUESTION_CLOSING
from adolfd.domain.reputation.review_analysis import FeedbackItem, ItemType
from adolfd.settings import HttpSettings, RateLimit, Settings
from pydantic import SecretStr
from redis.asyncio import Redis

QUESTION = FeedbackItem(platform="ozon", item_type=ItemType.QUESTION, external_id="q1",
                        text="Какой размер выбрать при росте 170?", author="Анна", product_name="Куртка")
REVIEW = FeedbackItem(platform="wb", item_type=ItemType.REVIEW, external_id="r1", text="Отличная куртка, тёплая",
                      rating=5, author="Олег", product_name="Куртка")


@pytest.fixture
async def redis():
    r = Redis(db=int(os.environ.get("ADOLFD_TEST_REDIS_DB", "4")))
    await r.flushdb()
    yield r
    await r.flushdb()
    await r.aclose()


@pytest.mark.parametrize("item", [QUESTION, REVIEW], ids=["question", "review"])
async def test_sandbox_model_drafts_the_offline_reply_of_a_question_and_a_review(running, redis, item):
    offline = build_provider(Settings(), None, None)
    expected = await offline.draft_reply(item, await offline.analyze(item))
    async with httpx.AsyncClient(base_url=running.api_url("llm")) as http:
        api = ChatCompletionsApi(http, RateLimiter(redis), api_key=SecretStr("sk-sandbox"),
                                 limits=lambda _: RateLimit(rate=1000, burst=100), settings=HttpSettings())
        provider = HttpProvider(api, model="sandbox")
        reply = await provider.draft_reply(item, await provider.analyze(item))
    assert reply == expected
    assert reply.endswith(QUESTION_CLOSING) == (item.item_type is ItemType.QUESTION)
