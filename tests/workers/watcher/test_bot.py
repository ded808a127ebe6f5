"""/watcher in the admin bot: each verb answers, a refusal names the problem, a stranger changes nothing."""
from __future__ import annotations

import pytest

from .conftest import STRANGER


async def test_admin_manages_the_watcher_from_the_bot(res, bot, chat, catalogue, users, at, run_job, fleet, consume):
    reply = await chat("/watcher add-product OM-7 ozon ohana_market")
    assert "product OM-7 (ozon, ohana_market): created" in reply
    reply = await chat("/watcher add-competitor OM-7 ozon C-71 65")
    assert "C-71 vs OM-7 (ozon): created" in reply
    cid = await res.db.fetchval("SELECT id FROM watcher_competitors WHERE competitor_sku = 'C-71'")
    assert f"#{cid} C-71 vs OM-7 · ozon · priority 65" in await chat("/watcher competitors OM-7")
    assert "OM-7 · ozon · ohana_market · competitors 1" in await chat("/watcher products ozon")
    assert f"competitor #{cid} no longer watched" in await chat(f"/watcher remove-competitor {cid}")
    assert "no longer watched" in await chat("/watcher remove-product OM-7 ozon")
    await run_job("watcher.generate_daily_tasks")
    assert "ozon: 8" in await chat("/watcher queues")
    assert "<b>Generation 2026-02-16</b>: completed" in await chat("/watcher generation 2026-02-16")
    await fleet.heartbeat()
    panicking = fleet.agent("ozon-1")
    panicking.switches.panic = True
    await panicking.work_one()
    await consume()
    agents = await chat("/watcher agents")
    assert f"ozon-1 · ozon · panic · heartbeat 0s ago · {panicking.ip} · IP blocked" in agents
    assert "agent ozon-1: panic cleared" in await chat("/watcher clear-panic ozon-1")
    assert f"IP {panicking.ip} unblocked" in await chat(f"/watcher unblock-ip {panicking.ip}")
    alert = await res.db.fetchval("INSERT INTO watcher_alerts (alert_type, severity, sku, marketplace) "
                                  "VALUES ('price_drop', 'warning', 'OM-1', 'ozon') RETURNING id")
    assert f"/watcher resolve-alert {alert}" in await chat("/watcher alerts")
    assert f"alert #{alert} resolved" in await chat(f"/watcher resolve-alert {alert}")
    assert "regenerate_failed_tasks for 2026-02-16 enqueued" in await chat("/watcher regenerate 2026-02-16")


@pytest.mark.parametrize(("text", "expected"), [
    ("/watcher", "Usage: /watcher VERB"),
    ("/watcher teleport", "Usage: /watcher VERB"),
    ("/watcher add-product OM-7 ozon", "Usage: /watcher add-product SKU MARKETPLACE BRAND"),
    ("/watcher add-product OM-7 etsy ohana_market", "unknown marketplace &#x27;etsy&#x27;"),
    ("/watcher add-competitor OM-1 ozon C-1 101", "priority must be from 0 to 100, got 101"),
    ("/watcher add-competitor NOPE ozon C-1", "unknown SKU"),
    ("/watcher resolve-alert 4242", "unknown alert id 4242"),
    ("/watcher resolve-alert abc", "expected a number"),
    ("/watcher clear-panic ghost", "unknown agent"),
    ("/watcher generation yesterday", "expected a date as YYYY-MM-DD"),
])
async def test_bad_input_gets_a_clear_answer_and_changes_nothing(res, bot, chat, catalogue, text, expected):
    before = await res.db.fetch("SELECT * FROM watcher_competitors ORDER BY id")
    reply = await chat(text)
    assert expected.replace("&#x27;", "'") in reply.replace("&#x27;", "'"), reply
    assert await res.db.fetch("SELECT * FROM watcher_competitors ORDER BY id") == before


async def test_stranger_is_refused_and_changes_nothing(res, bot, chat, catalogue):
    reply = await chat("/watcher add-product OM-7 ozon ohana_market", user_id=STRANGER)
    assert "only answers the adolfd operators" in reply
    await chat("/watcher remove-product OM-1 ozon", user_id=STRANGER, wait=False)   # refused once per chat only
    assert "OM-1 · ozon" in await chat("/watcher products")           # handled after the stranger's message
    assert await res.db.fetchval("SELECT count(*) FROM watcher_products WHERE is_active") == 3
    assert await res.db.fetchval("SELECT count(*) FROM watcher_products WHERE sku = 'OM-7'") == 0
