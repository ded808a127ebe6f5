"""What an operator does with the watcher (`adolfd watcher …` and the bot's /watcher): the monitored products and
competitors (one by one or from a CSV file), the agents, a panic cleared, an IP unblocked, an alert resolved, a
night's generation record, the agents' queue lengths, failed tasks regenerated.

Plain async functions over `Ctx`. A refused action raises `Refused` (its message names what is wrong and what is
allowed) before anything is written; every change is logged as `watcher_operator_action` with who did it.
"""
from __future__ import annotations

import csv
import io
import ipaddress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from adolfd.domain.watcher.marketplaces import FROM_AGENT, MARKETPLACES, Marketplace, from_agent
from adolfd.engine.context import Ctx
from adolfd.keys import WATCHER_CLAIMED as CLAIMED
from adolfd.keys import WATCHER_GENERATION as GENERATION
from adolfd.keys import WATCHER_IP_BLOCKED as IP_BLOCKED
from adolfd.keys import WATCHER_REGENERATE_JOB
from adolfd.workers.watcher.queues import queue_lengths

log = structlog.get_logger("adolfd.watcher")

CSV_COLUMNS = ("marketplace", "our_sku", "brand", "product_name", "product_url", "competitor_sku",
               "competitor_url", "competitor_name", "priority")
CSV_REQUIRED = ("marketplace", "our_sku")
MARKETPLACE_CHOICES = ", ".join((*MARKETPLACES, *FROM_AGENT))


class Refused(ValueError):
    """An operator's action that cannot be done as asked; nothing was changed."""


def marketplace(text: str) -> Marketplace:
    try:
        return from_agent(text.strip().lower())
    except ValueError:
        raise Refused(f"unknown marketplace {text!r}; expected one of {MARKETPLACE_CHOICES}") from None


def priority(value: str | int | None) -> int | None:
    """0–100, the range calculate_priorities writes (seed 001 §7.7); None keeps what is stored."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise Refused(f"priority must be a whole number from 0 to 100, got {value!r}") from None
    if not 0 <= number <= 100:
        raise Refused(f"priority must be from 0 to 100, got {number}")
    return number


def _brand(ctx: Ctx, brand: str) -> str:
    if brand not in ctx.settings.brands:
        raise Refused(f"unknown brand {brand!r}; configured: {', '.join(ctx.settings.brands)}")
    return brand


def _text(value: str | None) -> str | None:
    return value.strip() if value is not None and value.strip() else None


def _action(action: str, by: str, **details: Any) -> None:
    log.info("watcher_operator_action", action=action, by=by, **details)


# -- monitored products and competitors -----------------------------------------------------------------------
_UPSERT_PRODUCT = """
INSERT INTO watcher_products AS p (sku, marketplace, brand_id, name, url)
VALUES ($1, $2, $3, coalesce($4, ''), coalesce($5, ''))
ON CONFLICT (sku, marketplace) DO UPDATE
SET brand_id = EXCLUDED.brand_id, name = coalesce($4, p.name), url = coalesce($5, p.url), is_active = true
WHERE (p.brand_id, p.name, p.url, p.is_active) IS DISTINCT FROM (EXCLUDED.brand_id, coalesce($4, p.name),
                                                                 coalesce($5, p.url), true)
RETURNING id, (xmax = 0) AS created
"""
_UPSERT_COMPETITOR = """
INSERT INTO watcher_competitors AS c (our_sku, marketplace, competitor_sku, url, name, priority)
VALUES ($1, $2, $3, coalesce($4, ''), coalesce($5, ''), coalesce($6, 50))
ON CONFLICT (marketplace, our_sku, competitor_sku) DO UPDATE
SET url = coalesce($4, c.url), name = coalesce($5, c.name), priority = coalesce($6, c.priority), is_active = true
WHERE (c.url, c.name, c.priority, c.is_active) IS DISTINCT FROM (coalesce($4, c.url), coalesce($5, c.name),
                                                                 coalesce($6, c.priority), true)
RETURNING id, (xmax = 0) AS created
"""


@dataclass(frozen=True)
class ProductRow:
    sku: str
    marketplace: Marketplace
    brand: str | None = None
    name: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class CompetitorRow:
    our_sku: str
    marketplace: Marketplace
    competitor_sku: str
    url: str | None = None
    name: str | None = None
    priority: int | None = None


def _outcome(row: asyncpg.Record | None) -> str:
    return "unchanged" if row is None else "created" if row["created"] else "updated"


async def _put_product(conn: asyncpg.Connection, p: ProductRow) -> str:
    if p.brand is None:
        if await conn.fetchval("SELECT 1 FROM watcher_products WHERE sku = $1 AND marketplace = $2",
                               p.sku, p.marketplace) is None:
            raise Refused(f"our SKU {p.sku!r} is not monitored on {p.marketplace}; give its brand to add it")
        return "unchanged"
    return _outcome(await conn.fetchrow(_UPSERT_PRODUCT, p.sku, p.marketplace, p.brand, p.name, p.url))


async def _put_competitor(conn: asyncpg.Connection, c: CompetitorRow) -> str:
    active = await conn.fetchval("SELECT is_active FROM watcher_products WHERE sku = $1 AND marketplace = $2",
                                 c.our_sku, c.marketplace)
    if active is None:
        raise Refused(f"unknown SKU {c.our_sku!r} on {c.marketplace}: add our product first")
    if not active:
        raise Refused(f"our SKU {c.our_sku!r} on {c.marketplace} was removed; add it again first")
    return _outcome(await conn.fetchrow(_UPSERT_COMPETITOR, c.our_sku, c.marketplace, c.competitor_sku, c.url,
                                        c.name, c.priority))


async def add_product(ctx: Ctx, sku: str, market: str, brand: str, *, name: str | None = None,
                      url: str | None = None, by: str) -> dict[str, Any]:
    """Watch our product (again, if it was removed); safe to repeat: the same values change nothing."""
    row = ProductRow(_required(sku, "SKU"), marketplace(market), _brand(ctx, brand), _text(name), _text(url))
    async with ctx.db.acquire() as conn:
        outcome = await _put_product(conn, row)
    _action("add_product", by, sku=row.sku, marketplace=row.marketplace, brand=row.brand, outcome=outcome)
    return {"status": outcome, "sku": row.sku, "marketplace": row.marketplace, "brand": row.brand}


async def remove_product(ctx: Ctx, sku: str, market: str, *, by: str) -> dict[str, Any]:
    """Stop watching our product (its competitors are no longer parsed either); history is kept."""
    mp = marketplace(market)
    done = await ctx.db.fetchval("UPDATE watcher_products SET is_active = false WHERE sku = $1 AND marketplace = $2 "
                                 "AND is_active RETURNING id", sku, mp)
    if done is None:
        raise Refused(f"unknown SKU {sku!r} on {mp}: no monitored product of ours has it")
    _action("remove_product", by, sku=sku, marketplace=mp)
    return {"status": "removed", "sku": sku, "marketplace": mp}


async def list_products(ctx: Ctx, market: str | None = None, *, include_removed: bool = False) -> list[dict]:
    mp = marketplace(market) if market else None
    rows = await ctx.db.fetch(
        "SELECT p.id, p.sku, p.marketplace, p.brand_id, p.name, p.is_active, "
        "(SELECT count(*) FROM watcher_competitors c WHERE c.our_sku = p.sku AND c.marketplace = p.marketplace "
        " AND c.is_active) AS competitors FROM watcher_products p "
        "WHERE ($1::text IS NULL OR p.marketplace = $1) AND ($2 OR p.is_active) ORDER BY p.marketplace, p.sku",
        mp, include_removed)
    return [dict(r) for r in rows]


async def add_competitor(ctx: Ctx, our_sku: str, market: str, competitor_sku: str, *, url: str | None = None,
                         name: str | None = None, priority_value: str | int | None = None,
                         by: str) -> dict[str, Any]:
    row = CompetitorRow(_required(our_sku, "our SKU"), marketplace(market), _required(competitor_sku,
                        "competitor SKU"), _text(url), _text(name), priority(priority_value))
    async with ctx.db.acquire() as conn:
        outcome = await _put_competitor(conn, row)
    cid = await ctx.db.fetchval("SELECT id FROM watcher_competitors WHERE marketplace = $1 AND our_sku = $2 "
                                "AND competitor_sku = $3", row.marketplace, row.our_sku, row.competitor_sku)
    _action("add_competitor", by, competitor_id=cid, our_sku=row.our_sku, marketplace=row.marketplace,
            competitor_sku=row.competitor_sku, outcome=outcome)
    return {"status": outcome, "competitor_id": cid, "our_sku": row.our_sku, "marketplace": row.marketplace,
            "competitor_sku": row.competitor_sku}


async def remove_competitor(ctx: Ctx, competitor_id: int, *, by: str) -> dict[str, Any]:
    done = await ctx.db.fetchrow("UPDATE watcher_competitors SET is_active = false WHERE id = $1 AND is_active "
                                 "RETURNING our_sku, competitor_sku, marketplace", competitor_id)
    if done is None:
        raise Refused(f"unknown competitor id {competitor_id}: none is watched with that id "
                      "(see `adolfd watcher competitors`)")
    _action("remove_competitor", by, competitor_id=competitor_id, **dict(done))
    return {"status": "removed", "competitor_id": competitor_id, **dict(done)}


async def list_competitors(ctx: Ctx, our_sku: str | None = None, market: str | None = None) -> list[dict]:
    mp = marketplace(market) if market else None
    rows = await ctx.db.fetch(
        "SELECT id, our_sku, marketplace, competitor_sku, name, url, priority FROM watcher_competitors "
        "WHERE is_active AND ($1::text IS NULL OR our_sku = $1) AND ($2::text IS NULL OR marketplace = $2) "
        "ORDER BY marketplace, our_sku, priority DESC, id", our_sku, mp)
    return [dict(r) for r in rows]


def _required(value: str | None, what: str) -> str:
    text = _text(value)
    if text is None:
        raise Refused(f"{what} is empty")
    return text


def _csv_row(ctx: Ctx, row: dict[str, str | None]) -> tuple[ProductRow, CompetitorRow | None]:
    mp = marketplace(row.get("marketplace") or "")
    sku = _required(row.get("our_sku"), "our_sku")
    brand = _text(row.get("brand"))
    product = ProductRow(sku, mp, _brand(ctx, brand) if brand else None, _text(row.get("product_name")),
                         _text(row.get("product_url")))
    competitor_sku = _text(row.get("competitor_sku"))
    if competitor_sku is None:
        if product.brand is None:
            raise Refused("a row without competitor_sku adds our product and needs its brand")
        return product, None
    return product, CompetitorRow(sku, mp, competitor_sku, _text(row.get("competitor_url")),
                                  _text(row.get("competitor_name")), priority(row.get("priority")))


async def import_csv(ctx: Ctx, path: Path, *, by: str) -> dict[str, Any]:
    """Products and competitors from a CSV file (columns: CSV_COLUMNS, docs/operations.md "Watcher"). Each row
    is applied on its own; a bad row is reported with its row number (the header is row 1) and changes nothing.
    Importing the same file again changes nothing."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    products = dict(counts)
    competitors = dict(counts)
    errors: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8-sig")       # all of it first: a bad file is refused before a write
    except OSError as exc:
        raise Refused(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise Refused(f"{path} is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in reader.fieldnames or []]
        rows = list(reader)
    except csv.Error as exc:
        raise Refused(f"{path} is not a readable CSV file: {exc}") from None
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [h for h in CSV_REQUIRED if h not in header]
    if unknown or missing:
        raise Refused(f"{path}: the header must name the columns {', '.join(CSV_COLUMNS)} (marketplace and "
                      f"our_sku required); " + "; ".join(([f"unknown: {', '.join(unknown)}"] if unknown else [])
                                                   + ([f"missing: {', '.join(missing)}"] if missing else [])))
    for number, raw in enumerate(rows, start=2):
        if None in raw:
            errors.append({"row": number, "error": "more values than header columns"})
            continue
        values = {key.strip(): value for key, value in raw.items()}
        if not any((v or "").strip() for v in values.values()):
            continue
        try:
            product, competitor = _csv_row(ctx, values)
            async with ctx.db.acquire() as conn, conn.transaction():
                p = await _put_product(conn, product)
                c = await _put_competitor(conn, competitor) if competitor else None
        except Refused as exc:
            errors.append({"row": number, "error": str(exc)})
            continue
        if product.brand is not None:
            products[p] += 1
        if c is not None:
            competitors[c] += 1
    _action("import_csv", by, file=str(path), products=products, competitors=competitors, errors=len(errors))
    return {"products": products, "competitors": competitors, "errors": errors}


# -- agents ------------------------------------------------------------------------------------------------------
async def list_agents(ctx: Ctx) -> list[dict[str, Any]]:
    rows = [dict(r) for r in await ctx.db.fetch(
        "SELECT id, name, marketplace, status, cookies_valid, last_heartbeat, ip FROM watcher_agents "
        "ORDER BY marketplace, name")]
    async with ctx.redis.pipeline(transaction=False) as pipe:
        for r in rows:
            pipe.llen(CLAIMED.format(agent=r["name"]))
            pipe.exists(IP_BLOCKED.format(ip=r["ip"] or "-"))
        found = await pipe.execute()
    for i, r in enumerate(rows):
        r["claimed"] = int(found[2 * i])
        r["ip_blocked"] = bool(found[2 * i + 1]) and r["ip"] is not None
    return rows


async def clear_panic(ctx: Ctx, agent: str, *, by: str) -> dict[str, Any]:
    """An agent in panic may work again (docs/agents.md §2); its IP block, if any, stays until lifted."""
    async with ctx.db.acquire() as conn, conn.transaction():
        row = await conn.fetchrow("SELECT id, status FROM watcher_agents WHERE name = $1 FOR UPDATE", agent)
        if row is None:
            raise Refused(f"unknown agent {agent!r} (see `adolfd watcher agents`)")
        if row["status"] != "panic":
            raise Refused(f"agent {agent} is {row['status']}, not in panic; nothing to clear")
        await conn.execute("UPDATE watcher_agents SET status = 'online' WHERE id = $1", row["id"])
        await conn.execute("INSERT INTO watcher_agent_logs (agent_id, event_type, severity, message, details, "
                           "created_at) VALUES ($1, 'panic_cleared', 'info', $2, $3, $4)",
                           row["id"], f"panic cleared by {by}", {"by": by}, ctx.now())
    _action("clear_panic", by, agent=agent)
    return {"status": "cleared", "agent": agent}


async def unblock_ip(ctx: Ctx, ip: str, *, by: str) -> dict[str, Any]:
    try:
        address = str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        raise Refused(f"{ip!r} is not an IP address") from None
    if not await ctx.redis.delete(IP_BLOCKED.format(ip=address)):
        raise Refused(f"IP {address} is not blocked")
    _action("unblock_ip", by, ip=address)
    return {"status": "unblocked", "ip": address}


# -- alerts, generation, queues ----------------------------------------------------------------------------------
async def resolve_alert(ctx: Ctx, alert_id: int, *, by: str) -> dict[str, Any]:
    """A watcher alert resolved, with the platform alert that carried it; kept a year (cleanup_resolved_alerts)."""
    async with ctx.db.acquire() as conn, conn.transaction():
        row = await conn.fetchrow("SELECT is_resolved, platform_alert_id FROM watcher_alerts WHERE id = $1 "
                                  "FOR UPDATE", alert_id)
        if row is None:
            raise Refused(f"unknown alert id {alert_id} (see the alert's message or `adolfd watcher alerts`)")
        if row["is_resolved"]:
            raise Refused(f"alert {alert_id} is already resolved")
        await conn.execute("UPDATE watcher_alerts SET is_resolved = true, resolved_at = $2 WHERE id = $1",
                           alert_id, ctx.now())
        if row["platform_alert_id"] is not None:
            await conn.execute("UPDATE alerts SET resolved_at = $2 WHERE id = $1 AND resolved_at IS NULL",
                               row["platform_alert_id"], ctx.now())
    _action("resolve_alert", by, alert_id=alert_id)
    return {"status": "resolved", "alert_id": alert_id}


async def open_alerts(ctx: Ctx, limit: int = 20) -> list[dict[str, Any]]:
    rows = await ctx.db.fetch(
        "SELECT id, alert_type, severity, sku, marketplace, competitor_id, details, created_at FROM watcher_alerts "
        "WHERE NOT is_resolved ORDER BY id DESC LIMIT $1", limit)
    return [dict(r) for r in rows]


async def generation_record(ctx: Ctx, night: date) -> dict[str, Any]:
    """The night's record (watcher:generation:{date}, 7 days) and its tasks by status from PostgreSQL."""
    raw = await ctx.redis.hgetall(GENERATION.format(date=night.isoformat()))  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
    tasks = {r["status"]: r["n"] for r in await ctx.db.fetch(
        "SELECT status, count(*) AS n FROM watcher_tasks WHERE scheduled_date = $1 GROUP BY status ORDER BY 1",
        night)}
    return {"date": night.isoformat(), "record": {k.decode(): v.decode() for k, v in raw.items()} or None,
            "tasks": tasks}


async def queues(ctx: Ctx) -> dict[str, int]:
    return await queue_lengths(ctx.redis)


async def regenerate(ctx: Ctx, night: date | None = None, *, by: str) -> dict[str, Any]:
    """Enqueue regenerate_failed_tasks for a night (default: today's); the job itself is safe to run twice."""
    day = night or ctx.now().date()
    job_id = WATCHER_REGENERATE_JOB.format(date=day.isoformat(), stamp=int(ctx.now().timestamp()))
    queued = await ctx.enqueue("watcher.regenerate_failed_tasks", _job_id=job_id, scheduled_date=day)
    _action("regenerate_failed_tasks", by, date=day.isoformat(), job_id=queued)
    return {"status": "enqueued" if queued else "already_enqueued", "date": day.isoformat(), "job_id": job_id}
