"""The request path every client shares: rate limit, 429/420 waits, retries only where safe, clear errors."""
from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from adolfd.clients.errors import AuthError, BadResponse, RateLimited, Rejected, Unavailable
from adolfd.clients.http import ApiClient
from adolfd.clients.ratelimit import RateLimiter
from adolfd.settings import ApiCredentials, HttpSettings, RateLimit
from pydantic import BaseModel


class Probe(ApiClient):
    api = "probe"


class Reply(BaseModel):
    items: list[int]


def _client(res, handler, *, rate=1000.0, burst=10, attempts=3) -> tuple[Probe, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    http = httpx.AsyncClient(base_url="http://api.test", transport=httpx.MockTransport(handler))
    client = Probe(http, RateLimiter(res.redis), account="acc", limits=lambda ec: RateLimit(rate=rate, burst=burst),
                   settings=HttpSettings(attempts=attempts, backoff=0.01), sleep=sleep)
    return client, slept


async def test_429_waits_as_told_then_succeeds(res):
    calls = []

    def handler(request):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "0.2"}, json={"code": 8})
        return httpx.Response(200, json={"items": [1, 2]})

    client, _ = _client(res, handler)
    reply = client.parse(Reply, await client.request_json("POST", "/x"))
    assert reply.items == [1, 2] and len(calls) == 2
    assert calls[1] - calls[0] >= 0.18          # the shared bucket was pushed out by Retry-After


async def test_yandex_420_is_a_rate_limit_and_gives_up_after_attempts(res):
    client, _ = _client(res, lambda r: httpx.Response(420, headers={"Retry-After": "0"}, json={"status": "ERROR"}))
    with pytest.raises(RateLimited):
        await client.request("GET", "/x")


async def test_5xx_is_retried_only_when_idempotent(res):
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(503, text="busy")

    client, slept = _client(res, handler)
    with pytest.raises(Unavailable):
        await client.request("GET", "/x")
    assert len(calls) == 3 and slept == [0.01, 0.02]
    calls.clear()
    with pytest.raises(Unavailable):
        await client.request("POST", "/publish", idempotent=False)
    assert len(calls) == 1


async def test_timeout_of_a_non_idempotent_call_is_not_repeated(res):
    calls = []

    def handler(request):
        calls.append(1)
        raise httpx.ReadTimeout("slow", request=request)

    client, _ = _client(res, handler)
    with pytest.raises(Unavailable):
        await client.request("POST", "/reply", idempotent=False)
    assert len(calls) == 1


async def test_malformed_and_wrong_shape_are_bad_responses(res):
    client, _ = _client(res, lambda r: httpx.Response(200, text="{not json"))
    with pytest.raises(BadResponse, match="malformed JSON"):
        await client.request_json("GET", "/x")
    client, _ = _client(res, lambda r: httpx.Response(200, json={"items": "many"}))
    with pytest.raises(BadResponse, match="items"):
        client.parse(Reply, await client.request_json("GET", "/x"))


async def test_a_json_body_goes_out_compact_utf8_and_a_reply_of_bad_bytes_is_a_bad_response(res):
    """Bodies and replies go through `adolfd.clients.json_wire`: the bytes a marketplace receives are the JSON
    httpx's `json=` would have sent (compact, UTF-8, not \\u-escaped), the same body on a repeated attempt; a reply
    that is not UTF-8 JSON fails as BadResponse like any malformed one."""
    seen: list[tuple[str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["Content-Type"], request.content))
        if len(seen) == 1:
            return httpx.Response(503, text="busy")
        return httpx.Response(200, json={"items": [2**63, -1]})

    client, _ = _client(res, handler)
    body = {"name": "Кампания «1»", "bids": [{"nm": 1, "bid": 250}], "paused": None, "ok": True}
    reply = client.parse(Reply, await client.request_json("PATCH", "/bids", json_body=body))
    assert reply.items == [2**63, -1]
    expected = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert seen == [("application/json", expected)] * 2
    client, _ = _client(res, lambda r: httpx.Response(200, content=b'{"items": ["\xff\xfe"]}'))
    with pytest.raises(BadResponse, match="malformed JSON"):
        await client.request_json("GET", "/x")
    lone = b'{"items": [1], "text": "\\ud83d broken pair"}'      # legal JSON a marketplace's user text carries
    client, _ = _client(res, lambda r: httpx.Response(200, content=lone))
    assert (await client.request_json("GET", "/x"))["text"] == "\ud83d broken pair"
    client, _ = _client(res, lambda r: httpx.Response(200, content=b'{"items": [1]} trailing'))
    with pytest.raises(BadResponse, match="malformed JSON"):
        await client.request_json("GET", "/x")


async def test_auth_and_rejections(res):
    client, _ = _client(res, lambda r: httpx.Response(403, json={"code": 7, "message": "Invalid Api-Key"}))
    with pytest.raises(AuthError, match="Invalid Api-Key"):
        await client.request("GET", "/x")
    client, _ = _client(res, lambda r: httpx.Response(400, json={"message": "bad"}))
    with pytest.raises(Rejected):
        await client.request("GET", "/x")


async def test_rate_limit_is_shared_and_exact(res):
    """Two clients (two processes' worth) on one account share one bucket: 40 calls at 100/s, burst 1."""
    client_a, _ = _client(res, lambda r: httpx.Response(200, json={}), rate=100, burst=1)
    client_b, _ = _client(res, lambda r: httpx.Response(200, json={}), rate=100, burst=1)
    started = time.monotonic()
    await asyncio.gather(*[c.request("GET", "/x") for c in (client_a, client_b) for _ in range(20)])
    elapsed = time.monotonic() - started
    assert 0.37 <= elapsed < 0.8


async def test_a_reply_body_larger_than_the_cap_is_a_bad_response_and_not_read_whole(res):
    """A declared or a streamed (chunked, no Content-Length) body over `http.max_body_bytes` fails the call."""
    sent: list[int] = []

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self):
            for _ in range(10_000):                       # 640 MB if read whole
                sent.append(1)
                yield b"x" * 65536

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/declared":
            return httpx.Response(200, headers={"Content-Length": str(10**9)}, stream=Endless())
        if request.url.path == "/chunked":
            return httpx.Response(200, stream=Endless())
        return httpx.Response(200, json={"items": list(range(1000))})

    http = httpx.AsyncClient(base_url="http://api.test", transport=httpx.MockTransport(handler))
    client = Probe(http, RateLimiter(res.redis), account="acc", limits=lambda ec: RateLimit(rate=1000, burst=10),
                   settings=HttpSettings(max_body_bytes=1_000_000))
    with pytest.raises(BadResponse, match="declares 1000000000 bytes; the cap is 1000000 bytes"):
        await client.request_json("GET", "/declared")
    assert sent == []
    with pytest.raises(BadResponse, match="went past 1000000 bytes"):
        await client.request_json("GET", "/chunked")
    assert len(sent) <= 17                                   # stopped at the cap: 16 chunks of 64 KiB and one more
    assert client.parse(Reply, await client.request_json("GET", "/page")).items[-1] == 999


async def test_a_listing_that_never_ends_stops_at_the_page_cap(res):
    """A server that keeps repeating a full page with the same cursor (Ozon's product/list) is read
    `http.max_pages` times, then the call fails as BadResponse instead of looping for ever."""
    from adolfd.clients.ozon import PAGE, OzonSellerClient

    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        items = [{"product_id": n, "offer_id": f"A{n}"} for n in range(PAGE)]
        return httpx.Response(200, json={"result": {"items": items, "last_id": "same", "total": 10**9}})

    http = httpx.AsyncClient(base_url="http://api.test", transport=httpx.MockTransport(handler))
    client = OzonSellerClient(http, RateLimiter(res.redis), account="acc",
                              creds=ApiCredentials(client_id="1", api_key="k"),
                              limits=lambda ec: RateLimit(rate=1000, burst=100), settings=HttpSettings(max_pages=5))
    with pytest.raises(BadResponse, match="product/list: more than 5 pages"):
        await client.products()
    assert len(calls) == 5


async def test_after_a_429_waiting_calls_queue_one_interval_apart(res):
    """A 429 empties the bucket: the callers waiting on the key get one slot each, an interval apart, after the
    penalty — the burst allowance does not let them all retry at once (which earned more 429s)."""
    limiter = RateLimiter(res.redis)
    limit = RateLimit(rate=10, burst=10)                      # 100 ms apart, bursts of 10
    await limiter.penalise("storm", 0.5, limit)
    waits = [await limiter.reserve("storm", limit) for _ in range(6)]
    assert 0.45 <= waits[0] <= 0.6, waits                     # Retry-After plus at most 10 % jitter
    gaps = [b - a for a, b in zip(waits, waits[1:], strict=False)]
    assert all(0.08 <= g <= 0.12 for g in gaps), waits


class Campaign(BaseModel):
    products: list[dict[str, int]]


async def test_a_large_listing_is_validated_while_the_event_loop_goes_on(res):
    """A WB listing of 50 campaigns of 2 000 products: validated in one go it would stand the event loop still
    (and other jobs' paced requests would then leave together); item by item, the loop turns between them."""
    client, _ = _client(res, lambda r: httpx.Response(200, json={}))
    items = [{"products": [{"nm": i} for i in range(2000)]} for _ in range(50)]
    reading = asyncio.create_task(client.parse_items(Campaign, items, what="campaign"))
    ticks = 0
    while not reading.done():
        await asyncio.sleep(0)
        ticks += 1
    assert len(await reading) == 50
    assert ticks >= 45


@pytest.mark.parametrize("items", [{"products": []}, [{"products": [{"nm": 1}]}, {"products": [{"nm": "x"}]}]])
async def test_a_listing_of_the_wrong_shape_is_a_bad_response(res, items):
    client, _ = _client(res, lambda r: httpx.Response(200, json={}))
    with pytest.raises(BadResponse, match="campaign"):
        await client.parse_items(Campaign, items, what="campaign")
