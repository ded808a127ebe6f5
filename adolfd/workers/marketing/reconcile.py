"""Bid history that stays true after failures: `reconcile_bid_history` reads the bids the marketplaces hold and
corrects the rows a failure left open.

A row stays `pending` when its cycle was killed between claiming and recording (sent or not), or when the
outcome could not be written (PostgreSQL down); it turns `unknown` when the request timed out or met a 5xx
storm (the marketplace may or may not have the bid). Rows at least `reconcile_after_seconds` old are settled by
the marketplace's answer: the bid it holds is the new one → `applied`; it is not → `failed` ("not applied")
for the cycle's rows (the next cycle decides afresh), while an operator's change is handed to
`apply_bid_change` again (it was lost with a Redis loss or never reached the marketplace); a unit gone from
the campaign → `failed`. `marketing_keywords.current_bid` takes the marketplace's bid.

The job takes the bid-cycle lock, so no cycle is sending while it reads; if a cycle holds it, this run skips.
Every 10 minutes it looks at the changes of the last day (a change still open after a day of runs: its
marketplace account has been failing all day); every night at all of them.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
from arq.constants import job_key_prefix
from pydantic import PositiveInt

from adolfd.domain.marketing.ad_money import kopecks_to_roubles
from adolfd.engine import liveness
from adolfd.engine.context import Ctx
from adolfd.keys import MARKETING_BID_CHANGE_JOB
from adolfd.keys import MARKETING_BID_CYCLE_LOCK as LOCK_KEY
from adolfd.workers.marketing.ad_account import MpUnit
from adolfd.workers.marketing.ad_marketplaces import account
from adolfd.workers.marketing.alerts import marketing_job
from adolfd.workers.marketing.bid_changes import _same_bid
from adolfd.workers.marketing.campaigns import _k

_OPEN = """
SELECT h.id, h.keyword_id, h.new_bid, h.source, h.status, h.marketplace, h.brand_id, k.external_id AS unit,
       k.price, c.external_id AS campaign
FROM marketing_bid_history h JOIN marketing_keywords k ON k.id = h.keyword_id
JOIN marketing_campaigns c ON c.id = h.campaign_id
WHERE h.status IN ('pending', 'unknown') AND h.created_at <= $1 {window}
ORDER BY h.marketplace, h.brand_id, h.id
LIMIT 5000
"""
# The history grows by every bid sent (a million rows a day for 10 000 units moved every cycle) and an open row
# cannot be indexed without costing every applied change its in-place update: the 10-minute run looks at the
# last `within_hours` through the `created_at` index, a nightly run at all of it (2 million rows: ~0.5 s).
_OPEN_RECENT = _OPEN.format(window="AND h.created_at >= $2")
_OPEN_ALL = _OPEN.format(window="")


@marketing_job(queue="default")
async def reconcile_bid_history(ctx: Ctx, within_hours: PositiveInt = 24, whole_history: bool = False) -> dict:
    """Settle `pending`/`unknown` bid changes from the marketplaces' own bids (module docstring): those created
    in the last `within_hours`, or every one (`whole_history`, the nightly run)."""
    now = ctx.now()
    settle = now - timedelta(seconds=ctx.settings.marketing.reconcile_after_seconds)
    rows = await (ctx.db.fetch(_OPEN_ALL, settle) if whole_history else
                  ctx.db.fetch(_OPEN_RECENT, settle, now - timedelta(hours=within_hours)))
    if not rows:
        return {"status": "ok", "open": 0, "applied": 0, "not_applied": 0, "resent": 0, "errors": 0}
    lock = ctx.redis.lock(LOCK_KEY, timeout=ctx.settings.marketing.bid_lock_ttl_seconds, thread_local=False)
    token = liveness.owned_lock_token()
    if token:
        await liveness.register_owned_lock(ctx.redis, LOCK_KEY)
    if not await lock.acquire(blocking=False, token=token):
        ctx.log.info("reconcile_skipped", reason="bid_cycle_running", open=len(rows))
        return {"status": "skipped", "reason": "bid_cycle_running", "open": len(rows)}
    try:
        counts = {"applied": 0, "not_applied": 0, "resent": 0, "waiting": 0, "errors": 0}
        accounts: dict[tuple[str, str], list[asyncpg.Record]] = {}
        for r in rows:
            accounts.setdefault((r["marketplace"], r["brand_id"]), []).append(r)
        for (marketplace, brand), open_rows in accounts.items():
            try:
                live = await account(ctx, marketplace, brand).units(sorted({r["campaign"] for r in open_rows}))
            except Exception as exc:  # noqa: BLE001 — one account's outage leaves its rows for the next run
                counts["errors"] += 1
                ctx.log.warning("reconcile_account_failed", marketplace=marketplace, brand=brand, error=str(exc))
                continue
            for r in open_rows:
                units = {u.external_id: u for u in live.get(r["campaign"], [])}
                counts[await _settle(ctx, r, units.get(r["unit"]))] += 1
    finally:
        await lock.release()
    ctx.log.info("bid_history_reconciled", open=len(rows), **counts)
    return {"status": "ok", "open": len(rows), **counts}


async def _settle(ctx: Ctx, row: asyncpg.Record, unit: MpUnit | None) -> str:
    wanted = _k(row["new_bid"])
    price = _k(row["price"]) if row["price"] is not None else None
    if unit is not None and _same_bid(row["marketplace"], unit.bid, wanted, price):
        await _record(ctx.db, row["id"], row["keyword_id"], "applied", None, unit.bid, ctx.now())
        return "applied"
    if unit is not None and row["source"] != "bid_cycle":
        if await ctx.redis.exists(job_key_prefix + MARKETING_BID_CHANGE_JOB.format(change=row["id"])):
            return "waiting"           # its apply_bid_change is still queued or retrying: it settles the row
        # an operator's change the marketplace does not have: apply it (reading back first, as `unknown`)
        await ctx.db.execute("UPDATE marketing_bid_history SET status = 'unknown', error = $2 WHERE id = $1",
                             row["id"], "not on the marketplace at reconciliation; applying again")
        await ctx.enqueue("marketing.apply_bid_change",
                          _job_id=MARKETING_BID_CHANGE_JOB.format(change=row["id"]) + ":reconciled",
                          change_id=row["id"])
        return "resent"
    why = "unit no longer in the campaign" if unit is None else \
        f"not applied: the marketplace holds {kopecks_to_roubles(unit.bid)} ₽ (reconciled)"
    await _record(ctx.db, row["id"], row["keyword_id"], "failed", why, unit.bid if unit else None, None)
    return "not_applied"


async def _record(db: asyncpg.Pool, change_id: int, keyword_id: int, status: str, error: str | None,
                  live_bid: int | None, applied_at: Any) -> None:
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE marketing_bid_history SET status = $2, error = $3, applied_at = $4 "
                           "WHERE id = $1 AND status IN ('pending', 'unknown')",
                           change_id, status, error, applied_at)
        if live_bid is not None:
            await conn.execute("UPDATE marketing_keywords SET current_bid = $2, updated_at = now() WHERE id = $1",
                               keyword_id, kopecks_to_roubles(live_bid))
