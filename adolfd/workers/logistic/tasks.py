"""Supply tasks as people handle them: listing, one task in full, and the actions of seed 000 §8.4.6 (confirm,
start, complete with the quantity sent, cancel with a reason), each recorded in `supply_task_actions` with who did
it. Shared by `adolfd logistic …` and the admin bot; the rules are `adolfd.domain.logistic.task_lifecycle`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg
import structlog

from adolfd.domain.logistic.task_lifecycle import TaskAction, TaskActionRefused, TaskMove, plan_move

log = structlog.get_logger(__name__)

_COLUMNS = """task_number, plan_date, brand_id, article, sku, cluster_id, cluster_name, quantity, deficit,
target_stock, fbo_stock, in_transit, avg_daily_sales, days_of_stock, priority, coverage, status, created_at,
updated_at, confirmed_at, shipped_at, completed_at, cancelled_at, cancel_reason, quantity_sent"""
_LIST = f"""
SELECT {_COLUMNS} FROM supply_tasks
WHERE ($1::text IS NULL OR brand_id = $1) AND ($2::text IS NULL OR priority = $2)
  AND ($3::text[] IS NULL OR status = ANY($3::text[])) AND ($4::date IS NULL OR plan_date = $4)
ORDER BY plan_date DESC, array_position(ARRAY['urgent','planned','recommended'], priority), days_of_stock NULLS LAST,
         task_number
LIMIT $5
"""
_ONE = f"SELECT {_COLUMNS} FROM supply_tasks WHERE task_number = $1"
_ACTIONS = """
SELECT action, from_status, to_status, actor, quantity_sent, reason, acted_at FROM supply_task_actions
WHERE task_number = $1 ORDER BY acted_at, id
"""
_MOVE = """
UPDATE supply_tasks SET status = $2, updated_at = $3,
    confirmed_at = CASE WHEN $4 = 'confirm' THEN $3 ELSE confirmed_at END,
    shipped_at = CASE WHEN $4 = 'start' THEN $3 ELSE shipped_at END,
    completed_at = CASE WHEN $4 = 'complete' THEN $3 ELSE completed_at END,
    quantity_sent = coalesce($5, quantity_sent),
    cancelled_at = CASE WHEN $4 = 'cancel' THEN $3 ELSE cancelled_at END,
    cancel_reason = CASE WHEN $4 = 'cancel' THEN $6 ELSE cancel_reason END
WHERE task_number = $1
"""
_RECORD = """
INSERT INTO supply_task_actions (task_number, action, from_status, to_status, actor, quantity_sent, reason, acted_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
OPEN = ("new", "confirmed", "in_progress")
BUTTON_PREFIX = "sup"          # callback data: sup:show|confirm|start:SUP-20260216-0007 (≤ 64 bytes)
MAX_BUTTONS = 20


def confirm_buttons(task_numbers: list[str]) -> list[dict[str, str]]:
    """Inline buttons, as an alert's `details["buttons"]`, that confirm the given tasks from the alert message
    (handled by the logistic bot router)."""
    return [{"text": f"✅ {n}", "callback_data": f"{BUTTON_PREFIX}:confirm:{n}"} for n in task_numbers[:MAX_BUTTONS]]


class UnknownTask(LookupError):
    def __init__(self, task_number: str) -> None:
        super().__init__(f"no supply task {task_number!r} (numbers look like SUP-20260216-0007; "
                         f"`adolfd logistic tasks` lists them)")


@dataclass(frozen=True)
class TaskFilter:
    brand: str | None = None
    priority: str | None = None
    statuses: tuple[str, ...] | None = OPEN
    plan_date: date | None = None
    limit: int = 50


async def list_tasks(db: asyncpg.Pool, f: TaskFilter) -> list[dict[str, Any]]:
    rows = await db.fetch(_LIST, f.brand, f.priority, list(f.statuses) if f.statuses else None, f.plan_date, f.limit)
    return [dict(r) for r in rows]


async def get_task(db: asyncpg.Pool, task_number: str) -> dict[str, Any]:
    """The task and its actions; UnknownTask if there is none."""
    row = await db.fetchrow(_ONE, task_number)
    if row is None:
        raise UnknownTask(task_number)
    return {**dict(row), "actions": [dict(a) for a in await db.fetch(_ACTIONS, task_number)]}


async def act_on_task(db: asyncpg.Pool, task_number: str, action: TaskAction | str, *, actor: str, now: datetime,
                      quantity_sent: int | None = None, reason: str | None = None) -> TaskMove:
    """Apply one action under the task's row lock and record it with its actor; refused actions change nothing
    (UnknownTask, TaskActionRefused)."""
    async with db.acquire() as conn, conn.transaction():
        status = await conn.fetchval("SELECT status FROM supply_tasks WHERE task_number = $1 FOR UPDATE", task_number)
        if status is None:
            raise UnknownTask(task_number)
        move = plan_move(task_number, status, action, quantity_sent=quantity_sent, reason=reason)
        await conn.execute(_MOVE, task_number, move.to_status, now, move.action.value, move.quantity_sent,
                           move.reason)
        await conn.execute(_RECORD, task_number, move.action.value, move.from_status, move.to_status, actor,
                           move.quantity_sent, move.reason, now)
    log.info("supply_task_action", task_number=task_number, action=move.action.value, status=move.to_status,
             actor=actor, quantity_sent=move.quantity_sent)
    return move


__all__ = ["BUTTON_PREFIX", "MAX_BUTTONS", "OPEN", "TaskActionRefused", "TaskFilter", "UnknownTask", "act_on_task",
           "confirm_buttons", "get_task", "list_tasks"]
