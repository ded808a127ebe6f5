"""Watcher fixtures: a monitored catalogue, the simulated agent fleet on the test Redis, the consumer."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from adolfd.sandbox.watcher_agents import Fleet, PriceScript
from adolfd.testing import until_polling
from adolfd.workers.watcher.consumer import Consumer

MSK = ZoneInfo("Europe/Moscow")
NIGHT = datetime(2026, 2, 16, 20, 30, tzinfo=MSK)      # generate_daily_tasks' fire time


@pytest.fixture
def at(at):
    at(NIGHT)
    return at


@pytest.fixture
async def catalogue(res):
    """Two of our products on Ozon (ohana_market) with three competitors each, one WB product with one."""
    async with res.db.acquire() as conn:
        await conn.execute("INSERT INTO watcher_products (sku, marketplace, brand_id) VALUES "
                           "('OM-1','ozon','ohana_market'), ('OM-2','ozon','ohana_market'), ('OK-1','wb','ohana_kids')")
        await conn.execute("INSERT INTO watcher_competitors (our_sku, marketplace, competitor_sku, priority) VALUES "
                           "('OM-1','ozon','C-11',30), ('OM-1','ozon','C-12',90), ('OM-1','ozon','C-13',60), "
                           "('OM-2','ozon','C-21',50), ('OM-2','ozon','C-22',70), ('OM-2','ozon','C-23',10), "
                           "('OK-1','wb','C-31',50)")
    return {"products": 3, "competitors": 7}


@pytest.fixture
def script() -> PriceScript:
    return PriceScript()


@pytest.fixture
def fleet(res, clock, script) -> Fleet:
    return Fleet(res.redis, per_market=2, script=script, now=clock.now)


@pytest.fixture
def consume(res, clock):
    """`await consume()`: apply every event waiting on the stream."""

    async def run(name: str = "test-consumer", reclaim_idle_ms: int = 60_000):
        return await Consumer(res.db, res.redis, clock.now, name=name, reclaim_idle_ms=reclaim_idle_ms).drain()

    return run


@pytest.fixture
async def users(res):
    async with res.db.acquire() as conn:
        await conn.execute(
            "INSERT INTO users (id, name, role, brand_id, telegram_chat_id) VALUES "
            "(1,'m1','manager','ohana_market',101), (2,'m2','manager','ohana_kids',102), (3,'s','senior','all',103),"
            "(4,'d','director','all',104), (5,'a','administrator','all',105)")




# -- the admin bot against the sandbox's fake Telegram (as tests/operations/conftest.py) ---------------------
ADMIN = 111
STRANGER = 999


@pytest.fixture
def admin_bot_settings(res, sandbox, monkeypatch):
    from adolfd.sandbox.accounts import TELEGRAM_BOT
    from adolfd.settings import OpsSettings, RateLimit

    monkeypatch.setattr(res.settings, "ops", OpsSettings(bot_token=TELEGRAM_BOT.token, admin_ids=[ADMIN],
                                                         delivery_interval_seconds=3600, poll_timeout_seconds=1))
    monkeypatch.setattr(res.settings, "rate_limits", {**res.settings.rate_limits,
                                                      "telegram:chat": RateLimit(rate=200, burst=200)})
    sandbox.sandbox.set_limit("telegram", "chat", 200, 200)
    return res


@pytest.fixture
async def bot(admin_bot_settings, sandbox):
    """The admin bot polling the fake Telegram until the test ends."""
    import asyncio

    from adolfd.admin.bot.app import serve_bot

    res = admin_bot_settings
    stop = asyncio.Event()
    task = asyncio.create_task(serve_bot(res.settings, res, stop=stop))
    await until_polling(task, sandbox.sandbox)
    yield stop
    stop.set()
    await asyncio.wait_for(task, 15)


@pytest.fixture
def chat(sandbox):
    """`await chat("/watcher agents")` → the bot's reply (the user's next message to that chat)."""
    import asyncio

    import httpx
    from adolfd.sandbox.telegram import telegram_fake

    fake = telegram_fake(sandbox.sandbox)

    async def say(text: str, user_id: int = ADMIN, timeout: float = 8.0, wait: bool = True) -> str:
        seen = len(fake.messages(user_id))
        async with httpx.AsyncClient(base_url=sandbox.url, timeout=5) as client:
            r = await client.post("/telegram/_sandbox/updates", json={"text": text, "user_id": user_id,
                                                                      "username": "olga"})
        r.raise_for_status()
        if not wait:
            return ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(fake.messages(user_id)) <= seen:
            assert loop.time() < deadline, f"no reply to {text!r}"
            await asyncio.sleep(0.02)
        return "\n".join(m.text for m in fake.messages(user_id)[seen:])

    return say
