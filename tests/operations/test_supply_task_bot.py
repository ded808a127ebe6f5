"""Supply tasks in the admin bot against the sandbox's fake Telegram: /tasks as buttons, a task's buttons, the
TASKS_GENERATED message's confirm buttons, refusals for strangers and for wrong input."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from adolfd.admin.alert_delivery import deliver_pending
from adolfd.admin.alerts import raise_alert
from adolfd.clients.telegram import telegram_bot
from adolfd.workers.logistic.tasks import confirm_buttons

from .conftest import ADMIN, MARKET_MANAGERS, STRANGER

pytestmark = pytest.mark.usefixtures("fast_chats")
NOW = datetime(2026, 2, 16, 4, 0, tzinfo=UTC)


async def add_task(res, n: int, priority: str = "urgent", status: str = "new") -> str:
    number = f"SUP-20260216-{n:04d}"
    await res.db.execute(
        "INSERT INTO supply_tasks (task_number, plan_date, brand_id, article, sku, cluster_id, cluster_name, quantity, "
        "deficit, target_stock, fbo_stock, in_transit, avg_daily_sales, days_of_stock, priority, coverage, status, "
        "created_at, updated_at) VALUES ($1, '2026-02-16', 'ohana_market', $2, 1001, $3, 'Москва', 12, 14, 20, 6, 0, "
        "1.4, 2.1, $4, 'partial', $5, $6, $6)", number, f"OM-{n}", n, priority, status, NOW)
    return number


async def status_of(res, number: str) -> str:
    return await res.db.fetchval("SELECT status FROM supply_tasks WHERE task_number = $1", number)


async def test_tasks_list_buttons_confirm_and_ship(ops, bot, say, replies, press, fake):
    first, second = await add_task(ops, 1), await add_task(ops, 2, priority="planned")
    await say("/tasks ohana_market urgent")
    [listing] = await replies(ADMIN, 1)
    rows = listing.reply_markup["inline_keyboard"]
    assert [r[0]["callback_data"] for r in rows] == [f"sup:show:{first}"]
    await press(f"sup:show:{first}")
    shown = (await replies(ADMIN, 2))[1]
    assert first in shown.text and "send 12 pcs" in shown.text and "Москва" in shown.text
    assert [b["callback_data"] for b in shown.reply_markup["inline_keyboard"][0]] == [f"sup:confirm:{first}"]
    await press(f"sup:confirm:{first}")
    confirmed = (await replies(ADMIN, 3))[2]
    assert "new → <b>confirmed</b>" in confirmed.text and await status_of(ops, first) == "confirmed"
    await press(f"sup:start:{first}")
    await replies(ADMIN, 4)
    await say(f"/complete_task {first} -2")
    refused = (await replies(ADMIN, 5))[4]
    assert "at least 1" in refused.text and await status_of(ops, first) == "in_progress"
    await say(f"/complete_task {first} 11")
    await replies(ADMIN, 6)
    await say(f"/cancel_task {second} duplicate of another order")
    await replies(ADMIN, 7)
    await say("/task SUP-19990101-0001")
    unknown = (await replies(ADMIN, 8))[7]
    assert "no supply task" in unknown.text
    row = await ops.db.fetchrow("SELECT status, quantity_sent FROM supply_tasks WHERE task_number = $1", first)
    assert tuple(row) == ("completed", 11) and await status_of(ops, second) == "cancelled"
    actors = await ops.db.fetch("SELECT task_number, action, actor FROM supply_task_actions ORDER BY id")
    assert [(r["task_number"], r["action"], r["actor"]) for r in actors] == [
        (first, "confirm", f"telegram:u{ADMIN}"), (first, "start", f"telegram:u{ADMIN}"),
        (first, "complete", "telegram:ops"), (second, "cancel", "telegram:ops")]
    assert len(fake.callback_answers) == 3


async def test_a_stranger_cannot_confirm_by_button(ops, bot, press, fake, say, replies):
    number = await add_task(ops, 1)
    await press(f"sup:confirm:{number}", user_id=STRANGER)
    await say("/help")                         # handled after the button: the button was handled too
    await replies(ADMIN, 1)
    assert await status_of(ops, number) == "new"
    assert fake.callback_answers and "only answers the adolfd operators" in fake.callback_answers[0]["text"]


async def test_the_tasks_generated_message_carries_confirm_buttons(ops, bot, press, fake, replies):
    number = await add_task(ops, 7)
    await raise_alert(ops.db, module="logistic", alert_type="TASKS_GENERATED", severity="low",
                      message=f"Сформировано 1 заданий (1 urgent), 12 шт.\n{number}: OM-7 → Москва, 12 шт.",
                      brand_id="ohana_market", details={"buttons": confirm_buttons([number])})
    await deliver_pending(ops.db, telegram_bot(ops), ops.settings)
    [digest] = fake.messages(MARKET_MANAGERS)
    assert number in digest.text
    button = {"text": f"✅ {number}", "callback_data": f"sup:confirm:{number}"}
    assert digest.reply_markup["inline_keyboard"] == [[button]]
    await press(f"sup:confirm:{number}")
    await replies(ADMIN, 1)
    assert await status_of(ops, number) == "confirmed"
