"""The 15-minute bid cycle (seed 002 §7.3.1): one Redis lock with an owner token, the kill switch, and every bid
keyed by (keyword, cycle slot) in `marketing_bid_history`, so a retry of the same cycle never moves a bid again.
The lock's token names the worker process (adolfd.engine.liveness): if that worker dies, the lock is freed by
the others' liveness sweep within a minute, not at its TTL (`bid_lock_ttl_seconds`)."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import asyncpg
from redis.exceptions import LockError

from adolfd.clients.errors import BadResponse, Unavailable
from adolfd.domain.marketing.ad_alerts import AdAlert, AlertType, SafetyAction, Severity
from adolfd.domain.marketing.ad_safety import CampaignToday, SafetyRules, check_campaign, check_keyword
from adolfd.domain.marketing.bid_engine import BidRules, BidUnit, CampaignTarget, UnitStats, decide_bid
from adolfd.engine import liveness
from adolfd.engine.arguments import MarketplaceOrAll
from adolfd.engine.context import Ctx
from adolfd.keys import MARKETING_BID_CYCLE_LOCK as LOCK_KEY
from adolfd.keys import MARKETING_LAST_CYCLE as LAST_CYCLE
from adolfd.process.db_arrays import bigint_array, text_array
from adolfd.workers.marketing.ad_account import MARKETPLACES, AdAccount, BidOrder, MpUnit
from adolfd.workers.marketing.ad_marketplaces import account
from adolfd.workers.marketing.alerts import PendingAlert, marketing_job, record_alerts
from adolfd.workers.marketing.bid_packing import CampaignSlices
from adolfd.workers.marketing.campaigns import (
    UPSERT_KEYWORDS_CTE,
    CampaignRow,
    chunks,
    load_campaigns,
    pause_point,
    unit_arrays,
)
from adolfd.workers.marketing.kill_switch import bids_paused
from adolfd.workers.marketing.page_rows import PageRows
from adolfd.workers.marketing.pausing import pause_campaign
from adolfd.workers.marketing.rules import bid_rules, safety_rules


@dataclass
class CycleStats:
    campaigns: int = 0
    keywords: int = 0
    bids_updated: int = 0
    bids_failed: int = 0
    keywords_paused: int = 0
    keywords_awaiting_minimum: int = 0       # listed since the last campaign sync: their minimum is not read yet
    campaigns_paused: int = 0
    alerts: int = 0
    errors: int = 0
    requests: int = 0

    def add(self, other: CycleStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# a bid to send: (order, keyword id, campaign, old bid, strategy, reason)
_Order = tuple[BidOrder, int, CampaignRow, int, str, str]
_Claimed = tuple[BidOrder, int]          # a change this cycle claimed: (order, keyword id)
_Pages = PageRows[MpUnit, asyncpg.Record]

# Every unit of a page stored (UPSERT_KEYWORDS_CTE), with its figures over the stats window ($9 its first day)
# and the freshest competitor bid seen since $11 on marketplace $10: one statement for the pages of one account's
# campaigns handed in together (PageRows).
_PAGE_UNITS = UPSERT_KEYWORDS_CTE + """, window_stats AS (
    SELECT keyword_id, SUM(views)::bigint AS views, SUM(clicks)::bigint AS clicks, SUM(spent) AS spent,
           SUM(orders) AS orders, SUM(revenue) AS revenue,
           (array_agg(avg_position ORDER BY stat_date DESC) FILTER (WHERE avg_position IS NOT NULL))[1] AS position
    FROM marketing_stats
    WHERE keyword_id = ANY(ARRAY(SELECT id FROM stored)) AND stat_date >= $9
    GROUP BY keyword_id
), rivals AS (
    SELECT DISTINCT ON (external_id) external_id, bid
    FROM marketing_competitor_bids
    WHERE marketplace = $10 AND external_id = ANY($3::text::text[]) AND observed_at >= $11
    ORDER BY external_id, observed_at DESC
)
SELECT s.id, s.campaign_id, s.external_id, s.keyword, s.status, (s.min_bid * 100)::bigint AS min_bid,
       w.keyword_id AS has_stats, w.views, w.clicks, (w.spent * 100)::bigint AS spent, w.orders,
       (w.revenue * 100)::bigint AS revenue, w.position, (r.bid * 100)::bigint AS rival_bid     -- money in kopecks
FROM stored s LEFT JOIN window_stats w ON w.keyword_id = s.id LEFT JOIN rivals r ON r.external_id = s.external_id
"""

_NO_STATS = UnitStats(views=0, clicks=0, spent=0, orders=0, revenue=0, avg_position=None)

# $9 is the cycle's change-key prefix (`change_prefix`): the key of each change is built here, not sent per row;
# the arrays come as literals (adolfd.process.db_arrays), the claimed keyword ids go back as one array
_CLAIM_CHANGES = """
WITH claimed AS (
INSERT INTO marketing_bid_history (keyword_id, campaign_id, marketplace, brand_id, old_bid, new_bid, source, strategy,
                                   reason, change_key)
SELECT u.keyword_id, u.campaign_id, $1, $2, u.old_bid::numeric / 100, u.new_bid::numeric / 100, 'bid_cycle',
       u.strategy, u.reason, $9::text || u.keyword_id
FROM unnest($3::text::bigint[], $4::text::bigint[], $5::text::bigint[], $6::text::bigint[], $7::text::text[],
            $8::text::text[])
     AS u(keyword_id, campaign_id, old_bid, new_bid, strategy, reason)
ON CONFLICT (change_key) DO NOTHING
RETURNING keyword_id
)
SELECT array_agg(keyword_id) FROM claimed
"""

# the sent changes of one request ($1 keyword ids, $2 their bids in kopecks, both array literals; $3 when, $4 the
# change-key prefix): the history rows and the keywords' current bids in one statement, so one never lands without
# the other
_RECORD_APPLIED = """
WITH applied AS (
    UPDATE marketing_bid_history h SET status = 'applied', applied_at = $3
    FROM unnest($1::text::bigint[]) AS u(id) WHERE h.change_key = $4::text || u.id
)
UPDATE marketing_keywords k SET current_bid = u.bid::numeric / 100, bid_set_at = $3, updated_at = now()
FROM unnest($1::text::bigint[], $2::text::bigint[]) AS u(id, bid) WHERE k.id = u.id
"""


def cycle_slot(ctx: Ctx) -> str:
    """What makes a cycle's changes unique: its cron fire time, or the job id of a manual run (a retry keeps
    both, so it finds its own earlier changes)."""
    return ctx.fire_time.isoformat() if ctx.fire_time else f"job:{ctx.job_id}"


def change_prefix(slot: str) -> str:
    """A change's key is this prefix and its keyword id: one change per keyword and cycle slot."""
    return f"cycle:{slot}:"


@marketing_job(queue="high")
async def run_bid_cycle(ctx: Ctx, marketplace: MarketplaceOrAll = "all") -> dict:
    """The 15-minute bid cycle (seed §7.3.1). Marketplaces and brands run concurrently under one Redis lock."""
    started = ctx.now()
    stopped = await bids_paused(ctx.db, ctx.redis)     # the kill switch (bot /pause_bids, CLI)
    if stopped:
        ctx.log.warning("bid_cycle_skipped", reason="kill_switch", by=stopped.get("by"), note=stopped.get("reason"))
        await _save_cycle(ctx, {"started_at": started.isoformat(), "finished_at": ctx.now().isoformat(),
                                "status": "skipped", "reason": "kill_switch", **CycleStats().as_dict()})
        return {"status": "skipped", "reason": "kill_switch", "paused_by": stopped.get("by")}
    lock = ctx.redis.lock(LOCK_KEY, timeout=ctx.settings.marketing.bid_lock_ttl_seconds, thread_local=False)
    token = liveness.owned_lock_token()      # names this worker: a dead holder's lock is freed in seconds
    if token:
        await liveness.register_owned_lock(ctx.redis, LOCK_KEY)
    if not await lock.acquire(blocking=False, token=token):
        ctx.log.warning("lock_not_acquired", lock=LOCK_KEY)
        return {"status": "skipped", "reason": "lock_not_acquired"}
    try:
        slot = cycle_slot(ctx)
        chosen = MARKETPLACES if marketplace == "all" else (marketplace,)
        pairs = [(mp, brand) for mp in chosen for brand in ctx.brands()]
        # page statements at once, all accounts together: the rest of the pool stays free for claiming and
        # recording sends, which otherwise queue behind pages that are many requests ahead of them
        deciding = asyncio.Semaphore(max(1, ctx.settings.db_pool_size // 2))
        outcomes = await asyncio.gather(*(_cycle_account(ctx, mp, brand, slot, deciding) for mp, brand in pairs),
                                        return_exceptions=True)
        total = CycleStats()
        per_mp: dict[str, dict[str, int]] = {}
        for (mp, brand), outcome in zip(pairs, outcomes, strict=False):
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, Exception):
                    raise outcome
                ctx.log.error("bid_cycle_account_failed", marketplace=mp, brand=brand, error=str(outcome),
                              exc_info=outcome)
                outcome = CycleStats(errors=1)
            total.add(outcome)
            into = per_mp.setdefault(mp, CycleStats().as_dict())
            for key, value in outcome.as_dict().items():
                into[key] += value
        result = {"started_at": started.isoformat(), "finished_at": ctx.now().isoformat(), "status": "completed",
                  "slot": slot, "campaigns_processed": total.campaigns, "keywords_processed": total.keywords,
                  "bids_updated": total.bids_updated, "bids_failed": total.bids_failed,
                  "keywords_paused": total.keywords_paused, "campaigns_paused": total.campaigns_paused,
                  "keywords_awaiting_minimum": total.keywords_awaiting_minimum,
                  "alerts_sent": total.alerts, "errors": total.errors, "requests": total.requests,
                  "marketplaces": per_mp}
        await _save_cycle(ctx, {**result, "campaigns": total.campaigns, "keywords": total.keywords})
        ctx.log.info("bid_cycle_completed", **{k: v for k, v in result.items() if isinstance(v, int)})
        return result
    finally:
        try:
            await lock.release()
        except LockError:
            ctx.log.warning("bid_cycle_lock_lost", lock=LOCK_KEY)


async def _save_cycle(ctx: Ctx, stats: dict[str, Any]) -> None:
    """`marketing:last_bid_cycle` (seed §7.4.3), kept an hour."""
    mapping = {k: str(v) for k, v in stats.items() if k in (
        "started_at", "finished_at", "status", "reason", "campaigns", "keywords", "bids_updated", "errors",
        "keywords_paused", "campaigns_paused") and v is not None}
    async with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.delete(LAST_CYCLE)
        pipe.hset(LAST_CYCLE, mapping=mapping)
        pipe.expire(LAST_CYCLE, 3600)
        await pipe.execute()


async def _cycle_account(ctx: Ctx, marketplace: str, brand: str, slot: str,
                         deciding: asyncio.Semaphore) -> CycleStats:
    """One marketplace account. Its campaigns flow concurrently — read units and bids, decide (campaign safety,
    keyword safety, strategy), send — so one campaign's bids go out while the next one's units are still being
    read. Where one request carries several campaigns (WB), a request leaves as soon as every campaign has
    decided its share of it (`CampaignSlices`) and is claimed on its own; elsewhere each page is claimed as it is
    decided and a request leaves once claimed orders fill it. Claiming overlaps sending, and each request's record
    is its own. A failing campaign is counted and logged; the others go on (seed §7.3.1)."""
    total = CycleStats()
    read_at = ctx.now()            # before the account's first read: a bid confirmed later is newer than any page
    today = read_at.date()
    campaigns = {c.external_id: c for c in await load_campaigns(ctx.db, today, marketplace=marketplace, brand=brand)}
    if not campaigns:
        return total
    try:
        acc = account(ctx, marketplace, brand)
    except LookupError as exc:
        ctx.log.warning("bid_cycle_account_skipped", marketplace=marketplace, brand=brand, reason=str(exc))
        return total
    live = [campaigns[c.external_id] for c in await acc.campaigns_among(campaigns.keys())
            if c.active and c.external_id in campaigns]
    alerts: list[PendingAlert] = []
    pages = PageRows[MpUnit, asyncpg.Record](partial(_page_rows, ctx, marketplace, today, read_at), deciding)
    sending: list[asyncio.Task[tuple[int, int]]] = []
    shared = None if acc.sends_per_campaign else CampaignSlices[_Order](
        (c.external_id for c in live), acc.bids_per_campaign, acc.bids_per_request // acc.bids_per_campaign)

    def send(requests: list[list[_Order]]) -> None:           # WB: each request claimed, then sent
        sending.extend(asyncio.create_task(_claim_and_send(ctx, acc, marketplace, brand, slot, orders))
                       for orders in requests)

    def send_claimed(requests: list[list[_Claimed]]) -> None:
        sending.extend(asyncio.create_task(_send_claimed(ctx, acc, marketplace, brand, slot, claimed))
                       for claimed in requests if claimed)

    async def flow(campaign: CampaignRow) -> CycleStats:
        stats = CycleStats(campaigns=1)
        ready: list[_Claimed] = []
        try:
            async for orders in _decide_campaign(ctx, acc, campaign, today, stats, alerts, pages):
                if shared is not None:
                    send(shared.add(campaign.external_id, orders))
                    continue
                # each page is claimed as it is decided, so the last request waits only for the last page's claim
                ready.extend(await _claim(ctx, marketplace, brand, slot, orders))
                while len(ready) >= acc.bids_per_request:   # a full request goes out while later pages are read
                    send_claimed([ready[:acc.bids_per_request]])
                    ready = ready[acc.bids_per_request:]
        finally:       # what was claimed is sent, even when a later page failed
            if shared is not None:
                send(shared.finish(campaign.external_id))
            else:
                send_claimed([ready])
        return stats

    try:
        outcomes = await asyncio.gather(*(flow(c) for c in live), return_exceptions=True)
        recording = asyncio.create_task(record_alerts(ctx, alerts))      # while the last requests are sent
    finally:           # claimed changes are always sent and recorded, even when the cycle is cancelled
        sent = await asyncio.gather(*sending, return_exceptions=True)
    for campaign, outcome in zip(live, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, Exception):
                raise outcome
            total.errors += 1
            ctx.log.error("bid_cycle_campaign_failed", campaign=campaign.id, marketplace=marketplace, brand=brand,
                          error=str(outcome), exc_info=outcome)
            continue
        total.add(outcome)
    for result in sent:
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            total.errors += 1
            ctx.log.error("bid_request_failed", marketplace=marketplace, brand=brand, error=str(result),
                          exc_info=result)
            continue
        total.bids_updated += result[0]
        total.bids_failed += result[1]
    total.alerts += (await recording).new
    total.requests = acc.calls.count
    return total


async def _decide_campaign(ctx: Ctx, acc: AdAccount, campaign: CampaignRow, today: date, stats: CycleStats,
                           alerts: list[PendingAlert], pages: _Pages) -> AsyncIterator[list[_Order]]:
    """Campaign safety, then its units page by page as the marketplace lists them: keyword safety and the
    strategy. Pauses are applied here; each page's bid orders are yielded for sending."""
    s = ctx.settings.marketing
    rules, safety = bid_rules(s), safety_rules(s)           # built once for all the campaign's pages
    check = check_campaign(CampaignToday(campaign.name, campaign.spent_today, campaign.revenue_today,
                                         campaign.daily_limit, campaign.target_drr), safety)
    alerts += [PendingAlert(campaign.ref, None, a, f"{a.alert_type.value}:{campaign.id}:{today}") for a in check.alerts]
    if check.action is SafetyAction.PAUSE_CAMPAIGN:
        if await pause_campaign(ctx, acc, campaign, paused_by="safety"):
            stats.campaigns_paused += 1
        return
    try:
        target = campaign.target()
    except ValueError as exc:
        stats.errors += 1
        alerts.append(PendingAlert(campaign.ref, None, AdAlert(
            AlertType.BID_CONFIG, Severity.WARNING, SafetyAction.ALERT, "Стратегия кампании настроена неверно",
            str(exc)), f"bid_config:{campaign.id}:{today}"))
        return
    async for units in acc.unit_pages(campaign.external_id):
        yield await _decide_units(ctx, acc, campaign, target, rules, safety, units, today, stats, alerts, pages)


async def _page_rows(ctx: Ctx, marketplace: str, today: date, read_at: datetime,
                     units: list[tuple[int, MpUnit]]) -> dict[tuple[int, Hashable], asyncpg.Record]:
    """`_PAGE_UNITS` for the pages PageRows gathered: each unit's row by (campaign id, external id)."""
    s = ctx.settings.marketing
    now = ctx.now()
    found: dict[tuple[int, Hashable], asyncpg.Record] = {}
    for part in chunks(units):
        found.update(((r["campaign_id"], r["external_id"]), r) for r in await ctx.db.fetch(
            _PAGE_UNITS, now, *unit_arrays(part), read_at, today - timedelta(days=s.stats_window_days - 1),
            marketplace, now - timedelta(minutes=s.competitor_bid_max_age_minutes)))
    return found


async def _decide_units(ctx: Ctx, acc: AdAccount, campaign: CampaignRow, target: CampaignTarget,
                        rules: BidRules, safety: SafetyRules, units: list[MpUnit], today: date,
                        stats: CycleStats, alerts: list[PendingAlert], pages: _Pages) -> list[_Order]:
    """One page of a campaign's units: stored, checked, and a bid decided for each; its pauses applied."""
    rows = await pages.rows(campaign.id, units)
    orders: list[_Order] = []
    pauses: list[tuple[int, str]] = []
    for n, unit in enumerate(units, start=1):
        if n % 200 == 0:
            await pause_point()
        row = rows.get((campaign.id, unit.external_id))
        if row is None or row["status"] != "active":
            continue
        stats.keywords += 1
        if row["min_bid"] is None:      # a bid below it would fail the whole request; the hourly sync reads it
            stats.keywords_awaiting_minimum += 1
            continue
        unit_stats = UnitStats(
            views=int(row["views"]), clicks=int(row["clicks"]), spent=row["spent"], orders=int(row["orders"]),
            revenue=row["revenue"], avg_position=row["position"]) if row["has_stats"] else _NO_STATS
        kw_check = check_keyword(f"{row['keyword'] or unit.external_id} ({campaign.name})", unit_stats, safety)
        if kw_check.alerts:
            alerts += [PendingAlert(campaign.ref, row["id"], a, f"{a.alert_type.value}:{row['id']}:{today}")
                       for a in kw_check.alerts]
        if kw_check.action is SafetyAction.PAUSE_KEYWORD:
            pauses.append((row["id"], unit.external_id))
            continue
        decision = decide_bid(target, BidUnit(unit.bid, row["min_bid"], unit_stats, row["rival_bid"]), rules)
        if decision.alerts:
            alerts += [PendingAlert(campaign.ref, row["id"], a, f"{a.alert_type.value}:{row['id']}:{today}")
                       for a in decision.alerts]
        if decision.new_bid is not None:
            orders.append((BidOrder(campaign.external_id, unit.external_id, decision.new_bid, unit.placement,
                                    unit.price), row["id"], campaign, unit.bid, target.strategy.value,
                           ",".join((decision.reason, *decision.limits))))
    if pauses:
        stats.keywords_paused += await _pause_keywords(ctx, acc, {campaign.external_id: pauses})
    return orders


async def _pause_keywords(ctx: Ctx, acc: AdAccount, pauses: dict[str, list[tuple[int, str]]]) -> int:
    async def one(external_id: str, items: list[tuple[int, str]]) -> int:
        await acc.pause_units(external_id, [u for _, u in items])
        done = await ctx.db.fetch(
            "UPDATE marketing_keywords SET status = 'paused', pause_reason = 'clicks_without_orders', "
            "updated_at = now() WHERE id = ANY($1::bigint[]) AND status = 'active' RETURNING id",
            [kid for kid, _ in items])
        return len(done)
    counts = await asyncio.gather(*(one(ext, items) for ext, items in pauses.items() if items))
    return sum(counts)


async def _claim_and_send(ctx: Ctx, acc: AdAccount, marketplace: str, brand: str, slot: str,
                          orders: list[_Order]) -> tuple[int, int]:
    """One request's orders (WB's slice of every campaign): claimed, then sent."""
    return await _send_claimed(ctx, acc, marketplace, brand, slot,
                               await _claim(ctx, marketplace, brand, slot, orders))


async def _claim(ctx: Ctx, marketplace: str, brand: str, slot: str, orders: list[_Order]) -> list[_Claimed]:
    """Claim each change for this cycle slot: the ones returned are this cycle's to send, the rest a retry of the
    same slot already claimed (and sent, or left `pending` for reconcile_bid_history)."""
    if not orders:
        return []
    prefix = change_prefix(slot)
    claimed: set[int] = set()
    for part in chunks(orders):
        bid_orders, keyword_ids, campaigns, old_bids, strategies, reasons = zip(*part, strict=True)
        claimed.update(await ctx.db.fetchval(
            _CLAIM_CHANGES, marketplace, brand, bigint_array(keyword_ids), bigint_array(c.id for c in campaigns),
            bigint_array(old_bids), bigint_array(o.bid for o in bid_orders), text_array(strategies),
            text_array(reasons), prefix) or ())
        await pause_point()
    mine = [(o, kid) for o, kid, *_ in orders if kid in claimed]
    if len(mine) < len(orders):
        ctx.log.info("bid_changes_already_claimed", marketplace=marketplace, brand=brand,
                     skipped=len(orders) - len(mine), slot=slot)
    return mine


async def _send_claimed(ctx: Ctx, acc: AdAccount, marketplace: str, brand: str, slot: str,
                        to_send: list[_Claimed]) -> tuple[int, int]:
    """Send claimed changes and record how each request ended."""
    if not to_send:
        return 0, 0
    prefix = change_prefix(slot)
    keyword_of = {(o.campaign_id, o.unit_id): kid for o, kid in to_send}
    applied: list[tuple[int, int]] = []
    failed: list[tuple[int, str, str]] = []
    for batch in await acc.set_bids([o for o, _ in to_send]):
        ids = [keyword_of[(o.campaign_id, o.unit_id)] for o in batch.orders]
        if batch.error is None:
            applied.extend((kid, o.bid) for kid, o in zip(ids, batch.orders, strict=False))
        else:
            state = "unknown" if isinstance(batch.error, (Unavailable, BadResponse)) else "failed"
            failed.extend((kid, state, str(batch.error)[:500]) for kid in ids)
            ctx.log.error("bid_batch_failed", marketplace=marketplace, brand=brand, orders=len(ids),
                          error=str(batch.error))
    now = ctx.now()
    for part in chunks(applied):
        await ctx.db.execute(_RECORD_APPLIED, bigint_array(kid for kid, _ in part), bigint_array(b for _, b in part),
                             now, prefix)
        await pause_point()
    for part in chunks(failed):
        await ctx.db.execute(
            "UPDATE marketing_bid_history h SET status = u.state, error = u.error "
            "FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(id, state, error) "
            "WHERE h.change_key = $4::text || u.id",
            [kid for kid, _, _ in part], [s for _, s, _ in part], [e for _, _, e in part], prefix)
    return len(applied), len(failed)
