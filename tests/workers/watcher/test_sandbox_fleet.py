"""`adolfd sandbox` runs the simulated agent fleet on adolfd's Redis: agents complete pushed tasks end to end, and
their fault switches are set in the running sandbox over HTTP."""
from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from adolfd.keys import WATCHER_IP_BLOCKED as IP_BLOCKED
from adolfd.sandbox import run_companions
from adolfd.settings import WatcherSettings
from adolfd.testing import AdolfdProcess
from structlog.testing import capture_logs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def consume_until(res, consume, done_sql: str, expected, timeout: float = 30.0) -> int:
    """Apply the fleet's events until `done_sql` returns `expected` (the agents run on their own); returns how
    many duplicate events were recognised on the way."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    duplicates = 0
    while True:
        duplicates += (await consume()).duplicates
        got = await res.db.fetchval(done_sql)
        if got == expected:
            return duplicates
        assert loop.time() < deadline, f"{done_sql} is {got}, expected {expected}"
        await asyncio.sleep(0.2)


@pytest.mark.slow
async def test_adolfd_sandbox_starts_agents_that_complete_pushed_tasks(res, settings, database_url, at, catalogue,
                                                                      run_job, consume):
    port = free_port()
    env = {"ADOLFD_REDIS_URL": settings.redis_url.get_secret_value(), "ADOLFD_DATABASE_URL": database_url,
           "ADOLFD_ENVIRONMENT": "demo",
           "ADOLFD_WATCHER__SANDBOX_HEARTBEAT_SECONDS": "1", "ADOLFD_LOG_LEVEL": "info"}
    proc = await AdolfdProcess.start("sandbox", "--port", str(port), "--no-seed-db", env=env,
                                     ready="watcher_fleet_started", timeout=60)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            listed = (await http.get("/_sandbox/watcher-agents")).json()["agents"]
            assert [a["agent"] for a in listed] == ["wildberries-1", "wildberries-2", "ozon-1", "ozon-2",
                                                    "yandex_market-1", "yandex_market-2"]
            r = await http.post("/_sandbox/watcher-agents", json={"agent": "ozon-1", "panic": True})
            assert r.status_code == 200 and r.json()["agent"]["panic"] is True
            await consume_until(res, consume, "SELECT count(*) FROM watcher_agents", 6)
            result = await run_job("watcher.generate_daily_tasks")
            assert result["result"]["pushed"] == 10
            await consume_until(res, consume, "SELECT count(*) FROM watcher_tasks WHERE status = 'completed'", 10)
            assert await res.db.fetchval("SELECT count(*) FROM watcher_price_history") == 10
            done_by = {r["name"] for r in await res.db.fetch(
                "SELECT DISTINCT a.name FROM watcher_tasks t JOIN watcher_agents a ON a.id = t.agent_id")}
            assert "ozon-2" in done_by and "ozon-1" not in done_by          # its task went back and ozon-2 did it
            assert await res.db.fetchval("SELECT status FROM watcher_agents WHERE name = 'ozon-1'") == "panic"
            assert await res.redis.exists(IP_BLOCKED.format(ip=listed[2]["ip"]))
            assert (await http.get("/_sandbox/watcher-agents")).json()["agents"][2]["dead"] is True
    finally:
        assert await proc.stop() == 0


async def test_fleet_switches_are_checked_and_reset(res, settings, sandbox, at, catalogue, run_job, consume):
    quick = settings.model_copy(update={"watcher": WatcherSettings(sandbox_agents_per_marketplace=1,
                                                                   sandbox_heartbeat_seconds=0.5)})
    fleet = asyncio.create_task(run_companions(sandbox.sandbox, quick))
    try:
        async with httpx.AsyncClient(base_url=sandbox.url, timeout=5) as http:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while not (await http.get("/_sandbox/watcher-agents")).json()["agents"]:
                assert loop.time() < deadline and not fleet.done(), "the fleet never started"
                await asyncio.sleep(0.05)
            for body, message in (({"agent": "ghost", "silent": True}, "unknown agent 'ghost'; agents: wildberries-1"),
                                  ({"agent": "ozon-1", "teleport": True}, "unknown switches teleport; switches: "),
                                  ({"agent": "ozon-1", "slow": -1}, "switch slow takes seconds ≥ 0"),
                                  ({"agent": "ozon-1", "silent": "yes"}, "switch silent takes true or false")):
                r = await http.post("/_sandbox/watcher-agents", json=body)
                assert r.status_code == 400 and message in r.json()["error"], r.text
            r = await http.post("/_sandbox/watcher-agents", json={"agent": "ozon-1", "duplicate": True, "slow": 0.05})
            assert r.json()["agent"] | {"duplicate": True, "slow": 0.05} == r.json()["agent"]
            await run_job("watcher.generate_daily_tasks")
            duplicates = await consume_until(res, consume,
                                             "SELECT count(*) FROM watcher_tasks WHERE status = 'completed'", 10)
            assert duplicates >= 16                      # ozon-1 sent each start and result of 8 tasks twice
            assert await res.db.fetchval("SELECT count(*) FROM watcher_price_history") == 10   # each once
            await http.post("/_sandbox/reset")
            agent = (await http.get("/_sandbox/watcher-agents")).json()["agents"][1]
            assert (agent["agent"], agent["duplicate"], agent["slow"]) == ("ozon-1", False, 0.0)
    finally:
        fleet.cancel()
        await asyncio.gather(fleet, return_exceptions=True)
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=5) as http:
        assert (await http.get("/_sandbox/watcher-agents")).json()["agents"] == []     # stopped with its task


async def test_demo_catalogue_gives_each_scripted_alert_once(res, at, clock, run_job, consume):
    from adolfd.sandbox.watcher_agents import Fleet, demo_script, seed_demo_catalogue

    first = await seed_demo_catalogue(res.db, clock.now())
    assert first == {"products": 3, "competitors": 6, "prices": 6}
    assert await seed_demo_catalogue(res.db, clock.now()) == {"products": 0, "competitors": 0, "prices": 0}
    fleet = Fleet(res.redis, per_market=1, script=demo_script(), now=clock.now)
    assert (await run_job("watcher.generate_daily_tasks"))["result"]["created"] == 9
    await fleet.heartbeat()
    assert await fleet.work_all() == 9
    await consume()
    result = await run_job("watcher.check_alerts")
    assert result["result"]["by_type"] == {"dumping_detected": 1, "out_of_stock": 1, "price_drop": 1}
    alerted = {r["alert_type"]: r["competitor_sku"] for r in await res.db.fetch(
        "SELECT a.alert_type, c.competitor_sku FROM watcher_alerts a JOIN watcher_competitors c "
        "ON c.id = a.competitor_id")}
    assert alerted == {"price_drop": "DEMO-C-DROP", "dumping_detected": "DEMO-C-DUMP", "out_of_stock": "DEMO-C-OOS"}


async def test_no_fleet_on_a_production_redis_unless_asked_by_name(res, settings, sandbox):
    production = settings.model_copy(update={"environment": "production", "watcher": WatcherSettings()})
    with capture_logs() as logs:
        await asyncio.wait_for(run_companions(sandbox.sandbox, production), 5)     # returns: nothing to run
    assert [e["event"] for e in logs] == ["watcher_fleet_not_started"]
    asked = settings.model_copy(update={"environment": "production",
                                        "watcher": WatcherSettings(sandbox_agents_per_marketplace=1)})
    fleet = asyncio.create_task(run_companions(sandbox.sandbox, asked))
    try:
        async with httpx.AsyncClient(base_url=sandbox.url, timeout=5) as http:
            async with asyncio.timeout(10):
                while len((await http.get("/_sandbox/watcher-agents")).json()["agents"]) != 3:
                    await asyncio.sleep(0.05)
    finally:
        fleet.cancel()
        await asyncio.gather(fleet, return_exceptions=True)
