"""Advertising API clients over httpx.MockTransport: Ozon Performance token caching, WB bid batching, YM
envelopes and rate-limit replies (docs/external-apis.md)."""
from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from adolfd.clients.errors import AuthError, BadResponse
from adolfd.clients.ozon_performance import TOKEN_REFRESH_MARGIN, OzonPerformanceClient
from adolfd.clients.wb_advert import WbAdvertBids, WbAdvertClient, WbNmBid, bid_batches
from adolfd.clients.ym_bids import YmBidsClient
from adolfd.settings import HttpSettings, RateLimit

FAST = RateLimit(rate=1000, burst=100)
SECRET = "very-secret-value"


class OzonFake:
    """Token endpoint plus one campaign list; counts tokens issued and can expire them."""

    def __init__(self, expires_in: int = 1800) -> None:
        self.expires_in = expires_in
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.seen_auth: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/client/token":
            body = json.loads(request.content)
            if body.get("client_secret") != SECRET:
                return httpx.Response(401, json={"error": "invalid client"})
            token = f"tok-{len(self.issued) + 1}"
            self.issued.append(token)
            return httpx.Response(200, json={"access_token": token, "expires_in": self.expires_in,
                                             "token_type": "Bearer"})
        auth = request.headers.get("Authorization", "")
        self.seen_auth.append(auth)
        if auth.removeprefix("Bearer ") in self.revoked or not auth.startswith("Bearer tok-"):
            return httpx.Response(401, json={"error": "token expired"})
        return httpx.Response(200, json={"list": [{"id": "1", "title": "c", "state": "CAMPAIGN_STATE_RUNNING"}]})


def ozon_client(res, fake: OzonFake, secret: str = SECRET) -> OzonPerformanceClient:
    http = httpx.AsyncClient(base_url="https://perf.test", transport=httpx.MockTransport(fake))
    client = OzonPerformanceClient(http, res.limiter, account="t", limits=lambda ec: FAST,
                                   settings=HttpSettings(backoff=0.01))
    client.bind_credentials(res.redis, "42-x@advertising.performance.ozon.ru", secret)
    return client


async def test_ozon_token_is_shared_through_redis(res):
    fake = OzonFake()
    first, second = ozon_client(res, fake), ozon_client(res, fake)        # e.g. two worker processes
    await asyncio.gather(first.campaigns(), second.campaigns(), first.campaigns(), second.campaigns())
    assert fake.issued == ["tok-1"]
    assert set(fake.seen_auth) == {"Bearer tok-1"}
    ttl = await res.redis.ttl(first._token_key)
    assert 1800 - TOKEN_REFRESH_MARGIN - 5 <= ttl <= 1800 - TOKEN_REFRESH_MARGIN
    assert SECRET.encode() not in b"".join(k for k in await res.redis.keys("*"))
    assert await res.redis.get(first._token_key) == b"tok-1"


async def test_ozon_token_is_refreshed_before_it_expires(res):
    fake = OzonFake(expires_in=TOKEN_REFRESH_MARGIN + 1)                # cached for 1 s only
    client = ozon_client(res, fake)
    await client.campaigns()
    await asyncio.sleep(1.2)
    await client.campaigns()
    assert fake.issued == ["tok-1", "tok-2"] and fake.seen_auth[-1] == "Bearer tok-2"


async def test_ozon_401_fetches_a_new_token_once(res):
    fake = OzonFake()
    client = ozon_client(res, fake)
    await client.campaigns()
    fake.revoked.add("tok-1")
    campaigns = await client.campaigns()
    assert [c.id for c in campaigns] == ["1"] and fake.issued == ["tok-1", "tok-2"]


async def test_ozon_refused_credentials_are_an_auth_error_without_the_secret(res):
    client = ozon_client(res, OzonFake(), secret="wrong-secret")
    with pytest.raises(AuthError) as raised:
        await client.campaigns()
    assert "wrong-secret" not in str(raised.value) and "token refused" in str(raised.value)


def test_wb_bid_batches_keep_each_campaign_once_per_request():
    bids = [WbAdvertBids(advert_id=a, nm_bids=[WbNmBid(nm_id=n, bid_kopecks=15000, placement="combined")
                                               for n in range(120)]) for a in range(1, 61)]
    bodies = bid_batches(bids)
    assert all(len(body) <= 50 for body in bodies)
    assert all(len(part["nm_bids"]) <= 50 for body in bodies for part in body)
    assert all(len({part["advert_id"] for part in body}) == len(body) for body in bodies)
    sent = [(part["advert_id"], nb["nm_id"]) for body in bodies for part in body for nb in part["nm_bids"]]
    assert sorted(sent) == sorted((a, n) for a in range(1, 61) for n in range(120))
    assert len(bodies) == 6                                              # 3 slices of 50 × 2 groups of campaigns


async def test_wb_waits_out_a_429_and_retries(res):
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(429, headers={"X-Ratelimit-Retry": "1", "X-Ratelimit-Limit": "5",
                                                "X-Ratelimit-Reset": "1"},
                                  json={"title": "too many requests", "status": 429})
        return httpx.Response(200, json={"adverts": [], "all": 0})

    http = httpx.AsyncClient(base_url="https://wb.test", transport=httpx.MockTransport(handler))
    client = WbAdvertClient(http, res.limiter, account="t", limits=lambda ec: RateLimit(rate=1000, burst=1),
                            settings=HttpSettings())
    client.token = "tkn"
    reply = await client.promotion_count()
    assert reply.all == 0 and len(calls) == 2 and calls[1] - calls[0] >= 0.95


async def test_wb_bid_echo_is_checked_to_each_campaign(res):
    answers = [httpx.Response(200, json={"bids": [{"advert_id": 7, "nm_bids": []}], "currency": "RUB"}),
               httpx.Response(200, json={"bids": [{"advert": 7}]}),
               httpx.Response(200, json={"bids": {"advert_id": 7}})]
    sent: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return answers.pop(0)

    http = httpx.AsyncClient(base_url="https://wb.test", transport=httpx.MockTransport(handler))
    client = WbAdvertClient(http, res.limiter, account="t", limits=lambda ec: FAST, settings=HttpSettings())
    client.token = "tkn"
    body = bid_batches([WbAdvertBids(advert_id=7, nm_bids=[WbNmBid(nm_id=1, bid_kopecks=15000, placement="search")])])
    assert await client.send_bid_batch(body[0]) == [7]
    assert sent[0] == {"bids": [{"advert_id": 7, "nm_bids": [{"nm_id": 1, "bid_kopecks": 15000,
                                                              "placement": "search"}]}]}
    for _ in range(2):                 # an echo without campaign ids: the bids' fate is unknown, said clearly
        with pytest.raises(BadResponse, match="bids reply"):
            await client.send_bid_batch(body[0])


async def test_ym_error_envelope_and_420(res):
    answers = [httpx.Response(420, headers={"X-RateLimit-Resource-Until": "Thu, 01 Jan 1970 00:00:00 GMT"},
                              json={"status": "ERROR", "errors": [{"code": "HIT_RATE_LIMIT", "message": "calm"}]}),
               httpx.Response(200, json={"status": "OK", "result": {"bids": [{"sku": "A", "bid": 500}]}}),
               httpx.Response(200, json={"status": "ERROR", "errors": []})]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Api-Key"] == "key"
        return answers.pop(0)

    http = httpx.AsyncClient(base_url="https://ym.test", transport=httpx.MockTransport(handler))
    client = YmBidsClient(http, res.limiter, account="b", limits=lambda ec: FAST, settings=HttpSettings())
    client.api_key, client.business_id, client.parallel = "key", "77", asyncio.Semaphore(4)
    bids = await client.bids_info(["A"])
    assert [(b["sku"], b["bid"]) for b in bids] == [("A", 500)]
    with pytest.raises(BadResponse):
        await client.bids_info(["A"])


async def test_ym_bids_and_prices_are_validated_as_plain_dicts(res):
    """`bids/info` and `offer-prices` come back as plain dicts, still checked for shape: a bid that is not a
    number or a price without its value is a BadResponse naming the field; an offer without a price is left out."""
    def ok(result: dict) -> httpx.Response:
        return httpx.Response(200, json={"status": "OK", "result": result})

    answers = [ok({"bids": [{"sku": "A", "bid": 500, "extra": 1}, {"sku": "B", "bid": "510"}]}),
               ok({"offers": [{"offerId": "A", "price": {"value": 1999.5, "currencyId": "RUR"}}, {"offerId": "B"},
                              {"offerId": "C", "price": None}]}),
               ok({"bids": [{"sku": "A", "bid": "lots"}]}),
               ok({"offers": [{"offerId": "A", "price": {"currencyId": "RUR"}}]})]
    http = httpx.AsyncClient(base_url="https://ym.test", transport=httpx.MockTransport(lambda r: answers.pop(0)))
    client = YmBidsClient(http, res.limiter, account="b", limits=lambda ec: FAST, settings=HttpSettings())
    client.api_key, client.business_id, client.parallel = "key", "77", asyncio.Semaphore(4)
    assert await client.bids_info(["A", "B"]) == [{"sku": "A", "bid": 500}, {"sku": "B", "bid": 510}]
    assert await client.offer_prices(["A", "B", "C"]) == {"A": 1999.5}
    with pytest.raises(BadResponse, match=r"bids\.0\.bid"):
        await client.bids_info(["A"])
    with pytest.raises(BadResponse, match=r"offers\.0\.price\.value"):
        await client.offer_prices(["A"])
    await http.aclose()


async def test_wb_campaign_products_are_validated_and_read_by_placement(res):
    """A campaign's products come back as plain dicts, still checked for shape: a product without an id, or
    with a bid that is not a number, is a BadResponse; a missing bid reads as 0."""
    advert = {"id": 7, "bid_type": "manual", "status": 9,
              "settings": {"name": "c", "payment_type": "cpm", "placements": {"recommendations": True}},
              "nm_settings": [{"nm_id": 11, "bids_kopecks": {"search": 150, "recommendations": 90}, "extra": 1},
                              {"nm_id": 12}]}
    answers = [httpx.Response(200, json={"adverts": [advert]}),
               httpx.Response(200, json={"adverts": [{**advert, "nm_settings": [{"bids_kopecks": {}}]}]}),
               httpx.Response(200, json={"adverts": [{**advert, "nm_settings": [
                   {"nm_id": 11, "bids_kopecks": {"search": "lots"}}]}]})]
    http = httpx.AsyncClient(base_url="https://wb.test",
                             transport=httpx.MockTransport(lambda request: answers.pop(0)))
    client = WbAdvertClient(http, res.limiter, account="t", limits=lambda ec: FAST, settings=HttpSettings())
    client.token = "tkn"
    (read,) = await client.adverts([7])
    assert read.placement == "recommendations"
    assert [(nm["nm_id"], read.bid_of(nm)) for nm in read.nm_settings or []] == [(11, 90), (12, 0)]
    for broken in ("nm_settings.0.nm_id", "nm_settings.0.bids_kopecks.search"):
        with pytest.raises(BadResponse, match=broken.replace(".", "\\.")):
            await client.adverts([7])
