"""Yandex Market's 4 parallel requests per business, held across processes (each its own client) in Redis."""
from __future__ import annotations

import asyncio
import time

import httpx
from adolfd.clients.in_flight import SharedInFlight
from adolfd.clients.ym_bids import MAX_PARALLEL, YmBidsClient
from adolfd.keys import YM_IN_FLIGHT
from adolfd.settings import HttpSettings, RateLimit

FAST = RateLimit(rate=1000, burst=100)


async def test_two_processes_together_keep_four_requests_in_flight(res, parallel_probe):
    probe = parallel_probe(0.03)
    http = probe.client()
    clients = []
    for _ in range(2):                       # two worker processes: each its own client and semaphore
        client = YmBidsClient(http, res.limiter, account="77", limits=lambda ec: FAST, settings=HttpSettings())
        client.api_key, client.business_id = "key", "77"
        client.shared_parallel = SharedInFlight(res.redis, YM_IN_FLIGHT.format(business="77"), MAX_PARALLEL,
                                                lease_seconds=5)
        clients.append(client)
    replies = await asyncio.wait_for(asyncio.gather(*(c.bids_info(["A"]) for c in clients for _ in range(8))),
                                     timeout=30)
    await http.aclose()
    assert len(replies) == 16 and all(r[0]["bid"] == 500 for r in replies)
    assert probe.peak == MAX_PARALLEL                      # each alone would allow 4, both 8
    assert await res.redis.zcard(YM_IN_FLIGHT.format(business="77")) == 0    # every slot given back


async def test_the_slot_of_a_holder_that_died_frees_itself_at_its_lease(res):
    key = YM_IN_FLIGHT.format(business="dead")
    dead = SharedInFlight(res.redis, key, 1, lease_seconds=0.2)
    held = dead.hold()
    await held.__aenter__()                          # taken and never given back: the process was killed
    started = time.monotonic()
    async with SharedInFlight(res.redis, key, 1, lease_seconds=5).hold():
        waited = time.monotonic() - started
    assert 0.1 < waited < 1.0


async def test_a_send_that_waited_for_room_is_stamped_when_it_leaves(res):
    """Two slow requests fill the cap of 2; the next ones wait for room. Each is stamped only once it has room, so
    the marketplace never sees two sends of one class closer than an interval (stamped before the wait, the
    waiting sends left back to back when the slow ones ended)."""
    arrived: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        arrived.append(time.monotonic())
        await asyncio.sleep(0.3 if len(arrived) <= 2 else 0.01)
        return httpx.Response(200, json={"status": "OK", "result": {"bids": [{"sku": "A", "bid": 500}]}})

    http = httpx.AsyncClient(base_url="https://ym.test", transport=httpx.MockTransport(handler))
    client = YmBidsClient(http, res.paced, account="78", limits=lambda ec: RateLimit(rate=20, burst=1),
                          settings=HttpSettings())
    client.api_key, client.business_id = "key", "78"
    client.shared_parallel = SharedInFlight(res.redis, YM_IN_FLIGHT.format(business="78"), 2, lease_seconds=5)
    await asyncio.wait_for(asyncio.gather(*(client.bids_info(["A"]) for _ in range(5))), timeout=30)
    await http.aclose()
    gaps = [b - a for a, b in zip(arrived, arrived[1:], strict=False)]
    assert len(arrived) == 5 and min(gaps) >= 0.045, gaps
