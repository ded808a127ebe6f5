"""A client built by its constructor is whole: what a request needs is given to `__init__`, not set afterwards by
`for_brand`, and `ctx.client` returns one instance per (API, brand) typed as its class."""
from __future__ import annotations

import asyncio

import httpx
import pytest
from adolfd.clients.ozon import OzonSellerClient
from adolfd.clients.ym_bids import MAX_PARALLEL, YmBidsClient
from adolfd.clients.ym_feedback import YmFeedbackClient
from adolfd.settings import ApiCredentials, HttpSettings, RateLimit
from pydantic import SecretStr

FAST = RateLimit(rate=1000, burst=100)


async def test_ozon_seller_client_built_directly_sends_its_credentials(res):
    seen: list[tuple[str | None, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers.get("Client-Id"), request.headers.get("Api-Key")))
        return httpx.Response(200, json={"clusters": []})

    http = httpx.AsyncClient(base_url="https://ozon.test", transport=httpx.MockTransport(handler))
    client = OzonSellerClient(http, res.limiter, account="111", limits=lambda ec: FAST, settings=HttpSettings(),
                              creds=ApiCredentials(client_id="111", api_key=SecretStr("k-1")))
    assert await client.clusters() == []
    assert seen == [("111", "k-1")]
    await http.aclose()


async def test_ozon_seller_client_without_an_api_key_is_refused_when_built(res):
    http = httpx.AsyncClient(base_url="https://ozon.test")
    with pytest.raises(LookupError, match="client_id and api_key"):
        OzonSellerClient(http, res.limiter, account="111", limits=lambda ec: FAST,
                         creds=ApiCredentials(client_id="111"))
    await http.aclose()


async def test_ym_bids_client_built_directly_bounds_its_parallel_requests(res, parallel_probe):
    probe = parallel_probe(0.02)
    http = probe.client()
    client = YmBidsClient(http, res.limiter, account="b", limits=lambda ec: FAST, settings=HttpSettings())
    client.api_key, client.business_id = "key", "77"
    replies = await asyncio.wait_for(asyncio.gather(*(client.bids_info(["A"]) for _ in range(3 * MAX_PARALLEL))),
                                     timeout=30)
    assert all([(b["sku"], b["bid"]) for b in reply] == [("A", 500)] for reply in replies)
    assert 1 <= probe.peak <= MAX_PARALLEL
    await http.aclose()


async def test_ctx_client_by_class_or_by_name_is_one_instance_per_class(res):
    brand = next(iter(res.settings.credentials["ozon_seller"]))
    by_class = res.client(OzonSellerClient, brand)
    assert isinstance(by_class, OzonSellerClient)
    assert res.client("ozon_seller", brand) is by_class
    # two classes of one marketplace API (YM's bids and its feedback) are two clients, never one for the other
    ym_brand = next(b for b, c in res.settings.credentials["ym"].items() if c.business_id)
    bids, feedback = res.client("ym_bids", ym_brand), res.client("ym_feedback", ym_brand)
    assert isinstance(bids, YmBidsClient) and isinstance(feedback, YmFeedbackClient)
