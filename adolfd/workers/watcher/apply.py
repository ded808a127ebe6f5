"""Applying one agent event to PostgreSQL (docs/agents.md "What each event does").

`apply_event` runs inside the caller's transaction and either changes the rows the event calls for and
returns the Redis effects to run after the commit, or raises `BadEvent` — the transaction then rolls back,
so a refused event changes nothing. State rules: a task is started only from `pending` by an agent of its
marketplace; a result or failure is accepted only from the agent that started it; an agent in panic may send
heartbeats and nothing else until an operator clears it.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from adolfd.domain.watcher.events import (
    BadEvent,
    CookiesInvalid,
    Heartbeat,
    Panic,
    PriceResult,
    TaskFailed,
    TaskStarted,
)
from adolfd.domain.watcher.marketplaces import from_agent
from adolfd.domain.watcher.recipients import admins
from adolfd.keys import WATCHER_CLAIMED as CLAIMED
from adolfd.keys import WATCHER_IP_BLOCK_SECONDS as IP_BLOCK_SECONDS
from adolfd.workers.watcher.handback import hand_back
from adolfd.workers.watcher.notify import active_users, tell

MAX_TRIES = 3     # seed §7.3 regenerate_failed_tasks: a task has failed for good after 3 tries
Event = Heartbeat | TaskStarted | PriceResult | TaskFailed | CookiesInvalid | Panic
Effect = dict[str, Any]

_UPSERT_AGENT = """
INSERT INTO watcher_agents (name, marketplace, status, last_heartbeat, ip) VALUES ($1, $2, 'online', $3, $4)
ON CONFLICT (name) DO UPDATE
SET last_heartbeat = greatest(watcher_agents.last_heartbeat, EXCLUDED.last_heartbeat),
    ip = coalesce(EXCLUDED.ip, watcher_agents.ip),
    status = CASE WHEN watcher_agents.status = 'offline' THEN 'online' ELSE watcher_agents.status END
RETURNING marketplace
"""
_LOG = "INSERT INTO watcher_agent_logs (agent_id, event_type, severity, message, details, created_at) " \
       "VALUES ($1, $2, $3, $4, $5, $6)"


async def _agent(conn: asyncpg.Connection, name: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT id, name, marketplace, status FROM watcher_agents WHERE name = $1 FOR UPDATE",
                              name)
    if row is None:
        raise BadEvent("unknown_agent", f"agent {name!r} has never sent a heartbeat")
    return row


async def _task(conn: asyncpg.Connection, task_id: int, agent: asyncpg.Record) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT t.*, c.our_sku FROM watcher_tasks t LEFT JOIN watcher_competitors c "
        "ON t.target_type = 'competitor' AND c.id = t.target_id WHERE t.id = $1 FOR UPDATE OF t", task_id)
    if row is None:
        raise BadEvent("unknown_task", f"task {task_id} does not exist")
    if row["marketplace"] != agent["marketplace"]:
        raise BadEvent("wrong_marketplace", f"task {task_id} is for {row['marketplace']}, agent "
                                            f"{agent['name']} parses {agent['marketplace']}")
    return row


def _working(agent: asyncpg.Record) -> None:
    if agent["status"] == "panic":
        raise BadEvent("agent_in_panic", f"agent {agent['name']} is in panic until an operator clears it")


def _own(task: asyncpg.Record, agent: asyncpg.Record) -> None:
    if task["status"] != "in_progress" or task["agent_id"] != agent["id"]:
        raise BadEvent("task_not_in_progress", f"task {task['id']} is {task['status']}"
                                               + ("" if task["agent_id"] in (None, agent["id"])
                                                  else " with another agent")
                                               + f", not in progress with {agent['name']}")


async def _heartbeat(conn: asyncpg.Connection, ev: Heartbeat, now: datetime) -> list[Effect]:
    market = await conn.fetchval(_UPSERT_AGENT, ev.agent, from_agent(ev.marketplace), now,
                                 str(ev.ip) if ev.ip else None)
    if market != from_agent(ev.marketplace):
        raise BadEvent("wrong_marketplace", f"agent {ev.agent} is registered for {market}, not {ev.marketplace}")
    return []


async def _started(conn: asyncpg.Connection, ev: TaskStarted, now: datetime) -> list[Effect]:
    agent = await _agent(conn, ev.agent)
    _working(agent)
    task = await _task(conn, ev.task_id, agent)
    if task["status"] != "pending":
        raise BadEvent("task_not_pending", f"task {ev.task_id} is {task['status']}, it cannot start")
    await conn.execute("UPDATE watcher_tasks SET status = 'in_progress', agent_id = $2, started_at = $3, "
                       "requeue = NULL WHERE id = $1", ev.task_id, agent["id"], now)
    await conn.execute("UPDATE watcher_agents SET status = 'working' WHERE id = $1", agent["id"])
    return []


def _done_effect(agent: str, task_id: int) -> Effect:
    return {"op": "lrem", "key": CLAIMED.format(agent=agent), "value": str(task_id)}


async def _finish_agent(conn: asyncpg.Connection, agent_id: int) -> None:
    await conn.execute("UPDATE watcher_agents SET status = 'online' WHERE id = $1 AND status = 'working' AND NOT "
                       "EXISTS (SELECT 1 FROM watcher_tasks WHERE agent_id = $1 AND status = 'in_progress')",
                       agent_id)


async def _price(conn: asyncpg.Connection, ev: PriceResult, now: datetime) -> list[Effect]:
    agent = await _agent(conn, ev.agent)
    _working(agent)
    task = await _task(conn, ev.task_id, agent)
    _own(task, agent)
    competitor = task["target_id"] if task["target_type"] == "competitor" else None
    sku = task["our_sku"] if competitor is not None else task["sku"]
    await conn.execute(
        "INSERT INTO watcher_price_history (task_id, sku, marketplace, competitor_id, current_price, old_price, "
        "discount_percent, in_stock, parsed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        task["id"], sku, task["marketplace"], competitor, ev.price, ev.old_price, ev.discount_percent,
        ev.in_stock, now)
    elapsed = int((now - task["started_at"]).total_seconds() * 1000) if task["started_at"] else None
    await conn.execute("UPDATE watcher_tasks SET status = 'completed', finished_at = $2, execution_time_ms = $3, "
                       "error = NULL WHERE id = $1", task["id"], now, elapsed)
    await _finish_agent(conn, agent["id"])
    return [_done_effect(ev.agent, task["id"])]


async def _failed(conn: asyncpg.Connection, ev: TaskFailed, now: datetime) -> list[Effect]:
    agent = await _agent(conn, ev.agent)
    task = await _task(conn, ev.task_id, agent)
    _own(task, agent)
    tries = task["retry_count"] + 1
    if tries < MAX_TRIES:
        await conn.execute("UPDATE watcher_tasks SET status = 'pending', retry_count = $2, error = $3, "
                           "agent_id = NULL, started_at = NULL, requeue = 'tail' WHERE id = $1",
                           task["id"], tries, ev.error)
    else:
        await conn.execute("UPDATE watcher_tasks SET status = 'failed', retry_count = $2, error = $3, "
                           "finished_at = $4 WHERE id = $1", task["id"], tries, ev.error, now)
    await _finish_agent(conn, agent["id"])
    return [_done_effect(ev.agent, task["id"]), {"op": "flush"}]


async def _cookies(conn: asyncpg.Connection, ev: CookiesInvalid, now: datetime) -> list[Effect]:
    agent = await _agent(conn, ev.agent)
    await conn.execute("UPDATE watcher_agents SET cookies_valid = false WHERE id = $1", agent["id"])
    await conn.execute(_LOG, agent["id"], "cookies_invalid", "warning", ev.reason or "cookies invalid", {}, now)
    return []


async def enter_panic(conn: asyncpg.Connection, agent_id: int, agent_name: str, *, reason: str, ip: str | None,
                      message: str, details: dict[str, Any], claimed: Sequence[int], now: datetime,
                      key: str) -> list[Effect]:
    """Seed §7.5 handle_panic_mode: the agent to `panic`, a log row, its tasks handed back, the admins told;
    returns the effects (IP blocked for an hour until an absolute time, so replaying it changes nothing)."""
    await conn.execute("UPDATE watcher_agents SET status = 'panic', ip = coalesce($2, ip) WHERE id = $1",
                       agent_id, ip)
    await conn.execute(_LOG, agent_id, "panic", "error", message or reason,
                       {"reason": reason, "ip": ip, "details": details}, now)
    freed = await hand_back(conn, agent_id, claimed)
    await tell(conn, admins(await active_users(conn)), alert_type="agent_panic", severity="critical",
               message=f"Агент {agent_name}: PANIC ({reason})" + (f", IP {ip} заблокирован на 1 ч" if ip else "")
               + f"; задач возвращено в очередь: {len(freed)}", dedup_key=f"panic:{key}", now=now,
               agent=agent_name, reason=reason, ip=ip, tasks_returned=len(freed))
    effects: list[Effect] = [{"op": "flush"}, {"op": "del", "key": CLAIMED.format(agent=agent_name)}]
    if ip:
        until = now + timedelta(seconds=IP_BLOCK_SECONDS)
        effects.insert(0, {"op": "block_ip", "ip": ip, "reason": reason, "until": int(until.timestamp())})
    return effects


async def _panic(conn: asyncpg.Connection, ev: Panic, now: datetime, claimed: Sequence[int]) -> list[Effect]:
    agent = await _agent(conn, ev.agent)
    return await enter_panic(conn, agent["id"], agent["name"], reason=ev.reason, ip=str(ev.ip), message=ev.message,
                             details=ev.details, claimed=claimed, now=now, key=ev.event_id)


async def apply_event(conn: asyncpg.Connection, ev: Event, now: datetime, claimed: Sequence[int] = ()) -> list[Effect]:
    if isinstance(ev, Heartbeat):
        return await _heartbeat(conn, ev, now)
    if isinstance(ev, TaskStarted):
        return await _started(conn, ev, now)
    if isinstance(ev, PriceResult):
        return await _price(conn, ev, now)
    if isinstance(ev, TaskFailed):
        return await _failed(conn, ev, now)
    if isinstance(ev, CookiesInvalid):
        return await _cookies(conn, ev, now)
    return await _panic(conn, ev, now, claimed)
