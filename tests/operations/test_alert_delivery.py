"""Alert delivery against the sandbox's fake Telegram: routing, digests, exactly-once records, outages, limits."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from adolfd.admin.alert_delivery import DELIVERY_LOCK, alert_status, deliver_pending
from adolfd.admin.alerts import raise_alert
from adolfd.admin.status import system_status
from adolfd.clients.telegram import telegram_bot

from .conftest import ADMIN_CHAT, KIDS_MANAGERS, MARKET_MANAGERS, SENIOR


@pytest.fixture
def tg(ops):
    """The worker-side Bot (shared httpx client, shared pacing), as `adolfd deliver-alerts` uses it."""
    return telegram_bot(ops)


async def alert(res, severity="warning", brand="ohana_market", module="logistic", alert_type="STOCK_LOW",
                message="SKU 1001: 5 days of stock left in Moscow", dedup_key=None) -> int:
    return await raise_alert(res.db, module=module, alert_type=alert_type, severity=severity, message=message,
                             brand_id=brand, dedup_key=dedup_key)


async def deliveries(res) -> list[dict]:
    rows = await res.db.fetch("SELECT * FROM alert_deliveries ORDER BY alert_id, chat_id")
    return [dict(r) for r in rows]


async def test_alerts_reach_chats_by_severity_role_and_brand(ops, tg, fake):
    critical = await alert(ops, "critical", brand=None, module="marketing", alert_type="JOB_FAILED",
                           message="marketing.run_bid_cycle failed after 3 tries")
    warning_kids = await alert(ops, "warning", brand="ohana_kids")
    info_market = await alert(ops, "info", brand="ohana_market", alert_type="STOCK_RECOVERED", message="back")
    report = await deliver_pending(ops.db, tg, ops.settings)
    assert report.failed_chats == {}
    sent = {chat: [m.text for m in fake.messages(chat)] for chat in (ADMIN_CHAT, MARKET_MANAGERS, KIDS_MANAGERS,
                                                                       SENIOR)}
    # critical without brand: admin + senior (managers of a single brand do not get brandless alerts)
    assert any("JOB_FAILED" in t for t in sent[ADMIN_CHAT]) and any("JOB_FAILED" in t for t in sent[SENIOR])
    assert not any("JOB_FAILED" in t for t in sent[MARKET_MANAGERS] + sent[KIDS_MANAGERS])
    # warning: brand managers + senior, never admin
    assert any("STOCK_LOW" in t for t in sent[KIDS_MANAGERS]) and any("STOCK_LOW" in t for t in sent[SENIOR])
    assert not any("STOCK_LOW" in t for t in sent[ADMIN_CHAT] + sent[MARKET_MANAGERS])
    # info: the brand's managers only
    assert sent[MARKET_MANAGERS] and all("STOCK_RECOVERED" in t for t in sent[MARKET_MANAGERS])
    rows = await deliveries(ops)
    assert {(r["alert_id"], r["chat_id"]) for r in rows} == {
        (critical, ADMIN_CHAT), (critical, SENIOR), (warning_kids, KIDS_MANAGERS), (warning_kids, SENIOR),
        (info_market, MARKET_MANAGERS)}
    assert all(r["delivered_at"] is not None and r["message_id"] for r in rows)
    assert await ops.db.fetchval("SELECT count(*) FROM alerts WHERE delivered_at IS NULL") == 0


async def test_marketing_warnings_reach_director_and_admin_chats_and_users_chats(ops, tg, fake):
    """Seed 002 §7.3.7: a marketing warning goes to senior, director and administrator too; the people of
    `users` with a Telegram chat receive alerts like the configured chats."""
    director_chat, kids_person, retired = 333, 444, 555
    await ops.db.executemany(
        "INSERT INTO users (name, role, brand_id, telegram_chat_id, is_active) VALUES ($1, $2, $3, $4, $5)",
        [("director", "director", "all", director_chat, True), ("kids", "manager", "ohana_kids", kids_person, True),
         ("gone", "administrator", "all", retired, False), ("no chat", "senior", "all", None, True)])
    budget = await alert(ops, "warning", brand="ohana_kids", module="marketing", alert_type="budget_exceeded",
                         message="campaign paused at its daily limit")
    stock = await alert(ops, "warning", brand="ohana_kids", module="logistic")
    await deliver_pending(ops.db, tg, ops.settings)
    routed = {(r["alert_id"], r["chat_id"]) for r in await deliveries(ops)}
    assert routed == {(budget, ADMIN_CHAT), (budget, KIDS_MANAGERS), (budget, SENIOR), (budget, director_chat),
                      (budget, kids_person),
                      (stock, KIDS_MANAGERS), (stock, SENIOR), (stock, kids_person)}
    assert any("budget_exceeded" in m.text for m in fake.messages(director_chat))
    assert fake.messages(retired) == []


async def test_one_digest_per_chat_and_a_second_pass_sends_nothing(ops, tg, fake, sandbox):
    for n in range(5):
        await alert(ops, "warning", brand="ohana_market", message=f"SKU {n}: low")
    first = await deliver_pending(ops.db, tg, ops.settings)
    assert first.messages == 2                          # market managers + senior, one digest each
    assert len(fake.messages(MARKET_MANAGERS)) == 1 and fake.messages(MARKET_MANAGERS)[0].text.count("STOCK_LOW") == 5
    second = await deliver_pending(ops.db, tg, ops.settings)
    assert second.messages == 0 and second.routed == 0
    assert sandbox.sandbox.counter("messages_sent", f"telegram:{MARKET_MANAGERS}") == 1


async def test_a_re_raised_open_alert_is_not_sent_again(ops, tg, fake):
    await alert(ops, "critical", dedup_key="stale:brain")
    await deliver_pending(ops.db, tg, ops.settings)
    assert await alert(ops, "critical", dedup_key="stale:brain") is None     # still open: nothing new
    await deliver_pending(ops.db, tg, ops.settings)
    assert len(fake.messages(ADMIN_CHAT)) == 1


async def test_dead_telegram_loses_nothing(ops, tg, fake, sandbox):
    ids = [await alert(ops, "critical", message=f"problem {n}") for n in range(3)]
    sandbox.sandbox.add_fault("telegram", "5xx", path="/bot")          # Telegram answers 503 to everything
    down = await deliver_pending(ops.db, tg, ops.settings)
    assert down.messages == 0 and set(down.failed_chats) >= {ADMIN_CHAT, SENIOR}
    rows = await deliveries(ops)
    assert rows and all(r["delivered_at"] is None and r["attempts"] == 1 for r in rows if r["chat_id"] == ADMIN_CHAT)
    assert await ops.db.fetchval("SELECT count(*) FROM alerts WHERE delivered_at IS NULL") == 3
    assert await ops.db.fetchval("SELECT min(delivery_attempts) FROM alerts") >= 1
    status = await alert_status(ops.redis, ops.db)
    assert status["undelivered"] == 3 and {c["chat_id"] for c in status["failing_chats"]} >= {ADMIN_CHAT}

    sandbox.sandbox.clear_faults()
    up = await deliver_pending(ops.db, tg, ops.settings)
    assert up.failed_chats == {} and up.closed == 3
    [digest] = fake.messages(ADMIN_CHAT)
    assert all(f"problem {n}" in digest.text for n in range(3))
    assert await ops.db.fetchval("SELECT count(*) FROM alerts WHERE delivered_at IS NULL AND id = ANY($1)", ids) == 0


async def test_blocked_chat_backs_off_while_the_others_get_theirs(ops, tg, fake):
    fake.set_chat_state(SENIOR, "blocked")
    await alert(ops, "warning", brand="ohana_market")
    now = datetime.now(UTC)
    report = await deliver_pending(ops.db, tg, ops.settings, now=now)
    assert "blocked" in report.failed_chats[SENIOR]
    assert len(fake.messages(MARKET_MANAGERS)) == 1
    [held] = [r for r in await deliveries(ops) if r["chat_id"] == SENIOR]
    assert held["next_attempt_at"] >= now + timedelta(seconds=59)       # a minute before the next try
    again = await deliver_pending(ops.db, tg, ops.settings, now=now + timedelta(seconds=10))
    assert again.messages == 0 and again.failed_chats == {}             # not hammered
    fake.set_chat_state(SENIOR, "ok")
    later = await deliver_pending(ops.db, tg, ops.settings, now=now + timedelta(minutes=2))
    assert later.messages == 1 and len(fake.messages(SENIOR)) == 1
    assert await ops.db.fetchval("SELECT count(*) FROM alerts WHERE delivered_at IS NULL") == 0


async def test_alerts_nobody_receives_are_closed_without_a_message(ops, tg, fake, monkeypatch):
    await alert(ops, "info", brand="ohana_kids")
    monkeypatch.setattr(ops.settings.ops, "alert_chats", [c for c in ops.settings.ops.alert_chats
                                                          if c.chat_id != KIDS_MANAGERS])
    report = await deliver_pending(ops.db, tg, ops.settings)
    assert report.unrouted == 1 and report.messages == 0 and fake.messages() == []
    assert await ops.db.fetchval("SELECT count(*) FROM alerts WHERE delivered_at IS NULL") == 0


async def test_without_configured_chats_alerts_wait(ops, tg, fake, monkeypatch):
    monkeypatch.setattr(ops.settings.ops, "alert_chats", [])
    await alert(ops, "critical")
    report = await deliver_pending(ops.db, tg, ops.settings)
    assert report.messages == 0 and fake.messages() == []
    assert await ops.db.fetchval("SELECT count(*) FROM alerts WHERE delivered_at IS NULL") == 1


async def test_passes_never_overlap(ops, tg, fake):
    await alert(ops, "critical")
    async with ops.db.acquire() as conn:          # another process is mid-pass
        assert await conn.fetchval("SELECT pg_try_advisory_lock($1)", DELIVERY_LOCK)
        try:
            blocked = await deliver_pending(ops.db, tg, ops.settings)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", DELIVERY_LOCK)
    assert blocked.skipped and fake.messages() == []
    results = await asyncio.gather(*(deliver_pending(ops.db, tg, ops.settings) for _ in range(3)))
    assert sum(r.messages for r in results) == 3           # admin, market managers, senior: once each
    assert all(len(fake.messages(chat)) == 1 for chat in (ADMIN_CHAT, MARKET_MANAGERS, SENIOR))


async def test_pacing_keeps_within_the_per_chat_limit(ops, tg, fake, sandbox):
    # 30 long alerts for a group chat: several digests, one every 3 s (20 a minute), never a 429
    for n in range(30):
        await alert(ops, "warning", brand="ohana_kids", message=f"SKU {n}: " + "stock low in every cluster " * 8)
    loop = asyncio.get_running_loop()
    started = loop.time()
    report = await deliver_pending(ops.db, tg, ops.settings)
    elapsed = loop.time() - started
    digests = len(fake.messages(KIDS_MANAGERS))
    assert digests >= 2 and report.failed_chats == {}
    assert sandbox.sandbox.counter("rate_limited", "telegram:group") == 0
    assert sandbox.sandbox.counter("rate_limited", "telegram:chat") == 0
    assert elapsed >= 3 * (digests - 1) * 0.9          # groups: 20 a minute, one every 3 s
    assert await ops.db.fetchval("SELECT count(*) FROM alerts WHERE delivered_at IS NULL") == 0


async def test_a_429_defers_the_chat_and_nothing_is_lost(ops, tg, fake, sandbox):
    sandbox.sandbox.set_limit("telegram", "chat", 0.05, 1)             # Telegram stricter than we expect
    for n in range(2):
        await alert(ops, "warning", brand="ohana_market", message=f"first {n}")
    await deliver_pending(ops.db, tg, ops.settings)                     # SENIOR gets one message
    await alert(ops, "warning", brand="ohana_market", message="second")
    report = await deliver_pending(ops.db, tg, ops.settings, time_budget=5)
    assert "TelegramRetryAfter" in report.failed_chats[SENIOR]
    [row] = [r for r in await deliveries(ops) if r["chat_id"] == SENIOR and r["delivered_at"] is None]
    assert row["attempts"] == 1 and "retry after" in row["last_error"]
    sandbox.sandbox.set_limit("telegram", "chat", 100, 100)
    await ops.redis.flushdb()                                           # forget our own penalty for the chat
    later = datetime.now(UTC) + timedelta(minutes=1)
    await deliver_pending(ops.db, tg, ops.settings, now=later)
    assert [m.text.count("second") for m in fake.messages(SENIOR)] == [0, 1]


async def test_the_bot_process_delivers_within_seconds(ops, fake, monkeypatch, sandbox):
    from adolfd.admin.bot.app import serve_bot

    monkeypatch.setattr(ops.settings.ops, "delivery_interval_seconds", 0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(serve_bot(ops.settings, ops, stop=stop))
    try:
        await asyncio.sleep(0.3)
        await alert(ops, "critical", message="bid cycle lock lost")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while not fake.messages(ADMIN_CHAT):
            assert loop.time() < deadline, "alert not delivered by the bot"
            await asyncio.sleep(0.05)
        assert "bid cycle lock lost" in fake.messages(ADMIN_CHAT)[0].text
        # the pass records itself after its last send: the message can arrive before the record
        while (await system_status(ops.redis, ops.db))["alerts"]["last_pass"] is None:
            assert loop.time() < deadline + 5, "the delivery pass was never recorded"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def test_bad_token_is_reported_not_crashing(ops, monkeypatch, fake):
    from pydantic import SecretStr

    monkeypatch.setattr(ops.settings.ops, "bot_token", SecretStr("7000000001:wrong"))
    ops.bots.pop("admin", None)
    try:
        bot = telegram_bot(ops)
        await alert(ops, "critical")
        report = await deliver_pending(ops.db, bot, ops.settings)
        assert "Unauthorized" in report.failed_chats[0] and fake.messages() == []
        assert await ops.db.fetchval("SELECT count(*) FROM alerts WHERE delivered_at IS NULL") == 1
    finally:
        ops.bots.pop("admin", None)
