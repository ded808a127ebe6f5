"""The Sheets fake and the gspread-asyncio client against it: OAuth grant, values, quotas, 5xx, bounded retry."""
from __future__ import annotations

import httpx
import pytest
from adolfd.clients.errors import AuthError, RateLimited, Unavailable
from adolfd.clients.ratelimit import RateLimiter
from adolfd.clients.sheets import SheetsClient
from adolfd.sandbox.environment import sandbox_carsbot
from adolfd.sandbox.google_sheets import SPREADSHEET_ID, set_tab, tab_values
from adolfd.settings import CarsbotSettings, HttpSettings, RateLimit

ROWS = [["channel_id", "username", "title", "active"], ["-1001", "@a", "A", "да"], ["", "", "", ""],
        ["-1002", "", "B", ""]]


@pytest.fixture
def make_client(running, res):
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def make(**overrides) -> SheetsClient:
        settings = CarsbotSettings(**{**sandbox_carsbot(running.url), **overrides})
        return SheetsClient.build(settings, HttpSettings(attempts=3, backoff=0.5), RateLimiter(res.redis),
                                  lambda _: RateLimit(rate=1000, burst=100), sleep=fake_sleep)

    make.sleeps = sleeps
    return make


async def test_read_and_write_through_gspread(running, make_client):
    set_tab(running.sandbox, SPREADSHEET_ID, "Каналы", ROWS)
    client = make_client()
    assert await client.read_tab("Каналы") == [ROWS[0], ROWS[1], [], ["-1002", "", "B"]]
    assert await client.write_tab("Аналитика", [["date", "n"], ["2026-03-01", 5]]) == 4
    assert tab_values(running.sandbox, SPREADSHEET_ID, "Аналитика") == [["date", "n"], ["2026-03-01", "5"]]
    assert running.sandbox.counter("sheets_writes", f"{SPREADSHEET_ID}:Аналитика") == 2    # clear + update
    assert running.sandbox.counter("oauth_tokens", "google-sheets") == 1


async def test_5xx_is_retried_a_bounded_number_of_times(running, make_client):
    client = make_client()
    running.sandbox.add_fault("google-sheets", "5xx", count=2, path="/values/")
    assert (await client.read_tab("Каналы"))[0][0] == "channel_id"
    assert make_client.sleeps == [0.5, 1.0]
    running.sandbox.add_fault("google-sheets", "5xx", path="/values/")
    with pytest.raises(Unavailable, match="HTTP 503"):
        await client.read_tab("Каналы")


async def test_quota_exhausted_is_rate_limited_after_the_tries(running, make_client):
    client = make_client()
    await client.read_tab("Каналы")
    running.sandbox.set_limit("google-sheets", "read", 1 / 60, 1)      # one read a minute, clock frozen
    await client.read_tab("Каналы")
    with pytest.raises(RateLimited, match="429"):
        await client.read_tab("Каналы")
    assert running.sandbox.counter("rate_limited", "google-sheets:read") == 3     # tries are bounded


async def test_a_foreign_key_is_refused_as_auth_error(running, make_client):
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    info = json.loads(sandbox_carsbot(running.url)["service_account_json"])
    info["private_key"] = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with pytest.raises(AuthError, match="refused"):
        await make_client(service_account_json=json.dumps(info)).read_tab("Каналы")


async def test_values_api_without_a_token_is_401_in_googles_shape(running):
    async with httpx.AsyncClient(base_url=running.api_url("google-sheets")) as http:
        answer = await http.get(f"/v4/spreadsheets/{SPREADSHEET_ID}/values/'Каналы'")
    assert answer.status_code == 401 and answer.json()["error"]["status"] == "UNAUTHENTICATED"
