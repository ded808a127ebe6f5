"""Every fake answers through one endpoint wrapper: the request log names the account of each authenticated
request, and bad credentials get each API's own refusal (status and body)."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from adolfd.sandbox import RunningSandbox
from adolfd.sandbox.accounts import ACCOUNTS, LLM, TELEGRAM_BOT
from adolfd.sandbox.google_sheets import SERVICE_EMAIL, SPREADSHEET_ID, service_account_info
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from .conftest import NOON, ozon_headers

BRAND = "ohana_market"
WB = {"Authorization": ACCOUNTS[BRAND].wb.token}
YM = {"Api-Key": ACCOUNTS[BRAND].ym.api_key}
BUSINESS = ACCOUNTS[BRAND].ym.business_id
CHAT = {"messages": [{"role": "user", "content": "hello"}], "model": "sandbox"}


@dataclass
class Call:
    """One endpoint of one fake: a valid call, the account it is for, and the same call with bad credentials."""

    api: str
    method: str
    path: str
    account: str
    headers: dict[str, str] = field(default_factory=dict)
    bad_headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    params: dict[str, str] | None = None
    bad_path: str | None = None
    refusal: tuple[int, Any] = (401, None)          # (status, body); body None = checked by `refusal_check`


def _jwt(claims: dict[str, Any]) -> str:
    key = serialization.load_pem_private_key(service_account_info("x")["private_key"].encode(), password=None)

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps({'alg': 'RS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    return f"{signing_input}.{b64(signature)}"


async def _ozon_performance_token(http: httpx.AsyncClient, url: str) -> str:
    account = ACCOUNTS[BRAND].ozon_performance
    r = await http.post(f"{url}/api/client/token", json={
        "client_id": account.client_id, "client_secret": account.client_secret, "grant_type": "client_credentials"})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def _google_token(http: httpx.AsyncClient, url: str) -> str:
    r = await http.post(f"{url}/token", data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                              "assertion": _jwt({"iss": SERVICE_EMAIL})})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def _calls(perf_token: str, google_token: str) -> list[Call]:
    ozon_bad = {**ozon_headers(), "Api-Key": "wrong"}
    ozon_refusal = (404, {"code": 5, "message": "Invalid Api-Key, please check the key and try again", "details": []})
    ym_refusal = (401, {"status": "ERROR", "errors": [{"code": "UNAUTHORIZED",
                                                       "message": "Api-Key is missing or invalid"}]})
    return [
        Call("ozon-seller", "POST", "/v1/cluster/list", ACCOUNTS[BRAND].ozon_seller.client_id, ozon_headers(),
             ozon_bad, json={"cluster_type": "CLUSTER_TYPE_OZON"}, refusal=ozon_refusal),
        Call("ozon-seller", "POST", "/v2/review/list", ACCOUNTS[BRAND].ozon_seller.client_id, ozon_headers(),
             ozon_bad, json={"limit": 20}, refusal=ozon_refusal),
        Call("ozon-performance", "GET", "/api/client/campaign", BRAND, {"Authorization": f"Bearer {perf_token}"},
             {"Authorization": "Bearer not-issued"},
             refusal=(401, {"error": "token is missing, invalid or expired"})),
        Call("wb-advert", "GET", "/ping", BRAND, WB, {"Authorization": "not-a-seller"}),
        Call("wb-feedbacks", "GET", "/api/v1/feedbacks", BRAND, WB, {"Authorization": "not-a-seller"},
             params={"isAnswered": "false", "take": "10", "skip": "0"}),
        Call("ym", "POST", f"/v2/businesses/{BUSINESS}/bids/info", str(BUSINESS), YM, {"Api-Key": "ACMA:wrong"},
             json={}, refusal=ym_refusal),
        Call("ym", "POST", f"/v2/businesses/{BUSINESS}/goods-feedback", str(BUSINESS), YM, {"Api-Key": "ACMA:wrong"},
             json={}, refusal=ym_refusal),
        Call("telegram", "GET", f"/bot{TELEGRAM_BOT.token}/getMe", str(TELEGRAM_BOT.bot_id),
             bad_path="/bot7000000001:wrong/getMe",
             refusal=(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})),
        Call("llm", "POST", "/v1/chat/completions", LLM.organization, {"Authorization": f"Bearer {LLM.api_key}"},
             {"Authorization": "Bearer sk-wrong"}, json=CHAT,
             refusal=(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                      "param": None, "code": "invalid_api_key"}})),
        Call("google-sheets", "GET", f"/v4/spreadsheets/{SPREADSHEET_ID}", SERVICE_EMAIL,
             {"Authorization": f"Bearer {google_token}"}, {"Authorization": "Bearer ya29.forged"},
             refusal=(401, {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": (
                 "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                 "other valid authentication credential.")}})),
    ]


def _wb_problem(r: httpx.Response) -> None:
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 401 and body["title"] == "unauthorized"
    assert body["detail"] == "token problem; token is malformed or unknown"


@pytest.fixture
async def http() -> Any:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def _send(http: httpx.AsyncClient, running: RunningSandbox, call: Call, *, bad: bool) -> httpx.Response:
    path = call.bad_path if bad and call.bad_path else call.path
    return await http.request(call.method, running.api_url(call.api) + path, json=call.json, params=call.params,
                              headers=call.bad_headers if bad else call.headers)


async def test_every_fake_logs_the_account_of_an_authenticated_request(running: RunningSandbox, http) -> None:
    calls = _calls(await _ozon_performance_token(http, running.api_url("ozon-performance")),
                   await _google_token(http, running.api_url("google-sheets")))
    assert {c.api for c in calls} == set(running.sandbox.apis), "one endpoint of every fake"
    for call in calls:
        r = await _send(http, running, call, bad=False)
        assert r.status_code in (200, 204), (call.api, call.path, r.text)
        record = running.sandbox.requests[-1]
        assert (record.api, record.path, record.status) == (call.api, call.path, r.status_code)
        assert record.account == call.account, call.api


async def test_token_grants_log_the_account_they_are_for(running: RunningSandbox, http) -> None:
    await _ozon_performance_token(http, running.api_url("ozon-performance"))
    assert running.sandbox.requests[-1].account == BRAND
    await _google_token(http, running.api_url("google-sheets"))
    assert running.sandbox.requests[-1].account == SERVICE_EMAIL


async def test_bad_credentials_get_each_apis_own_refusal(running: RunningSandbox, http) -> None:
    for call in _calls("not-issued", "not-issued"):
        r = await _send(http, running, call, bad=True)
        status, body = call.refusal
        assert r.status_code == status, (call.api, r.text)
        if body is None:
            _wb_problem(r)
        else:
            assert r.json() == body, call.api
        record = running.sandbox.requests[-1]
        assert (record.api, record.status, record.account) == (call.api, status, None)
    assert running.sandbox.counter("auth_failed", "ym") == 2
    assert running.sandbox.counter("auth_failed", "ozon-seller") == 2


async def test_bad_grants_get_the_oauth_refusals(running: RunningSandbox, http) -> None:
    perf = await http.post(running.api_url("ozon-performance") + "/api/client/token", json={
        "client_id": ACCOUNTS[BRAND].ozon_performance.client_id, "client_secret": "wrong",
        "grant_type": "client_credentials"})
    assert (perf.status_code, perf.json()) == (401, {"error": "invalid client credentials"})
    forged = await http.post(running.api_url("google-sheets") + "/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": _jwt({"iss": "someone@else"})})
    assert (forged.status_code, forged.json()) == (400, {
        "error": "invalid_grant", "error_description": "Invalid JWT: iss is not a known service account."})
    assert running.sandbox.counter("oauth_tokens", "google-sheets") == 0


async def test_a_faulted_request_still_names_its_account(running: RunningSandbox, http) -> None:
    running.sandbox.add_fault("wb-advert", "5xx", count=1)
    r = await http.get(running.api_url("wb-advert") + "/ping", headers=WB)
    assert r.status_code == 503
    record = running.sandbox.requests[-1]
    assert (record.fault, record.account) == ("5xx", BRAND)


async def test_rate_limit_refusal_is_logged_with_the_account(running: RunningSandbox, http) -> None:
    running.sandbox.set_limit("ym", "bids_info", 1.0, 1.0)
    url = running.api_url("ym") + f"/v2/businesses/{BUSINESS}/bids/info"
    assert (await http.post(url, headers=YM, json={})).status_code == 200
    refused = await http.post(url, headers=YM, json={})
    assert refused.status_code == 420
    assert refused.json()["errors"][0]["code"] == "HIT_RATE_LIMIT"
    assert refused.headers["X-RateLimit-Resource-Remaining"] == "0"
    assert running.sandbox.requests[-1].account == str(BUSINESS)


async def test_a_429_fault_is_each_apis_own_rate_limit_refusal(running: RunningSandbox, http) -> None:
    """A storm answers as the endpoint's rate gate does when spent (YM: 420 HIT_RATE_LIMIT), asking for the
    fault's wait in the API's own header, and spends nothing: the next call goes through."""
    calls = _calls(await _ozon_performance_token(http, running.api_url("ozon-performance")),
                   await _google_token(http, running.api_url("google-sheets")))
    until = format_datetime((NOON + timedelta(seconds=3)).astimezone(UTC), usegmt=True)
    wait_header = {"ozon-seller": ("retry-after", "3"), "ozon-performance": ("Retry-After", "3"),
                   "wb-advert": ("X-Ratelimit-Retry", "3"), "wb-feedbacks": ("X-Ratelimit-Retry", "3"),
                   "ym": ("X-RateLimit-Resource-Until", until), "llm": ("Retry-After", "3")}
    for call in calls:
        running.sandbox.add_fault(call.api, "429", count=1, path=call.path, seconds=3)
        storm = await _send(http, running, call, bad=False)
        assert storm.status_code == (420 if call.api == "ym" else 429), (call.api, storm.text)
        assert running.sandbox.requests[-1].fault == "429"
        if call.api in wait_header:
            name, value = wait_header[call.api]
            assert storm.headers.get(name) == value, (call.api, dict(storm.headers))
        if call.api == "telegram":                   # Telegram tells the wait in its body, not in a header
            assert storm.json()["parameters"] == {"retry_after": 3}, storm.text
        assert (await _send(http, running, call, bad=False)).status_code in (200, 204), call.api
    body = storm.json()["error"]                                           # Google's own quota refusal
    assert body["code"] == 429 and body["message"].startswith("Quota exceeded")
    assert running.sandbox.counter("faults", "ym:429") == 2
    assert running.sandbox.counters.get("rate_limited", {}) == {}, "a storm spends no tokens"


async def test_a_429_storm_ends_after_its_count(running: RunningSandbox, http) -> None:
    added = await http.post(running.url + "/_sandbox/faults", json={"api": "wb-advert", "mode": "429", "count": 3})
    assert added.json()["fault"]["seconds"] == 1.0, "a storm's default wait is short, not a timeout's hold"
    statuses = [(await http.get(running.api_url("wb-advert") + "/ping", headers=WB)).status_code for _ in range(4)]
    assert statuses == [429, 429, 429, 200]
    assert running.sandbox.faults == [] and running.sandbox.counter("faults", "wb-advert:429") == 3
