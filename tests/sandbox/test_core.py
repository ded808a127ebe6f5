"""Sandbox core over real HTTP: control endpoints, faults, counters, clock, rate gates, reset."""
from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from adolfd.sandbox import RunningSandbox
from adolfd.sandbox.core import Clock, Sandbox, SandboxInputError

from .conftest import NOON, SEED

CLUSTERS = ("/v1/cluster/list", {"cluster_type": "CLUSTER_TYPE_OZON"})


async def clusters(ozon: httpx.AsyncClient) -> httpx.Response:
    path, body = CLUSTERS
    return await ozon.post(path, json=body)


# -- health, clock, counters ---------------------------------------------------------------------------

async def test_health_names_the_seed_and_apis(control: httpx.AsyncClient) -> None:
    body = (await control.get("/_sandbox/health")).json()
    assert body["status"] == "ok"
    assert body["seed"] == SEED
    assert "ozon-seller" in body["apis"]
    assert datetime.fromisoformat(body["now"]) == NOON


async def test_clock_set_and_advance(control: httpx.AsyncClient, running: RunningSandbox) -> None:
    r = await control.post("/_sandbox/clock", json={"now": "2026-05-01T03:00:00+03:00", "frozen": True})
    assert r.status_code == 200
    assert running.sandbox.now() == datetime(2026, 5, 1, 0, 0, tzinfo=UTC)
    r = await control.post("/_sandbox/clock", json={"advance_seconds": 90})
    assert datetime.fromisoformat(r.json()["now"]) == datetime(2026, 5, 1, 0, 1, 30, tzinfo=UTC)
    assert running.sandbox.today().isoformat() == "2026-05-01"


async def test_clock_rejects_bad_input(control: httpx.AsyncClient) -> None:
    for body in ({}, {"now": "yesterday"}, {"now": "2026-05-01T03:00:00"}, {"advance_seconds": "ten"}):
        r = await control.post("/_sandbox/clock", json=body)
        assert r.status_code == 400, body
        assert r.json()["error"]


def test_unfrozen_clock_keeps_ticking_from_the_set_time() -> None:
    clock = Clock()
    target = datetime(2030, 1, 1, tzinfo=UTC)
    clock.set(target)
    assert timedelta(0) <= clock.now() - target < timedelta(seconds=5)
    clock.reset()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


async def test_counters_count_requests_and_responses(ozon: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await clusters(ozon)).status_code == 200
    await ozon.post("/v1/no-such-method", json={})
    counters = (await control.get("/_sandbox/counters")).json()
    assert counters["requests"]["ozon-seller POST /v1/cluster/list"] == 3
    assert counters["responses"]["ozon-seller 200"] == 3
    assert counters["responses"]["ozon-seller 404"] == 1
    log = (await control.get("/_sandbox/requests", params={"api": "ozon-seller"})).json()["requests"]
    assert [(r["path"], r["status"], r["account"]) for r in log][-1] == ("/v1/no-such-method", 404, "100001")


async def test_unknown_path_answers_with_the_api_error_body(ozon: httpx.AsyncClient) -> None:
    r = await ozon.post("/v1/analytics/stock_on_warehouses", json={"limit": 100})
    assert r.status_code == 404
    assert r.json() == {"code": 5, "message": "Not Found", "details": []}


# -- faults --------------------------------------------------------------------------------------------

async def test_5xx_fault_for_next_n_requests(ozon: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    r = await control.post("/_sandbox/faults", json={"api": "ozon-seller", "mode": "5xx", "count": 2})
    assert r.status_code == 200
    statuses = [(await clusters(ozon)).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    failed = await control.post("/_sandbox/faults", json={"api": "ozon-seller", "mode": "5xx", "count": 1})
    assert failed.status_code == 200
    body = (await clusters(ozon)).json()
    assert body["code"] == 14 and body["message"] == "Internal error"
    counters = (await control.get("/_sandbox/counters")).json()
    assert counters["faults"]["ozon-seller:5xx"] == 3


async def test_fault_limited_to_a_path(ozon: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    await control.post("/_sandbox/faults", json={"api": "ozon-seller", "mode": "5xx", "path": "/v3/product/"})
    assert (await clusters(ozon)).status_code == 200
    assert (await ozon.post("/v3/product/list", json={"limit": 1})).status_code == 503
    assert (await ozon.post("/v3/product/list", json={"limit": 1})).status_code == 503, "no count: until cleared"
    r = await control.delete("/_sandbox/faults")
    assert r.json() == {"cleared": 1}
    assert (await ozon.post("/v3/product/list", json={"limit": 1})).status_code == 200


async def test_malformed_json_fault(ozon: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    await control.post("/_sandbox/faults", json={"api": "ozon-seller", "mode": "malformed_json", "count": 1})
    r = await clusters(ozon)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        r.json()
    assert "clusters" in (await clusters(ozon)).json()


async def test_wrong_shape_fault(ozon: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    await control.post("/_sandbox/faults", json={"api": "*", "mode": "wrong_shape", "count": 1})
    r = await clusters(ozon)
    assert r.status_code == 200
    assert not isinstance(r.json(), dict)


async def test_timeout_fault_holds_past_the_client_timeout(ozon: httpx.AsyncClient, control: httpx.AsyncClient,
                                                           running: RunningSandbox) -> None:
    await control.post("/_sandbox/faults", json={"api": "ozon-seller", "mode": "timeout", "count": 1, "seconds": 2})
    with pytest.raises(httpx.ReadTimeout):
        await ozon.post("/v1/analytics/data", json=_analytics_body(), timeout=0.3)
    # the held request never reached the method: its 1-per-minute token is still there
    assert (await ozon.post("/v1/analytics/data", json=_analytics_body())).status_code == 200
    await asyncio.sleep(0.1)
    assert any(r.fault == "timeout" and r.status == 499 for r in running.sandbox.requests)


async def test_timeout_fault_that_processes_the_call(ozon: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    """The marketplace acted, only the answer got lost: the retry finds the call already done."""
    await control.post("/_sandbox/faults", json={"api": "ozon-seller", "mode": "timeout", "count": 1, "seconds": 2,
                                                 "process": True})
    with pytest.raises(httpx.ReadTimeout):
        await ozon.post("/v1/analytics/data", json=_analytics_body(), timeout=0.3)
    retry = await ozon.post("/v1/analytics/data", json=_analytics_body())
    assert retry.status_code == 429          # the first call used the minute's quota


async def test_fault_after_the_first_requests(ozon: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    """`after`: a paged read's first pages come back as usual, the next ones fail."""
    await control.post("/_sandbox/faults", json={"api": "ozon-seller", "mode": "5xx", "count": 1, "after": 2})
    statuses = [(await clusters(ozon)).status_code for _ in range(4)]
    assert statuses == [200, 200, 503, 200]


async def test_fault_input_is_validated(control: httpx.AsyncClient) -> None:
    bad = (
        {"api": "ozon-seller", "mode": "explode"},
        {"api": "no-such-api", "mode": "5xx"},
        {"api": "ozon-seller", "mode": "5xx", "count": 0},
        {"api": "ozon-seller", "mode": "timeout", "seconds": -1},
        {"api": "ozon-seller", "mode": "5xx", "colour": "red"},
        {"api": "ozon-seller", "mode": "5xx", "after": -1},
        {"api": "ozon-seller", "mode": "5xx", "after": "2"},
        {"mode": "5xx"},
    )
    for body in bad:
        r = await control.post("/_sandbox/faults", json=body)
        assert r.status_code == 400, body
    assert (await control.get("/_sandbox/faults")).json() == {"faults": []}


# -- rate gates ----------------------------------------------------------------------------------------

def _analytics_body() -> dict:
    return {"date_from": "2026-02-01", "date_to": "2026-02-28", "metrics": ["ordered_units"],
            "dimension": ["sku"], "limit": 1000, "offset": 0}


def test_gate_is_a_token_bucket_on_the_sandbox_clock() -> None:
    sandbox = Sandbox(seed=1)
    sandbox.subapp("demo")
    sandbox.set_now(NOON, frozen=True)
    sandbox.define_limit("demo", "write", rate=2.0, burst=3)
    assert [sandbox.gate("demo", "a", "write") for _ in range(3)] == [None, None, None]
    wait = sandbox.gate("demo", "a", "write")
    assert wait == pytest.approx(0.5)
    assert sandbox.gate("demo", "b", "write") is None, "buckets are per account"
    assert sandbox.gate("demo", "a", "read") is None, "a class without a limit is unlimited"
    sandbox.advance(0.5)
    assert sandbox.gate("demo", "a", "write") is None
    assert sandbox.gate("demo", "a", "write") is not None
    sandbox.advance(100)                      # refill is capped at the burst
    assert [sandbox.gate("demo", "a", "write") is None for _ in range(4)] == [True, True, True, False]
    assert sandbox.counter("rate_limited", "demo:write") == 3


def test_limits_are_checked() -> None:
    sandbox = Sandbox()
    for rate, burst in ((0, 1), (-1, 1), (1, 0.5), (float("nan"), 1), (True, 1)):
        with pytest.raises(SandboxInputError):
            sandbox.define_limit("x", "y", rate, burst)


async def test_limits_endpoint_changes_and_removes_a_limit(ozon: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    r = await control.post("/_sandbox/limits", json={"api": "ozon-seller", "endpoint_class": "cluster_list",
                                                     "rate": 1, "burst": 2})
    assert r.json() == {"api": "ozon-seller", "endpoint_class": "cluster_list", "rate": 1.0, "burst": 2.0}
    assert [(await clusters(ozon)).status_code for _ in range(3)] == [200, 200, 429]
    await control.post("/_sandbox/clock", json={"advance_seconds": 1})
    assert (await clusters(ozon)).status_code == 200
    await control.post("/_sandbox/limits", json={"api": "ozon-seller", "endpoint_class": "cluster_list", "rate": None})
    assert all([(await clusters(ozon)).status_code == 200 for _ in range(5)])
    limits = (await control.get("/_sandbox/limits")).json()["limits"]
    assert {"api": "ozon-seller", "endpoint_class": "global", "rate": 50.0, "burst": 50.0} in limits
    r = await control.post("/_sandbox/limits", json={"api": "nope", "endpoint_class": "x", "rate": 1})
    assert r.status_code == 400
    r = await control.post("/_sandbox/limits", json={"api": "ozon-seller", "endpoint_class": "x"})
    assert r.status_code == 400
    r = await control.post("/_sandbox/limits", json={"api": "ozon-seller", "endpoint_class": "x", "rate": "fast"})
    assert r.status_code == 400 and "rate" in r.json()["error"]


# -- reset ---------------------------------------------------------------------------------------------

async def test_reset_restores_the_start_state(ozon: httpx.AsyncClient, control: httpx.AsyncClient,
                                              running: RunningSandbox) -> None:
    await control.post("/_sandbox/limits",
                       json={"api": "ozon-seller", "endpoint_class": "global", "rate": 1, "burst": 1})
    await control.post("/_sandbox/faults", json={"api": "ozon-seller", "mode": "5xx"})
    running.sandbox.state("ozon-seller")["marker"] = True
    await clusters(ozon)
    r = await control.post("/_sandbox/reset")
    assert r.json()["status"] == "reset"
    assert (await control.get("/_sandbox/counters")).json() == {}
    assert running.sandbox.faults == []
    assert running.sandbox.state("ozon-seller") == {}
    assert abs(running.sandbox.now() - datetime.now(UTC)) < timedelta(seconds=5), "clock back to real time"
    assert all([(await clusters(ozon)).status_code == 200 for _ in range(3)]), "default limits again"
