"""Alerts read and resolved from the bot (/alerts buttons) and the CLI, with who did it."""
from __future__ import annotations

import pytest
from adolfd.admin.alerts import AlertRefused, acknowledge_alert, raise_alert, resolve_alert

from .conftest import ADMIN

pytestmark = pytest.mark.usefixtures("fast_chats")


async def test_alerts_are_read_and_resolved_by_button(ops, bot, say, replies, press):
    stock = await raise_alert(ops.db, module="logistic", alert_type="LOW_STOCK", severity="warning",
                              message="OM-1: 5 days left", brand_id="ohana_market", dedup_key="LOW:1")
    failed = await raise_alert(ops.db, module="marketing", alert_type="JOB_FAILED", severity="critical",
                               message="collect_stats failed")
    await say("/alerts")
    first, second = await replies(ADMIN, 2)
    assert f"#{failed}" in first.text and f"#{stock}" in second.text            # most severe first
    assert [b["callback_data"] for b in second.reply_markup["inline_keyboard"][0]] == [
        f"alr:ack:{stock}", f"alr:res:{stock}"]
    await press(f"alr:ack:{stock}")
    await replies(ADMIN, 3)
    await press(f"alr:res:{failed}")
    await replies(ADMIN, 4)
    await press(f"alr:res:{failed}")
    already = (await replies(ADMIN, 5))[4]
    assert "already resolved" in already.text
    rows = {r["id"]: r for r in await ops.db.fetch("SELECT * FROM alerts")}
    assert rows[stock]["acknowledged_by"] == f"telegram:u{ADMIN}" and rows[stock]["resolved_at"] is None
    assert rows[failed]["resolved_by"] == f"telegram:u{ADMIN}" and rows[failed]["resolved_at"] is not None


async def test_unknown_alert_is_refused(ops):
    with pytest.raises(AlertRefused, match="no alert 999"):
        await acknowledge_alert(ops.db, 999, by="t", now=None)
    with pytest.raises(AlertRefused, match="no alert 999"):
        await resolve_alert(ops.db, 999, by="t", now=None)
