"""YM's campaign listing read in the background (`PricedPages`): a page whose prices fail hands the error to its
reader, and the pages after it, which nobody reads once the first error is raised, leave no error unread (asyncio
logs those as "Future exception was never retrieved", an error line in the journal for a failure already
reported)."""
from __future__ import annotations

import asyncio
import gc

import httpx
import pytest
from adolfd.clients.errors import Rejected
from adolfd.clients.ym_bids import YmBidsClient
from adolfd.settings import HttpSettings, RateLimit
from adolfd.workers.marketing.ym_ads import YmAds

FAST = RateLimit(rate=1000, burst=100)


def _answer(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/bids/info"):
        token = request.url.params.get("pageToken") or "0"
        page = int(token) + 1
        paging = {"nextPageToken": str(page)} if page < 3 else {}
        return httpx.Response(200, json={"status": "OK", "result": {
            "bids": [{"sku": f"S{page}", "bid": 500}], "paging": paging}})
    return httpx.Response(400, json={"status": "ERROR", "errors": [{"code": "BAD_REQUEST", "message": "no"}]})


async def test_failed_pages_nobody_reads_leave_no_error_unread(res):
    gc.collect()                       # what earlier tests left is not this test's to count
    unread: list[dict] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: unread.append(context))
    http = httpx.AsyncClient(base_url="https://ym.test", transport=httpx.MockTransport(_answer))
    client = YmBidsClient(http, res.limiter, account="b", limits=lambda ec: FAST, settings=HttpSettings())
    client.api_key, client.business_id, client.parallel = "key", "77", asyncio.Semaphore(4)
    spawned: list[asyncio.Task] = []

    def spawn(coro):
        spawned.append(loop.create_task(coro))
        return spawned[-1]

    try:
        ads = YmAds(client, "b", 4, spawn)
        with pytest.raises(Rejected):
            await ads.campaigns()               # reads the first page only: its prices were refused
        while not all(task.done() for task in spawned):
            await asyncio.sleep(0.01)
        tasks = len(spawned)
        del ads
        spawned.clear()                         # as the job's end lets go of its background tasks
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
        await http.aclose()
    assert tasks == 4                           # the walk and three pages' prices, all refused
    assert [c.get("message") for c in unread] == []
