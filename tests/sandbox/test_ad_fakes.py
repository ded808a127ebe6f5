"""The advertising fakes answer as the marketplaces do: auth, validation, limits with their headers, counters."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from adolfd.sandbox import ads
from adolfd.sandbox.accounts import ACCOUNTS

WB = {"Authorization": ACCOUNTS["ohana_market"].wb.token}
YM = {"Api-Key": ACCOUNTS["ohana_market"].ym.api_key}
BUSINESS = ACCOUNTS["ohana_market"].ym.business_id


async def test_wb_rate_limit_answers_429_with_wb_headers(sandbox):
    sandbox.sandbox.reset()
    async with httpx.AsyncClient(base_url=f"{sandbox.url}/wb-advert") as http:
        answers = [await http.get("/adv/v1/promotion/count", headers=WB) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    refused = answers[-1]
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["X-Ratelimit-Retry"]) >= 1 and refused.headers["X-Ratelimit-Limit"] == "5"
    assert "X-Ratelimit-Remaining" in answers[0].headers and "X-Ratelimit-Remaining" not in refused.headers
    assert refused.json()["title"] == "too many requests"


async def test_wb_bids_are_validated_like_wb(sandbox):
    sandbox.sandbox.reset()
    campaign = ads.campaigns(sandbox.sandbox.seed, "wb", "ohana_market")[0]
    nm = int(campaign.units[0].unit_id)
    async with httpx.AsyncClient(base_url=f"{sandbox.url}/wb-advert", headers=WB) as http:
        def bid(kopecks: int) -> dict:
            return {"advert_id": campaign.campaign_id,
                    "nm_bids": [{"nm_id": nm, "bid_kopecks": kopecks, "placement": "combined"}]}

        twice = await http.patch("/api/advert/v1/bids", json={"bids": [bid(20000), bid(20000)]})
        low = await http.patch("/api/advert/v1/bids", json={"bids": [bid(3)]})
        ok = await http.patch("/api/advert/v1/bids", json={"bids": [bid(20000)]})
    assert twice.status_code == 400 and "not unique" in twice.json()["detail"]
    assert low.status_code == 400 and low.json()["detail"] == "wrong bid value: 3; min: 15000"
    assert ok.status_code == 200 and ok.json()["bids"][0]["nm_bids"][0]["bid_kopecks"] == 20000
    assert sandbox.sandbox.counter("bids_set", f"wb:ohana_market:{campaign.campaign_id}:{nm}") == 1


async def test_ym_allows_four_parallel_requests_per_business(sandbox):
    sandbox.sandbox.reset()
    async with httpx.AsyncClient(base_url=f"{sandbox.url}/ym", headers=YM, timeout=5) as http:
        assert (await http.post("/_sandbox/latency", json={"seconds": 0.5})).status_code == 200
        slow = [asyncio.create_task(http.post(f"/v2/businesses/{BUSINESS}/bids/info", json={})) for _ in range(4)]
        await asyncio.sleep(0.2)
        fifth = await http.post(f"/v2/businesses/{BUSINESS}/bids/info", json={})
        done = await asyncio.gather(*slow)
        await http.post("/_sandbox/latency", json={"seconds": 0})
    assert fifth.status_code == 420 and "4 parallel requests" in fifth.json()["errors"][0]["message"]
    assert "X-RateLimit-Resource-Until" in fifth.headers
    assert [d.status_code for d in done] == [200] * 4


async def test_ozon_performance_token_expires_on_the_sandbox_clock(sandbox):
    sandbox.sandbox.reset()
    creds = ACCOUNTS["ohana_market"].ozon_performance
    async with httpx.AsyncClient(base_url=f"{sandbox.url}/ozon-performance") as http:
        token = (await http.post("/api/client/token", json={"client_id": creds.client_id, "grant_type":
                                                              "client_credentials",
                                                              "client_secret": creds.client_secret})).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        assert (await http.get("/api/client/limits/list", headers=auth)).status_code == 200
        sandbox.sandbox.advance(timedelta(seconds=token["expires_in"] + 1).total_seconds())
        expired = await http.get("/api/client/limits/list", headers=auth)
        wrong = await http.post("/api/client/token", json={"client_id": creds.client_id, "client_secret": "x",
                                                           "grant_type": "client_credentials"})
    assert token["expires_in"] == 1800 and expired.status_code == 401 and wrong.status_code == 401
    sandbox.sandbox.reset()
