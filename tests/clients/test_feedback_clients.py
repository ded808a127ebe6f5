"""Reviews/questions clients over httpx.MockTransport: request shapes, paging ends, refusals in a 200, bad entries.

The full round trips against the sandbox are in tests/workers/reputation; these pin what the sandbox cannot
vary: older response shapes, envelopes with an error flag, entries a model rejects.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from adolfd.clients.errors import BadResponse, Rejected
from adolfd.clients.ozon_reviews import OzonReviewsClient
from adolfd.clients.ratelimit import RateLimiter
from adolfd.clients.wb_feedbacks import WbFeedbacksClient
from adolfd.clients.ym_feedback import YmFeedbackClient
from adolfd.domain.reputation.review_analysis import ItemType
from adolfd.settings import HttpSettings, RateLimit

SINCE = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
async def make(res):
    clients: list[httpx.AsyncClient] = []

    def build(cls, handler, **kw):
        http = httpx.AsyncClient(base_url="http://api.test", transport=httpx.MockTransport(handler))
        clients.append(http)
        return cls(http, RateLimiter(res.redis), account="acc", brand="ohana_kids",
                   limits=lambda _: RateLimit(rate=1000, burst=100), settings=HttpSettings(attempts=1), **kw)

    yield build
    for http in clients:
        await http.aclose()


def wb_feedback(i: int, **over) -> dict:
    return {"id": f"fb{i}", "text": "Отлично", "pros": "", "cons": "", "productValuation": 5,
            "createdDate": "2026-03-02T10:00:00Z", "answer": None,
            "productDetails": {"nmId": 100 + i, "productName": "Плед"}, "userName": "Анна", **over}


async def test_wb_pages_until_a_short_page_and_sets_aside_bad_entries(make):
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.url.params))
        assert request.headers["Authorization"] == "tok"
        skip = int(request.url.params["skip"])
        page = [wb_feedback(i) for i in range(skip, min(skip + 2, 3))]
        if skip == 0:
            page[1] = wb_feedback(1, productValuation=None)           # one entry WB sent without a rating
        return httpx.Response(200, json={"data": {"countUnanswered": 3, "feedbacks": page}, "error": False})

    client = make(WbFeedbacksClient, handler, token="tok", page_size=2)
    result = await client.unanswered(ItemType.REVIEW, SINCE)
    assert [p["skip"] for p in seen] == ["0", "2"]
    assert seen[0]["isAnswered"] == "false" and seen[0]["order"] == "dateAsc"
    assert seen[0]["dateFrom"] == str(int(SINCE.timestamp()))
    assert [f.item.external_id for f in result.items] == ["fb0", "fb2"]
    assert result.items[0].sku == "100" and result.items[0].item.author == "Анна"
    assert [(b.external_id, b.error) for b in result.invalid] == [
        ("fb1", "productValuation: Input should be a valid integer")]


async def test_wb_error_flag_in_a_200_is_a_refusal(make):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": None, "error": True, "errorText": "Вопрос не найден"})

    client = make(WbFeedbacksClient, handler, token="tok")
    with pytest.raises(Rejected, match="Вопрос не найден"):
        await client.publish(ItemType.QUESTION, "q1", "", "Здравствуйте!")


async def test_wb_list_without_its_array_is_a_bad_response(make):
    client = make(WbFeedbacksClient, lambda r: httpx.Response(200, json={"data": {"countUnanswered": 1}}),
                  token="tok")
    with pytest.raises(BadResponse, match="data.feedbacks is missing"):
        await client.unanswered(ItemType.REVIEW, SINCE)


async def test_ozon_question_list_of_the_older_spec_ends_on_an_empty_page(make):
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if body.get("last_id"):
            return httpx.Response(200, json={"questions": [], "last_id": ""})
        return httpx.Response(200, json={"questions": [{"id": "q1", "sku": 5, "text": "Размер?",
                                                        "published_at": "2026-03-02T10:00:00Z"}],
                                         "last_id": "q1"})

    client = make(OzonReviewsClient, handler, client_id="1", api_key="k")
    result = await client.unanswered(ItemType.QUESTION, SINCE)
    assert [q.item.external_id for q in result.items] == ["q1"] and result.pages == 2
    assert bodies[0]["filter"] == {"status": "UNPROCESSED", "date_from": "2026-03-01T00:00:00Z"}


async def test_ozon_processed_reviews_are_not_unanswered_and_processed_counts_as_answered(make):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/review/list":
            return httpx.Response(200, json={"has_next": False, "last_id": "b", "reviews": [
                {"id": "a", "sku": 1, "text": "", "rating": 5, "status": "PROCESSED",
                 "published_at": "2026-03-02T10:00:00Z"},
                {"id": "b", "sku": 1, "text": "", "rating": 4, "status": "VIEWED",
                 "published_at": "2026-03-02T11:00:00Z"}]})
        if request.url.path == "/v1/review/comment/list":
            return httpx.Response(200, json={"comments": [{"id": "c", "text": "от покупателя", "is_owner": False}]})
        return httpx.Response(200, json={"id": "b", "status": "PROCESSED"})

    client = make(OzonReviewsClient, handler, client_id="1", api_key="k")
    result = await client.unanswered(ItemType.REVIEW, SINCE)
    assert [r.item.external_id for r in result.items] == ["b"]
    answers = await client.seller_answers(ItemType.REVIEW, "b", "1")
    assert len(answers) == 1 and answers[0].text == ""          # handled, though the comment is not listed yet


async def test_ym_error_envelope_is_a_refusal_and_versions_are_in_the_path(make):
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path.endswith("goods-questions/update"):
            return httpx.Response(200, json={"status": "ERROR", "errors": [{"code": "BAD", "message": "no"}]})
        return httpx.Response(200, json={"status": "OK", "result": {"feedbacks": [], "paging": {}}})

    client = make(YmFeedbackClient, handler, api_key="k", business_id="77")
    await client.unanswered(ItemType.REVIEW, SINCE)
    with pytest.raises(Rejected, match="goods-questions answer"):
        await client.publish(ItemType.QUESTION, "5", "", "Да")
    assert paths == ["/v2/businesses/77/goods-feedback", "/v1/businesses/77/goods-questions/update"]


def test_ym_client_needs_a_business_id():
    with pytest.raises(LookupError, match="business_id"):
        YmFeedbackClient(httpx.AsyncClient(), None, account="x", brand="ohana_kids", api_key="k", business_id="",
                         limits=lambda _: RateLimit(rate=1))


@pytest.mark.parametrize("cls, kw, kind, status, body", [
    (WbFeedbacksClient, {"token": "t"}, ItemType.REVIEW, 200, {}),
    (WbFeedbacksClient, {"token": "t"}, ItemType.REVIEW, 200, ["ok"]),
    (WbFeedbacksClient, {"token": "t"}, ItemType.QUESTION, 200, {}),
    (OzonReviewsClient, {"client_id": "1", "api_key": "k"}, ItemType.REVIEW, 200, {}),
    (OzonReviewsClient, {"client_id": "1", "api_key": "k"}, ItemType.QUESTION, 200, {"answer_id": ""}),
    (YmFeedbackClient, {"api_key": "k", "business_id": "5"}, ItemType.REVIEW, 200, {"status": "OK"}),
    (YmFeedbackClient, {"api_key": "k", "business_id": "5"}, ItemType.QUESTION, 200, {"status": "OK", "result": {}}),
])
async def test_a_publish_answer_without_its_expected_body_is_a_bad_response(make, cls, kw, kind, status, body):
    """A 200 that does not say what was created is no proof of publishing (the outcome is unknown)."""
    client = make(cls, lambda request: httpx.Response(status, json=body), **kw)
    with pytest.raises(BadResponse):
        await client.publish(kind, "123", "456", "Спасибо за отзыв!")


async def test_wb_review_answer_204_is_accepted(make):
    client = make(WbFeedbacksClient, lambda request: httpx.Response(204), token="t")
    assert await client.publish(ItemType.REVIEW, "fb1", "", "Спасибо за отзыв!") == ""
