"""Marketing jobs (seed 002 §7): the 15-minute bid cycle, stats, budgets, sync, API health, analytics,
aggregation, clean-up, and the event jobs `apply_bid_change`, `send_alert`, `generate_report`.

Decisions come from `adolfd.domain` (bid_engine, ad_safety, budgets, ad_analytics); marketplaces are reached
through `adolfd.workers.ad_marketplaces`. Money is kopecks in the code and roubles NUMERIC in the tables.

What keeps each job from doing anything twice:
- the bid cycle runs under a Redis lock with an owner token and a TTL (a second cycle logs `lock_not_acquired`
  and skips), honours the kill switch, and keys every bid it sends by (keyword, cycle slot) in
  `marketing_bid_history`, so a retry of the same cycle never moves a bid again;
- `apply_bid_change` claims its change row and, on a retry, reads the bid back from the marketplace before
  sending: a change that already landed is recorded, not sent again;
- stats, daily/monthly aggregates and recommendations upsert by their natural keys;
- alerts carry dedup keys (one per condition, campaign/keyword and day), pauses are guarded by the row status.
"""
from __future__ import annotations

import asyncio
import csv
import functools
import json
import os
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from pydantic import BaseModel, Field
from redis.exceptions import LockError

from adolfd.engine.arguments import BrandId, Marketplace, MarketplaceOrAll, Month
from adolfd.clients.errors import ApiError, Unavailable
from adolfd.engine.context import Ctx
from adolfd.domain.marketing.ad_alerts import AdAlert, AlertType, Recipient, SafetyAction, Severity, alert_recipients
from adolfd.domain.marketing.ad_analytics import (
    AnalyticsRules, CampaignProfile, DailyFigures, KeywordSummary, Priority, Recommendation, recommend,
    spend_anomaly, trend,
)
from adolfd.domain.marketing.ad_money import kopecks_to_roubles, rouble
from adolfd.domain.marketing.ad_safety import CampaignToday, SafetyRules, check_campaign, check_keyword
from adolfd.domain.marketing.bid_engine import BidRules, BidUnit, CampaignTarget, Strategy, UnitStats, decide_bid
from adolfd.domain.marketing.budgets import BudgetRules, BudgetState, check_budget
from adolfd.workers.marketing.kill_switch import bids_paused
from adolfd.engine.jobs import BadArguments, job
from adolfd.engine.retry import RetryPolicy
from adolfd.settings import MarketingSettings
from adolfd.workers.marketing.ad_marketplaces import MARKETPLACES, AdAccount, BidOrder, MpDay, MpUnit, account

MODULE = "marketing"
log = structlog.get_logger(__name__)

LOCK_KEY = "marketing:lock:bid_cycle"
LAST_CYCLE = "marketing:last_bid_cycle"
API_STATUS = "marketing:api_status:{mp}"
API_ERRORS = "marketing:api_errors:{mp}"
WORKERS = "marketing:workers"


# -- rules from settings ----------------------------------------------------------------------------

def bid_rules(s: MarketingSettings) -> BidRules:
    return BidRules(step_percent=Decimal(str(s.step_percent)), min_step=rouble(str(s.min_step_rub)),
                    max_change_percent=Decimal(str(s.max_change_percent)), min_change=rouble(str(s.min_change_rub)))


def safety_rules(s: MarketingSettings) -> SafetyRules:
    return SafetyRules(pause_min_clicks=s.pause_min_clicks, low_ctr_percent=Decimal(str(s.low_ctr_percent)),
                       low_ctr_min_views=s.low_ctr_min_views, drr_alert_factor=Decimal(str(s.drr_alert_factor)))


def budget_rules(s: MarketingSettings) -> BudgetRules:
    return BudgetRules(warning_percent=Decimal(str(s.budget_warning_percent)))


def analytics_rules(s: MarketingSettings) -> AnalyticsRules:
    return AnalyticsRules(anomaly_window_days=s.anomaly_window_days, anomaly_factor=Decimal(str(s.anomaly_factor)),
                          trend_days=s.trend_days)


def _k(value: Decimal | None) -> int:
    """A NUMERIC rouble column → kopecks."""
    return 0 if value is None else rouble(value)


CHUNK = 1000      # rows per set-based statement: big enough to be cheap, small enough not to stall the loop


def chunks(rows: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]


async def pause_point() -> None:
    """Between large statements: let paced API requests of other accounts leave on time."""
    await asyncio.sleep(0)


def _day_start(ctx: Ctx, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ctx.settings.tz)


# -- jobs with the seed's dead letter ------------------------------------------------------------------

def marketing_job(*, queue: str, retry: RetryPolicy | None = None, timeout: float | None = None,
                  manual: bool = True) -> Callable[[Callable[..., Awaitable[dict]]], Callable[..., Awaitable[dict]]]:
    """`@job` plus seed 002 §7.6.2: when a job fails for good, besides the platform's `failed_jobs` row and
    critical alert, a `system_error` marketing alert is written for the marketing screens."""
    def register(fn: Callable[..., Awaitable[dict]]) -> Callable[..., Awaitable[dict]]:
        @functools.wraps(fn)
        async def run(ctx: Ctx, **kwargs: Any) -> dict:
            try:
                return await fn(ctx, **kwargs)
            except Exception as exc:
                final = ctx.spec is None or not ctx.spec.retry.retries(exc, ctx.job_try)
                if final:
                    await _system_error_alert(ctx, fn.__name__, exc)
                raise
        return job(queue=queue, retry=retry, timeout=timeout, manual=manual)(run)
    return register


async def _system_error_alert(ctx: Ctx, name: str, exc: Exception) -> None:
    try:
        await record_alert(ctx, None, None, AdAlert(
            AlertType.SYSTEM_ERROR, Severity.CRITICAL, SafetyAction.ALERT, "Задача marketing не выполнена",
            f"Task {name} ({ctx.job_id}) failed: {type(exc).__name__}: {exc}"[:1000],
            {"job": name, "job_id": ctx.job_id, "tries": ctx.job_try}), dedup_key=f"system_error:{ctx.job_id}")
    except Exception as inner:  # noqa: BLE001 — the platform's dead letter still records the failure
        log.error("system_error_alert_failed", job=name, error=str(inner))


# -- alerts (seed §7.3.7) ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CampaignRef:
    id: int
    brand_id: str
    marketplace: str
    name: str


@dataclass(frozen=True)
class PendingAlert:
    campaign: CampaignRef | None
    keyword_id: int | None
    alert: AdAlert
    dedup_key: str


_ALERTS_INSERT = """
INSERT INTO marketing_alerts (campaign_id, keyword_id, marketplace, brand_id, alert_type, severity, title, message,
                              details, action_taken, dedup_key)
SELECT u.campaign_id, u.keyword_id, u.marketplace, u.brand_id, u.alert_type, u.severity, u.title, u.message,
       u.details::jsonb, u.action_taken, u.dedup_key
FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::text[], $11::text[])
     AS u(campaign_id, keyword_id, marketplace, brand_id, alert_type, severity, title, message, details,
          action_taken, dedup_key)
ON CONFLICT (dedup_key) DO UPDATE SET dedup_key = EXCLUDED.dedup_key
RETURNING id, dedup_key, (xmax = 0) AS inserted, platform_alert_id
"""

# The platform's alert row (adolfd.admin.alerts.raise_alert), written for many alerts in one statement.
_PLATFORM_INSERT = """
INSERT INTO alerts (module, alert_type, severity, brand_id, message, details, dedup_key)
SELECT $1, u.alert_type, u.severity, u.brand_id, u.message, u.details::jsonb, u.dedup_key
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
     AS u(alert_type, severity, brand_id, message, details, dedup_key)
ON CONFLICT (module, dedup_key) WHERE resolved_at IS NULL AND dedup_key IS NOT NULL DO NOTHING
"""


@dataclass(frozen=True)
class AlertsRecorded:
    ids: list[int]                  # in the items' order
    new: int                        # rows created now (the others existed: same condition, same day)


async def record_alerts(ctx: Ctx, items: Sequence[PendingAlert]) -> AlertsRecorded:
    """Alert rows, their recipients (by role and brand, seed §7.3.7) and notifications, and the platform alerts
    Telegram delivery reads, for many alerts in a few statements. Safe to repeat: everything is keyed by the
    items' dedup keys (the first item of a key wins)."""
    unique = list({i.dedup_key: i for i in reversed(items)}.values())[::-1]
    if not unique:
        return AlertsRecorded([], 0)
    cols = list(zip(*[(i.campaign.id if i.campaign else None, i.keyword_id,
                       i.campaign.marketplace if i.campaign else None, i.campaign.brand_id if i.campaign else None,
                       i.alert.alert_type.value, i.alert.severity.value, i.alert.title, i.alert.message,
                       json.dumps(dict(i.alert.details), ensure_ascii=False, default=str), i.alert.action_taken,
                       i.dedup_key) for i in unique]))
    async with ctx.db.acquire() as conn, conn.transaction():
        rows = {r["dedup_key"]: r for r in await conn.fetch(_ALERTS_INSERT, *[list(c) for c in cols])}
        users = [Recipient(r["id"], r["role"], r["brand_id"]) for r in
                 await conn.fetch("SELECT id, role, brand_id FROM users WHERE is_active")]
        fresh = [i for i in unique if rows[i.dedup_key]["platform_alert_id"] is None]
        chosen = {i.dedup_key: alert_recipients(users, i.campaign.brand_id if i.campaign else None,
                                                i.alert.severity.value) for i in fresh}
        pairs = [(rows[i.dedup_key]["id"], u, f"marketing.{i.alert.alert_type.value}", i.alert.severity.value)
                 for i in fresh for u in chosen[i.dedup_key]]
        if pairs:
            await conn.execute(
                "INSERT INTO marketing_notifications (alert_id, user_id, event_type, level) "
                "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING",
                *[list(c) for c in zip(*pairs)])
        if fresh:
            keys = [f"marketing_alert:{rows[i.dedup_key]['id']}" for i in fresh]
            await conn.execute(
                _PLATFORM_INSERT, MODULE, [i.alert.alert_type.value for i in fresh],
                [i.alert.severity.value for i in fresh], [i.campaign.brand_id if i.campaign else None for i in fresh],
                [f"{i.alert.title}. {i.alert.message}" for i in fresh],
                [json.dumps({"marketing_alert_id": rows[i.dedup_key]["id"],
                             "campaign": i.campaign.name if i.campaign else None,
                             "marketplace": i.campaign.marketplace if i.campaign else None,
                             "recipients": list(chosen[i.dedup_key]), "action_taken": i.alert.action_taken},
                            ensure_ascii=False) for i in fresh], keys)
            platform = {r["dedup_key"]: r["id"] for r in await conn.fetch(
                "SELECT id, dedup_key FROM alerts WHERE module = $1 AND dedup_key = ANY($2::text[]) "
                "AND resolved_at IS NULL", MODULE, keys)}
            await conn.execute(
                "UPDATE marketing_alerts m SET recipients = u.recipients::bigint[], platform_alert_id = u.platform_id "
                "FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(id, recipients, platform_id) "
                "WHERE m.id = u.id",
                [rows[i.dedup_key]["id"] for i in fresh],
                ["{" + ",".join(map(str, chosen[i.dedup_key])) + "}" for i in fresh],
                [platform.get(k) for k in keys])
    new = [i for i in unique if rows[i.dedup_key]["inserted"]]
    if new:
        kinds: dict[str, int] = defaultdict(int)
        for i in new:
            kinds[i.alert.alert_type.value] += 1
        log.info("marketing_alerts_recorded", new=len(new), **kinds)
    return AlertsRecorded([rows[i.dedup_key]["id"] for i in items], len(new))


async def record_alert(ctx: Ctx, campaign: CampaignRef | None, keyword_id: int | None, alert: AdAlert, *,
                       dedup_key: str) -> int:
    """One alert (see `record_alerts`)."""
    return (await record_alerts(ctx, [PendingAlert(campaign, keyword_id, alert, dedup_key)])).ids[0]


@marketing_job(queue="high", retry=RetryPolicy(tries=3, delay=10), timeout=60)
async def send_alert(ctx: Ctx, campaign_id: int, alert_type: AlertType, severity: Severity, title: str, message: str,
                     keyword_id: int | None = None, action_taken: str | None = None,
                     details: dict[str, Any] | None = None, dedup_key: str | None = None) -> dict:
    """Create an alert and notify its recipients (seed §7.3.7). `campaign_id=0` is a system alert (§7.6.2)."""
    campaign = None
    if campaign_id:
        row = await ctx.db.fetchrow("SELECT id, brand_id, marketplace, name FROM marketing_campaigns WHERE id = $1",
                                    campaign_id)
        if row is None:
            return {"error": "Campaign not found"}
        campaign = CampaignRef(row["id"], row["brand_id"], row["marketplace"], row["name"])
    action = SafetyAction(action_taken.upper()) if action_taken else SafetyAction.ALERT
    alert_id = await record_alert(ctx, campaign, keyword_id, AdAlert(alert_type, severity, action, title, message,
                                                                     details or {}),
                                  dedup_key=dedup_key or f"job:{ctx.job_id}")
    recipients = await ctx.db.fetchval("SELECT cardinality(recipients) FROM marketing_alerts WHERE id = $1", alert_id)
    return {"alert_id": alert_id, "recipients": recipients}


# -- campaign and keyword rows -------------------------------------------------------------------------

@dataclass
class CampaignRow:
    id: int
    brand_id: str
    marketplace: str
    external_id: str
    name: str
    status: str
    paused_by: str | None
    paused_at: datetime | None
    strategy: str
    target_position: int | None
    target_drr: Decimal | None
    target_cpo: int | None
    max_bid: int
    daily_limit: int | None
    spent_today: int
    revenue_today: int

    @property
    def ref(self) -> CampaignRef:
        return CampaignRef(self.id, self.brand_id, self.marketplace, self.name)

    def target(self) -> CampaignTarget:
        return CampaignTarget(Strategy(self.strategy), self.max_bid, self.target_position, self.target_drr,
                              self.target_cpo)


_CAMPAIGNS = """
SELECT id, brand_id, marketplace, external_id, name, status, paused_by, paused_at, strategy_type, target_position,
       target_drr, target_cpo, max_bid, daily_limit,
       CASE WHEN spent_date = $1 THEN spent_today ELSE 0 END AS spent_today,
       CASE WHEN spent_date = $1 THEN revenue_today ELSE 0 END AS revenue_today
FROM marketing_campaigns
WHERE ($2::text IS NULL OR marketplace = $2) AND ($3::text IS NULL OR brand_id = $3) AND status = ANY($4::text[])
ORDER BY id
"""


async def load_campaigns(db: asyncpg.Pool | asyncpg.Connection, today: date, *, marketplace: str | None = None,
                         brand: str | None = None, statuses: Sequence[str] = ("active",)) -> list[CampaignRow]:
    rows = await db.fetch(_CAMPAIGNS, today, marketplace, brand, list(statuses))
    return [CampaignRow(r["id"], r["brand_id"], r["marketplace"], r["external_id"], r["name"], r["status"],
                        r["paused_by"], r["paused_at"], r["strategy_type"], r["target_position"], r["target_drr"],
                        _k(r["target_cpo"]) if r["target_cpo"] is not None else None, _k(r["max_bid"]),
                        _k(r["daily_limit"]) if r["daily_limit"] is not None else None,
                        _k(r["spent_today"]), _k(r["revenue_today"])) for r in rows]


_UPSERT_KEYWORDS = """
INSERT INTO marketing_keywords AS k (campaign_id, external_id, keyword, placement, current_bid, price, synced_at)
SELECT u.campaign_id, u.external_id, u.keyword, u.placement, u.bid, u.price, $1
FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::numeric[])
     AS u(campaign_id, external_id, keyword, placement, bid, price)
ON CONFLICT (campaign_id, external_id) DO UPDATE SET
    keyword = EXCLUDED.keyword, placement = EXCLUDED.placement, current_bid = EXCLUDED.current_bid,
    price = COALESCE(EXCLUDED.price, k.price), synced_at = EXCLUDED.synced_at, updated_at = now(),
    status = CASE WHEN k.status = 'removed' THEN 'active' ELSE k.status END
RETURNING id, campaign_id, external_id, keyword, placement, status, min_bid, price
"""


async def upsert_units(conn: asyncpg.Pool | asyncpg.Connection, units: dict[int, Sequence[MpUnit]],
                       now: datetime) -> dict[int, dict[str, asyncpg.Record]]:
    """Store the units the marketplace lists for each campaign id (bid and price as it reports them), in one
    statement; returns the rows by campaign id and external id."""
    flat = [(cid, u) for cid, us in units.items() for u in us]
    found: dict[int, dict[str, asyncpg.Record]] = {cid: {} for cid in units}
    if not flat:
        return found
    for part in chunks(flat):
        rows = await conn.fetch(
            _UPSERT_KEYWORDS, now, [cid for cid, _ in part], [u.external_id for _, u in part],
            [u.label for _, u in part], [u.placement for _, u in part], [kopecks_to_roubles(u.bid) for _, u in part],
            [kopecks_to_roubles(u.price) if u.price is not None else None for _, u in part])
        for r in rows:
            found[r["campaign_id"]][r["external_id"]] = r
        await pause_point()
    return found


async def _keywords(db: asyncpg.Pool | asyncpg.Connection, campaign_ids: Sequence[int]) -> dict[int, list[asyncpg.Record]]:
    rows = await db.fetch("SELECT id, campaign_id, external_id, keyword, placement, status, current_bid, min_bid, price "
                          "FROM marketing_keywords WHERE campaign_id = ANY($1::bigint[])", list(campaign_ids))
    found: dict[int, list[asyncpg.Record]] = defaultdict(list)
    for r in rows:
        found[r["campaign_id"]].append(r)
    return found


def _order(row: asyncpg.Record, campaign: CampaignRow, bid: int | None = None) -> BidOrder:
    return BidOrder(campaign.external_id, row["external_id"], _k(row["current_bid"]) if bid is None else bid,
                    row["placement"], _k(row["price"]) if row["price"] is not None else None)


# -- pausing and resuming ------------------------------------------------------------------------------

async def pause_campaign(ctx: Ctx, acc: AdAccount, campaign: CampaignRow, *, paused_by: str) -> bool:
    """Pause on the marketplace, then mark the row; a row already paused is left alone (no second call)."""
    current = await ctx.db.fetchval("SELECT status FROM marketing_campaigns WHERE id = $1", campaign.id)
    if current != "active":
        return False
    units = [_order(r, campaign) for r in (await _keywords(ctx.db, [campaign.id]))[campaign.id]
             if r["status"] == "active"]
    await acc.pause_campaign(campaign.external_id, units)
    changed = await ctx.db.fetchval(
        "UPDATE marketing_campaigns SET status = 'paused', paused_by = $2, paused_at = $3, updated_at = now() "
        "WHERE id = $1 AND status = 'active' RETURNING id", campaign.id, paused_by, ctx.now())
    log.warning("campaign_paused", campaign=campaign.id, marketplace=campaign.marketplace, brand=campaign.brand_id,
                by=paused_by)
    return changed is not None


async def resume_campaign(ctx: Ctx, acc: AdAccount, campaign: CampaignRow) -> bool:
    units = [_order(r, campaign) for r in (await _keywords(ctx.db, [campaign.id]))[campaign.id]
             if r["status"] == "active"]
    await acc.resume_campaign(campaign.external_id, units)
    changed = await ctx.db.fetchval(
        "UPDATE marketing_campaigns SET status = 'active', paused_by = NULL, paused_at = NULL, updated_at = now() "
        "WHERE id = $1 AND status = 'paused' RETURNING id", campaign.id)
    log.info("campaign_resumed", campaign=campaign.id, marketplace=campaign.marketplace, brand=campaign.brand_id)
    return changed is not None


# -- the bid cycle (seed §7.3.1) -----------------------------------------------------------------------

@dataclass
class CycleStats:
    campaigns: int = 0
    keywords: int = 0
    bids_updated: int = 0
    bids_failed: int = 0
    keywords_paused: int = 0
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

_WINDOW_STATS = """
SELECT keyword_id, SUM(views) AS views, SUM(clicks) AS clicks, SUM(spent) AS spent, SUM(orders) AS orders,
       SUM(revenue) AS revenue,
       (array_agg(avg_position ORDER BY stat_date DESC) FILTER (WHERE avg_position IS NOT NULL))[1] AS position
FROM marketing_stats
WHERE keyword_id = ANY($1::bigint[]) AND stat_date >= $2
GROUP BY keyword_id
"""

_COMPETITOR_BIDS = """
SELECT DISTINCT ON (external_id) external_id, bid
FROM marketing_competitor_bids
WHERE marketplace = $1 AND external_id = ANY($2::text[]) AND observed_at >= $3
ORDER BY external_id, observed_at DESC
"""

_CLAIM_CHANGES = """
INSERT INTO marketing_bid_history (keyword_id, campaign_id, marketplace, brand_id, old_bid, new_bid, source, strategy,
                                   reason, change_key)
SELECT u.keyword_id, u.campaign_id, $1, $2, u.old_bid, u.new_bid, 'bid_cycle', u.strategy, u.reason, u.change_key
FROM unnest($3::bigint[], $4::bigint[], $5::numeric[], $6::numeric[], $7::text[], $8::text[], $9::text[])
     AS u(keyword_id, campaign_id, old_bid, new_bid, strategy, reason, change_key)
ON CONFLICT (change_key) DO NOTHING
RETURNING keyword_id
"""


def cycle_slot(ctx: Ctx) -> str:
    """What makes a cycle's changes unique: its cron fire time, or the job id of a manual run (a retry keeps
    both, so it finds its own earlier changes)."""
    return ctx.fire_time.isoformat() if ctx.fire_time else f"job:{ctx.job_id}"


@marketing_job(queue="high")
async def run_bid_cycle(ctx: Ctx, marketplace: MarketplaceOrAll = "all") -> dict:
    """The 15-minute bid cycle (seed §7.3.1). Marketplaces and brands run concurrently under one Redis lock."""
    started = ctx.now()
    stopped = await bids_paused(ctx.redis)     # the kill switch (bot /pause_bids, CLI)
    if stopped:
        ctx.log.warning("bid_cycle_skipped", reason="kill_switch", by=stopped.get("by"), note=stopped.get("reason"))
        await _save_cycle(ctx, {"started_at": started.isoformat(), "finished_at": ctx.now().isoformat(),
                                "status": "skipped", "reason": "kill_switch", **CycleStats().as_dict()})
        return {"status": "skipped", "reason": "kill_switch", "paused_by": stopped.get("by")}
    lock = ctx.redis.lock(LOCK_KEY, timeout=ctx.settings.marketing.bid_lock_ttl_seconds, thread_local=False)
    if not await lock.acquire(blocking=False):
        ctx.log.warning("lock_not_acquired", lock=LOCK_KEY)
        return {"status": "skipped", "reason": "lock_not_acquired"}
    try:
        slot = cycle_slot(ctx)
        chosen = MARKETPLACES if marketplace == "all" else (marketplace,)
        pairs = [(mp, brand) for mp in chosen for brand in ctx.brands()]
        outcomes = await asyncio.gather(*(_cycle_account(ctx, mp, brand, slot) for mp, brand in pairs),
                                        return_exceptions=True)
        total = CycleStats()
        per_mp: dict[str, dict[str, int]] = {}
        for (mp, brand), outcome in zip(pairs, outcomes):
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


async def _cycle_account(ctx: Ctx, marketplace: str, brand: str, slot: str) -> CycleStats:
    """One marketplace account. Its campaigns flow concurrently — read units and bids, decide (campaign safety,
    keyword safety, strategy), send — so one campaign's bids go out while the next one's units are still being
    read; marketplaces that take several campaigns per request (WB) send once, after every campaign is decided.
    A failing campaign is counted and logged; the others go on (seed §7.3.1)."""
    total = CycleStats()
    today = ctx.now().date()
    campaigns = {c.external_id: c for c in await load_campaigns(ctx.db, today, marketplace=marketplace, brand=brand)}
    if not campaigns:
        return total
    try:
        acc = account(ctx, marketplace, brand)
    except LookupError as exc:
        ctx.log.warning("bid_cycle_account_skipped", marketplace=marketplace, brand=brand, reason=str(exc))
        return total
    live = [campaigns[c.external_id] for c in await acc.campaigns() if c.active and c.external_id in campaigns]
    alerts: list[PendingAlert] = []
    held: list[_Order] = []                 # orders of marketplaces that batch across campaigns

    async def flow(campaign: CampaignRow) -> CycleStats:
        stats = CycleStats(campaigns=1)
        orders = await _decide_campaign(ctx, acc, campaign, today, stats, alerts)
        if acc.sends_per_campaign:
            applied, failed = await _apply_orders(ctx, acc, marketplace, brand, slot, orders)
            stats.bids_updated, stats.bids_failed = applied, failed
        else:
            held.extend(orders)
        return stats

    for campaign, outcome in zip(live, await asyncio.gather(*(flow(c) for c in live), return_exceptions=True)):
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, Exception):
                raise outcome
            total.errors += 1
            ctx.log.error("bid_cycle_campaign_failed", campaign=campaign.id, marketplace=marketplace, brand=brand,
                          error=str(outcome), exc_info=outcome)
            continue
        total.add(outcome)
    if held:
        applied, failed = await _apply_orders(ctx, acc, marketplace, brand, slot, held)
        total.bids_updated += applied
        total.bids_failed += failed
    total.alerts += (await record_alerts(ctx, alerts)).new
    total.requests = acc.calls.count
    return total


async def _decide_campaign(ctx: Ctx, acc: AdAccount, campaign: CampaignRow, today: date, stats: CycleStats,
                           alerts: list[PendingAlert]) -> list[_Order]:
    """Campaign safety, then its units: keyword safety and the strategy. Pauses are applied here; the bid
    orders are returned for sending."""
    s = ctx.settings.marketing
    rules, safety = bid_rules(s), safety_rules(s)
    check = check_campaign(CampaignToday(campaign.name, campaign.spent_today, campaign.revenue_today,
                                         campaign.daily_limit, campaign.target_drr), safety)
    alerts += [PendingAlert(campaign.ref, None, a, f"{a.alert_type.value}:{campaign.id}:{today}") for a in check.alerts]
    if check.action is SafetyAction.PAUSE_CAMPAIGN:
        if await pause_campaign(ctx, acc, campaign, paused_by="safety"):
            stats.campaigns_paused += 1
        return []
    try:
        target = campaign.target()
    except ValueError as exc:
        stats.errors += 1
        alerts.append(PendingAlert(campaign.ref, None, AdAlert(
            AlertType.BID_CONFIG, Severity.WARNING, SafetyAction.ALERT, "Стратегия кампании настроена неверно",
            str(exc)), f"bid_config:{campaign.id}:{today}"))
        return []
    units = (await acc.units([campaign.external_id])).get(campaign.external_id, [])
    now = ctx.now()
    rows = (await upsert_units(ctx.db, {campaign.id: units}, now))[campaign.id]
    window = {r["keyword_id"]: r for r in await ctx.db.fetch(
        _WINDOW_STATS, [r["id"] for r in rows.values()], today - timedelta(days=s.stats_window_days - 1))}
    rivals = {r["external_id"]: _k(r["bid"]) for r in await ctx.db.fetch(
        _COMPETITOR_BIDS, campaign.marketplace, [u.external_id for u in units],
        now - timedelta(minutes=s.competitor_bid_max_age_minutes))}
    orders: list[_Order] = []
    pauses: list[tuple[int, str]] = []
    for n, unit in enumerate(units, start=1):
        if n % 200 == 0:
            await pause_point()
        row = rows.get(unit.external_id)
        if row is None or row["status"] != "active":
            continue
        stats.keywords += 1
        w = window.get(row["id"])
        unit_stats = UnitStats(
            views=int(w["views"]) if w else 0, clicks=int(w["clicks"]) if w else 0,
            spent=_k(w["spent"]) if w else 0, orders=int(w["orders"]) if w else 0,
            revenue=_k(w["revenue"]) if w else 0, avg_position=w["position"] if w else None)
        kw_check = check_keyword(f"{row['keyword'] or unit.external_id} ({campaign.name})", unit_stats, safety)
        alerts += [PendingAlert(campaign.ref, row["id"], a, f"{a.alert_type.value}:{row['id']}:{today}")
                   for a in kw_check.alerts]
        if kw_check.action is SafetyAction.PAUSE_KEYWORD:
            pauses.append((row["id"], unit.external_id))
            continue
        decision = decide_bid(target, BidUnit(unit.bid, _k(row["min_bid"]), unit_stats,
                                              rivals.get(unit.external_id)), rules)
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


async def _apply_orders(ctx: Ctx, acc: AdAccount, marketplace: str, brand: str, slot: str,
                        orders: list[_Order]) -> tuple[int, int]:
    """Claim each change for this cycle slot, send the claimed ones, record how each request ended."""
    if not orders:
        return 0, 0
    claimed: set[int] = set()
    for part in chunks(orders):
        claimed.update(r["keyword_id"] for r in await ctx.db.fetch(
            _CLAIM_CHANGES, marketplace, brand, [kid for _, kid, *_ in part], [c.id for _, _, c, *_ in part],
            [kopecks_to_roubles(old) for _, _, _, old, *_ in part], [kopecks_to_roubles(o.bid) for o, *_ in part],
            [strategy for *_, strategy, _ in part], [reason for *_, reason in part],
            [f"cycle:{slot}:{kid}" for _, kid, *_ in part]))
        await pause_point()
    to_send = [(o, kid) for o, kid, *_ in orders if kid in claimed]
    if len(to_send) < len(orders):
        ctx.log.info("bid_changes_already_claimed", marketplace=marketplace, brand=brand,
                     skipped=len(orders) - len(to_send), slot=slot)
    if not to_send:
        return 0, 0
    keyword_of = {(o.campaign_id, o.unit_id): kid for o, kid in to_send}
    applied: list[tuple[int, int]] = []
    failed: list[tuple[int, str, str]] = []
    for batch in await acc.set_bids([o for o, _ in to_send]):
        ids = [keyword_of[(o.campaign_id, o.unit_id)] for o in batch.orders]
        if batch.error is None:
            applied.extend((kid, o.bid) for kid, o in zip(ids, batch.orders))
        else:
            state = "unknown" if isinstance(batch.error, Unavailable) else "failed"
            failed.extend((kid, state, str(batch.error)[:500]) for kid in ids)
            ctx.log.error("bid_batch_failed", marketplace=marketplace, brand=brand, orders=len(ids),
                          error=str(batch.error))
    now = ctx.now()
    for part in chunks(applied):
        await ctx.db.execute(
            "UPDATE marketing_bid_history h SET status = 'applied', applied_at = $2 "
            "FROM unnest($1::text[]) AS u(key) WHERE h.change_key = u.key",
            [f"cycle:{slot}:{kid}" for kid, _ in part], now)
        await ctx.db.execute(
            "UPDATE marketing_keywords k SET current_bid = u.bid, updated_at = now() "
            "FROM unnest($1::bigint[], $2::numeric[]) AS u(id, bid) WHERE k.id = u.id",
            [kid for kid, _ in part], [kopecks_to_roubles(b) for _, b in part])
        await pause_point()
    for part in chunks(failed):
        await ctx.db.execute(
            "UPDATE marketing_bid_history h SET status = u.state, error = u.error "
            "FROM unnest($1::text[], $2::text[], $3::text[]) AS u(key, state, error) WHERE h.change_key = u.key",
            [f"cycle:{slot}:{kid}" for kid, _, _ in part], [s for _, s, _ in part], [e for _, _, e in part])
    return len(applied), len(failed)


# -- apply_bid_change (event) ----------------------------------------------------------------------------

async def request_bid_change(db: asyncpg.Pool, keyword_id: int, new_bid_rub: Decimal | float | str, *,
                             request_id: str, source: str = "manual") -> int:
    """Record an operator's bid change (bot, CLI, UI) for `apply_bid_change`; the same `request_id` gives the
    same change. The bid must lie between the marketplace minimum and the campaign's max_bid."""
    row = await db.fetchrow(
        "SELECT k.id, k.campaign_id, k.current_bid, k.min_bid, c.max_bid, c.marketplace, c.brand_id "
        "FROM marketing_keywords k JOIN marketing_campaigns c ON c.id = k.campaign_id WHERE k.id = $1", keyword_id)
    if row is None:
        raise LookupError(f"no keyword {keyword_id}")
    bid = rouble(str(new_bid_rub))
    if not _k(row["min_bid"]) <= bid <= _k(row["max_bid"]):
        raise ValueError(f"bid {kopecks_to_roubles(bid)} ₽ is outside {row['min_bid']}..{row['max_bid']} ₽")
    return await db.fetchval(
        "INSERT INTO marketing_bid_history (keyword_id, campaign_id, marketplace, brand_id, old_bid, new_bid, source, "
        "reason, change_key) VALUES ($1, $2, $3, $4, $5, $6, $7, 'operator', $8) "
        "ON CONFLICT (change_key) DO UPDATE SET change_key = EXCLUDED.change_key RETURNING id",
        keyword_id, row["campaign_id"], row["marketplace"], row["brand_id"], row["current_bid"],
        kopecks_to_roubles(bid), source, f"{source}:{request_id}")


@marketing_job(queue="high", retry=RetryPolicy(tries=3, delay=30, backoff=2.0), timeout=120)
async def apply_bid_change(ctx: Ctx, change_id: int) -> dict:
    """Apply one recorded bid change exactly once (seed §7.1). On a retry, or after an answer that never came,
    the bid is read back first: if the marketplace already has it, it is recorded, not sent again."""
    row = await ctx.db.fetchrow(
        "SELECT h.id, h.status, h.new_bid, h.keyword_id, k.external_id, k.placement, k.price, c.id AS campaign_id, "
        "c.external_id AS campaign_external_id, c.marketplace, c.brand_id "
        "FROM marketing_bid_history h JOIN marketing_keywords k ON k.id = h.keyword_id "
        "JOIN marketing_campaigns c ON c.id = h.campaign_id WHERE h.id = $1", change_id)
    if row is None:
        raise BadArguments(f"no bid change {change_id}")
    if row["status"] == "applied":
        return {"change_id": change_id, "status": "already_applied"}
    acc = account(ctx, row["marketplace"], row["brand_id"])
    bid = _k(row["new_bid"])
    order = BidOrder(row["campaign_external_id"], row["external_id"], bid, row["placement"],
                     _k(row["price"]) if row["price"] is not None else None)
    if ctx.job_try > 1 or row["status"] in ("unknown", "failed"):
        live = {u.external_id: u for u in (await acc.units([order.campaign_id])).get(order.campaign_id, [])}
        unit = live.get(order.unit_id)
        if unit is not None and _same_bid(row["marketplace"], unit.bid, bid, order.price):
            await _mark_applied(ctx, change_id, row["keyword_id"], bid)
            return {"change_id": change_id, "status": "applied", "sent": False, "verified": True}
    (batch,) = await acc.set_bids([order])
    if batch.error is not None:
        state = "unknown" if isinstance(batch.error, Unavailable) else "failed"
        await ctx.db.execute("UPDATE marketing_bid_history SET status = $2, error = $3 WHERE id = $1",
                             change_id, state, str(batch.error)[:500])
        raise batch.error
    await _mark_applied(ctx, change_id, row["keyword_id"], bid)
    return {"change_id": change_id, "status": "applied", "sent": True, "bid": str(kopecks_to_roubles(bid))}


def _same_bid(marketplace: str, live: int, wanted: int, price: int | None) -> bool:
    """YM keeps a share of the price, so a read-back matches within its rounding; others match exactly."""
    if marketplace == "ym" and price:
        from adolfd.domain.marketing.ad_money import kopecks_to_ym_bid, ym_bid_to_kopecks
        return live == ym_bid_to_kopecks(kopecks_to_ym_bid(wanted, price), price)
    return live == wanted


async def _mark_applied(ctx: Ctx, change_id: int, keyword_id: int, bid: int) -> None:
    async with ctx.db.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE marketing_bid_history SET status = 'applied', applied_at = $2, error = NULL "
                           "WHERE id = $1", change_id, ctx.now())
        await conn.execute("UPDATE marketing_keywords SET current_bid = $2, updated_at = now() WHERE id = $1",
                           keyword_id, kopecks_to_roubles(bid))


# -- stats (seed §7.3.2) -------------------------------------------------------------------------------

_UPSERT_STATS = """
INSERT INTO marketing_stats (campaign_id, keyword_id, marketplace, brand_id, stat_date, collected_at, views, clicks,
                             spent, orders, revenue, avg_position)
SELECT u.campaign_id, u.keyword_id, $1, $2, u.stat_date, $3, u.views, u.clicks, u.spent, u.orders, u.revenue,
       u.avg_position
FROM unnest($4::bigint[], $5::bigint[], $6::date[], $7::bigint[], $8::bigint[], $9::numeric[], $10::int[],
            $11::numeric[], $12::numeric[])
     AS u(campaign_id, keyword_id, stat_date, views, clicks, spent, orders, revenue, avg_position)
ON CONFLICT ON CONSTRAINT marketing_stats_unit_day DO UPDATE SET
    collected_at = EXCLUDED.collected_at, views = EXCLUDED.views, clicks = EXCLUDED.clicks, spent = EXCLUDED.spent,
    orders = EXCLUDED.orders, revenue = EXCLUDED.revenue, avg_position = EXCLUDED.avg_position
"""


@marketing_job(queue="default")
async def collect_stats(ctx: Ctx, marketplace: Marketplace) -> dict:
    """Today's and yesterday's figures of every active or paused campaign and its units (seed §7.3.2).
    Safe to repeat: one row per (campaign, unit, day) holds the latest figures."""
    started = ctx.now()
    summary = {"marketplace": marketplace, "started_at": started.isoformat(), "campaigns_fetched": 0,
               "keywords_fetched": 0, "stats_saved": 0, "errors": 0}
    today = started.date()
    for brand in ctx.brands():
        campaigns = await load_campaigns(ctx.db, today, marketplace=marketplace, brand=brand,
                                         statuses=("active", "paused"))
        if not campaigns:
            continue
        try:
            acc = account(ctx, marketplace, brand)
        except LookupError as exc:
            ctx.log.warning("stats_account_skipped", marketplace=marketplace, brand=brand, reason=str(exc))
            continue
        days = await acc.stats([c.external_id for c in campaigns], today - timedelta(days=1), today)
        saved, units = await save_stats(ctx, marketplace, brand, campaigns, days)
        summary["campaigns_fetched"] += len({d.campaign_id for d in days})
        summary["keywords_fetched"] += units
        summary["stats_saved"] += saved
    summary["finished_at"] = ctx.now().isoformat()
    summary["status"] = "completed"
    return summary


async def save_stats(ctx: Ctx, marketplace: str, brand: str, campaigns: Sequence[CampaignRow],
                     days: Sequence[MpDay]) -> tuple[int, int]:
    """Upsert the figures (set-based) and refresh each campaign's spend today; returns (rows, units)."""
    by_ext = {c.external_id: c for c in campaigns}
    known = await ctx.db.fetch(
        "SELECT id, campaign_id, external_id FROM marketing_keywords WHERE campaign_id = ANY($1::bigint[])",
        [c.id for c in campaigns])
    keyword_id = {(r["campaign_id"], r["external_id"]): r["id"] for r in known}
    missing: dict[int, set[str]] = defaultdict(set)
    for d in days:
        c = by_ext.get(d.campaign_id)
        if c is not None and d.unit_id is not None and (c.id, d.unit_id) not in keyword_id:
            missing[c.id].add(d.unit_id)
    for cid, unit_ids in missing.items():       # figures of units the hourly sync has not seen yet
        rows = await ctx.db.fetch(
            "INSERT INTO marketing_keywords (campaign_id, external_id, keyword) SELECT $1, u, u FROM unnest($2::text[]) "
            "AS u ON CONFLICT (campaign_id, external_id) DO UPDATE SET updated_at = now() RETURNING id, external_id",
            cid, sorted(unit_ids))
        keyword_id.update({(cid, r["external_id"]): r["id"] for r in rows})
    rows = [(by_ext[d.campaign_id].id, None if d.unit_id is None else keyword_id[(by_ext[d.campaign_id].id, d.unit_id)],
             d) for d in days if d.campaign_id in by_ext]
    for part in chunks(rows):
        await ctx.db.execute(
            _UPSERT_STATS, marketplace, brand, ctx.now(), [c for c, _, _ in part], [k for _, k, _ in part],
            [d.day for _, _, d in part], [d.views for _, _, d in part], [d.clicks for _, _, d in part],
            [kopecks_to_roubles(d.spent) for _, _, d in part], [d.orders for _, _, d in part],
            [kopecks_to_roubles(d.revenue) for _, _, d in part], [d.avg_position for _, _, d in part])
        await pause_point()
    today = ctx.now().date()
    todays = [(c, d) for c, k, d in rows if k is None and d.day == today]
    if todays:
        await ctx.db.execute(
            "UPDATE marketing_campaigns c SET spent_today = u.spent, revenue_today = u.revenue, spent_date = $1, "
            "updated_at = now() FROM unnest($2::bigint[], $3::numeric[], $4::numeric[]) AS u(id, spent, revenue) "
            "WHERE c.id = u.id", today, [c for c, _ in todays], [kopecks_to_roubles(d.spent) for _, d in todays],
            [kopecks_to_roubles(d.revenue) for _, d in todays])
    return len(rows), len({k for _, k, _ in rows if k is not None})


# -- budgets (seed §7.3.3) -----------------------------------------------------------------------------

@marketing_job(queue="high")
async def check_budgets(ctx: Ctx) -> dict:
    """spent ≥ daily limit → pause + `budget_exceeded`; ≥ 80 % → one `budget_warning` a day (seed §7.3.3).
    Campaigns adolfd paused for their limit on an earlier day run again (setting `resume_budget_paused_next_day`)."""
    summary = {"started_at": ctx.now().isoformat(), "campaigns_checked": 0, "campaigns_paused": 0,
               "campaigns_resumed": 0, "alerts_sent": 0, "errors": 0}
    today = ctx.now().date()
    rules = budget_rules(ctx.settings.marketing)
    accounts: dict[tuple[str, str], AdAccount] = {}

    def acc_for(c: CampaignRow) -> AdAccount:
        key = (c.marketplace, c.brand_id)
        if key not in accounts:
            accounts[key] = account(ctx, c.marketplace, c.brand_id)
        return accounts[key]

    warned = {r["campaign_id"] for r in await ctx.db.fetch(
        "SELECT DISTINCT campaign_id FROM marketing_alerts WHERE alert_type = 'budget_warning' AND created_at >= $1",
        _day_start(ctx, today))}
    for c in await load_campaigns(ctx.db, today, brand=None, statuses=("active",)):
        if c.brand_id not in ctx.brands():
            continue
        summary["campaigns_checked"] += 1
        try:
            decision = check_budget(c.name, c.spent_today, c.daily_limit, warned_today=c.id in warned, rules=rules)
            if decision.state is BudgetState.EXCEEDED:
                if await pause_campaign(ctx, acc_for(c), c, paused_by="budget"):
                    summary["campaigns_paused"] += 1
                await _enqueue_alert(ctx, c, decision.alert, f"budget_exceeded:{c.id}:{today}")
                summary["alerts_sent"] += 1
            elif decision.state is BudgetState.WARNING:
                await _enqueue_alert(ctx, c, decision.alert, f"budget_warning:{c.id}:{today}")
                summary["alerts_sent"] += 1
        except (ApiError, LookupError) as exc:
            summary["errors"] += 1
            ctx.log.error("budget_check_failed", campaign=c.id, error=str(exc))
    if ctx.settings.marketing.resume_budget_paused_next_day:
        for c in await load_campaigns(ctx.db, today, statuses=("paused",)):
            if c.paused_by != "budget" or c.paused_at is None or c.brand_id not in ctx.brands():
                continue
            if c.paused_at.astimezone(ctx.settings.tz).date() >= today:
                continue
            try:
                if await resume_campaign(ctx, acc_for(c), c):
                    summary["campaigns_resumed"] += 1
            except (ApiError, LookupError) as exc:
                summary["errors"] += 1
                ctx.log.error("budget_resume_failed", campaign=c.id, error=str(exc))
    summary["finished_at"] = ctx.now().isoformat()
    return summary


async def _enqueue_alert(ctx: Ctx, campaign: CampaignRow, alert: AdAlert | None, key: str) -> None:
    """The seed's `send_alert.delay(...)`, once per key (job id and row dedup)."""
    assert alert is not None
    await ctx.enqueue("marketing.send_alert", _job_id=f"marketing:alert:{key}", campaign_id=campaign.id,
                      alert_type=alert.alert_type.value, severity=alert.severity.value, title=alert.title,
                      message=alert.message, action_taken=alert.action_taken, details=dict(alert.details),
                      dedup_key=key)


# -- sync (seed §7.1 sync_campaigns) ---------------------------------------------------------------------

_UPSERT_CAMPAIGN = """
INSERT INTO marketing_campaigns AS c (brand_id, marketplace, external_id, name, status, mp_status, paused_by,
                                      max_bid, bid_type, payment_type, synced_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (marketplace, brand_id, external_id) DO UPDATE SET
    name = EXCLUDED.name, mp_status = EXCLUDED.mp_status, bid_type = EXCLUDED.bid_type,
    payment_type = EXCLUDED.payment_type, synced_at = EXCLUDED.synced_at, updated_at = now(),
    status = CASE
        WHEN EXCLUDED.status = 'archived' THEN 'archived'
        WHEN EXCLUDED.status = 'active' THEN 'active'
        WHEN c.status = 'paused' THEN 'paused'
        ELSE EXCLUDED.status END,
    paused_by = CASE
        WHEN EXCLUDED.status = 'active' THEN NULL
        WHEN c.status = 'paused' THEN c.paused_by
        ELSE EXCLUDED.paused_by END,
    paused_at = CASE WHEN EXCLUDED.status = 'active' THEN NULL ELSE c.paused_at END
RETURNING id, status
"""


@marketing_job(queue="default")
async def sync_campaigns(ctx: Ctx) -> dict:
    """Campaigns, their units, current bids, marketplace minimum bids and competitor bids (hourly).
    A campaign seen for the first time gets strategy `manual` (never changed) until an operator sets one."""
    pairs = [(mp, brand) for mp in MARKETPLACES for brand in ctx.brands()]
    outcomes = await asyncio.gather(*(_sync_account(ctx, mp, brand) for mp, brand in pairs), return_exceptions=True)
    summary: dict[str, Any] = {"campaigns": 0, "keywords": 0, "errors": 0, "accounts": {}}
    for (mp, brand), outcome in zip(pairs, outcomes):
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, Exception):
                raise outcome
            summary["errors"] += 1
            summary["accounts"][f"{mp}:{brand}"] = f"error: {outcome}"[:300]
            ctx.log.error("sync_account_failed", marketplace=mp, brand=brand, error=str(outcome))
            continue
        if outcome is None:
            continue
        summary["campaigns"] += outcome[0]
        summary["keywords"] += outcome[1]
        summary["accounts"][f"{mp}:{brand}"] = {"campaigns": outcome[0], "keywords": outcome[1]}
    if summary["errors"] and summary["errors"] == len([a for a in summary["accounts"].values() if a]):
        raise Unavailable(f"sync_campaigns failed for every account: {summary['accounts']}")
    return summary


async def _sync_account(ctx: Ctx, marketplace: str, brand: str) -> tuple[int, int] | None:
    try:
        acc = account(ctx, marketplace, brand)
    except LookupError:
        return None
    now = ctx.now()
    found = await acc.campaigns()
    default_max = kopecks_to_roubles(rouble(str(ctx.settings.marketing.default_max_bid_rub)))
    ids: dict[str, int] = {}
    for c in found:
        status = "archived" if c.archived else ("active" if c.active else "paused")
        row = await ctx.db.fetchrow(_UPSERT_CAMPAIGN, brand, marketplace, c.external_id, c.name, status, c.mp_status,
                                    None if c.active else "marketplace", default_max, c.bid_type, c.payment_type, now)
        ids[c.external_id] = row["id"]
    live = [c for c in found if not c.archived]
    units = await acc.units([c.external_id for c in live])
    keywords = 0
    stored = await upsert_units(ctx.db, {ids[c.external_id]: units.get(c.external_id, []) for c in live}, now)
    for c in live:
        listed = units.get(c.external_id, [])
        keywords += len(stored[ids[c.external_id]])
        if c.active:        # a paused YM campaign lists no SKUs (all bids 0): its units are not gone
            await ctx.db.execute(
                "UPDATE marketing_keywords SET status = 'removed', updated_at = now() WHERE campaign_id = $1 "
                "AND status = 'active' AND NOT (external_id = ANY($2::text[]))", ids[c.external_id],
                [u.external_id for u in listed])
        if not listed:
            continue
        minimum = await acc.min_bids(c, [u.external_id for u in listed])
        if minimum:
            await ctx.db.execute(
                "UPDATE marketing_keywords k SET min_bid = u.bid FROM unnest($2::text[], $3::numeric[]) AS u(ext, bid) "
                "WHERE k.campaign_id = $1 AND k.external_id = u.ext", ids[c.external_id], list(minimum),
                [kopecks_to_roubles(v) for v in minimum.values()])
        rivals = await acc.competitor_bids(c.external_id, [u.external_id for u in listed])
        if rivals:
            await ctx.db.execute(
                "INSERT INTO marketing_competitor_bids (marketplace, external_id, source, bid, observed_at) "
                "SELECT $1, u.ext, $2, u.bid, $3 FROM unnest($4::text[], $5::numeric[]) AS u(ext, bid) "
                "ON CONFLICT (marketplace, external_id, source) DO UPDATE SET bid = EXCLUDED.bid, "
                "observed_at = EXCLUDED.observed_at", marketplace, f"{marketplace}_competitive", now, list(rivals),
                [kopecks_to_roubles(v) for v in rivals.values()])
    return len(found), keywords


# -- API health (seed §7.4.4) --------------------------------------------------------------------------

@marketing_job(queue="high")
async def check_api_health(ctx: Ctx) -> dict:
    """A cheap call per marketplace; `marketing:api_status:{mp}` = ok | slow | error with the response time and
    the errors of the last 24 hours (seed §7.4.3)."""
    results = dict(zip(MARKETPLACES, await asyncio.gather(*(_check_one(ctx, mp) for mp in MARKETPLACES))))
    # `marketing:workers` (seed §7.4.3): whether a worker of each queue is alive (ARQ's health-check key)
    alive = {queue: int(bool(await ctx.redis.exists(f"adolfd:{MODULE}:{queue}:health-check")))
             for queue in ("high", "default", "low")}
    await ctx.redis.hset(WORKERS, mapping=alive)
    return {**results, "workers": alive}


async def _check_one(ctx: Ctx, marketplace: str) -> dict[str, Any]:
    key, errors_key = API_STATUS.format(mp=marketplace), API_ERRORS.format(mp=marketplace)
    now = ctx.now()
    acc = None
    for brand in ctx.brands():
        try:
            acc = account(ctx, marketplace, brand)
            break
        except LookupError:
            continue
    if acc is None:
        return {"status": "not_configured"}
    started = time.perf_counter()
    try:
        await acc.ping()
    except Exception as exc:  # noqa: BLE001 — any failure is this API's health, recorded, not raised
        stamp = now.timestamp()
        async with ctx.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(errors_key, {f"{stamp}:{ctx.job_id}": stamp})
            pipe.zremrangebyscore(errors_key, "-inf", stamp - 86400)
            pipe.zcard(errors_key)
            _, _, count = await pipe.execute()
        await ctx.redis.hset(key, mapping={"status": "error", "last_check": now.isoformat(),
                                           "last_error": f"{type(exc).__name__}: {exc}"[:300],
                                           "error_count_24h": count})
        ctx.log.error("api_health_failed", marketplace=marketplace, error=str(exc))
        return {"status": "error", "error": str(exc)[:300]}
    elapsed = int((time.perf_counter() - started) * 1000)
    state = "ok" if elapsed < ctx.settings.marketing.api_slow_ms else "slow"
    await ctx.redis.zremrangebyscore(errors_key, "-inf", now.timestamp() - 86400)
    count = await ctx.redis.zcard(errors_key)
    await ctx.redis.hset(key, mapping={"status": state, "last_check": now.isoformat(), "response_time_ms": elapsed,
                                       "error_count_24h": count})
    await ctx.redis.hdel(key, "last_error")
    return {"status": state, "response_time_ms": elapsed}


# -- analytics (seed §7.3.4) ---------------------------------------------------------------------------

class AdviceItem(BaseModel):
    kind: str
    priority: str = Field(pattern="^(high|medium|low)$")
    text: str


class CampaignAdvice(BaseModel):
    """What the LLM provider is asked to return for one campaign."""

    recommendations: list[AdviceItem] = Field(default_factory=list)


@marketing_job(queue="low")
async def calculate_analytics(ctx: Ctx) -> dict:
    """Yesterday's spend anomalies (> 1.5 × the 7 days before), 14-day trends and recommendations per campaign;
    the LLM provider when one is configured, else (or when it fails) the offline rules."""
    started = ctx.now()
    yesterday = started.date() - timedelta(days=1)
    rules = analytics_rules(ctx.settings.marketing)
    provider = _llm(ctx)
    summary = {"started_at": started.isoformat(), "campaigns_analyzed": 0, "recommendations_generated": 0,
               "anomalies_detected": 0, "errors": 0, "provider": provider.name if provider else "offline"}
    first = yesterday - timedelta(days=max(rules.trend_days, rules.anomaly_window_days + 1) - 1)
    campaigns = [c for c in await load_campaigns(ctx.db, started.date(), statuses=("active", "paused"))
                 if c.brand_id in ctx.brands()]
    series = await _daily_series(ctx.db, [c.id for c in campaigns], first, yesterday)
    keywords = await _keyword_week(ctx.db, [c.id for c in campaigns], yesterday - timedelta(days=6), yesterday)
    for c in campaigns:
        days = series.get(c.id, [])
        anomaly = spend_anomaly(days, yesterday, rules)
        if anomaly is not None:
            summary["anomalies_detected"] += 1
            await record_alert(ctx, c.ref, None, AdAlert(
                AlertType.SPEND_ANOMALY, Severity.WARNING, SafetyAction.ALERT, f"Аномалия расхода: {c.name}",
                f"{yesterday:%d.%m}: расход {kopecks_to_roubles(anomaly.spent)}₽ — в {anomaly.ratio}× выше "
                f"среднего за 7 дней ({kopecks_to_roubles(int(anomaly.baseline))}₽)",
                {"day": yesterday.isoformat(), "ratio": str(anomaly.ratio)}), dedup_key=f"spend_anomaly:{c.id}:{yesterday}")
        campaign_trend = trend(days, yesterday, rules)
        profile = CampaignProfile(c.name, c.strategy, c.daily_limit, c.target_drr, c.target_cpo)
        offline = recommend(profile, campaign_trend, [anomaly] if anomaly else [], keywords.get(c.id, []),
                            [d for d in days if d.day > yesterday - timedelta(days=7)], rules)
        recs, source = list(offline), "offline"
        if provider is not None:
            try:
                advice = await provider.complete_json(_advice_prompt(c, campaign_trend, anomaly, offline), CampaignAdvice)
                recs = [Recommendation(a.kind, Priority(a.priority), a.text) for a in advice.recommendations]
                source = provider.name
            except (ApiError, ValueError) as exc:
                summary["errors"] += 1
                ctx.log.warning("llm_recommendations_failed", campaign=c.id, error=str(exc))
        await ctx.db.executemany(
            "INSERT INTO marketing_recommendations (campaign_id, rec_date, kind, priority, text, details, provider) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (campaign_id, rec_date, kind) DO UPDATE SET "
            "priority = EXCLUDED.priority, text = EXCLUDED.text, details = EXCLUDED.details, "
            "provider = EXCLUDED.provider, created_at = now()",
            [(c.id, yesterday, r.kind, r.priority.value, r.text, dict(r.details), source) for r in recs])
        summary["campaigns_analyzed"] += 1
        summary["recommendations_generated"] += len(recs)
    summary["finished_at"] = ctx.now().isoformat()
    summary["status"] = "completed"
    return summary


def _llm(ctx: Ctx) -> Any:
    if ctx.settings.llm.provider == "offline":
        return None
    from adolfd.clients.llm import worker_provider

    return worker_provider(ctx.res)            # the process's one provider, closed with its resources


def _advice_prompt(c: CampaignRow, campaign_trend: Any, anomaly: Any, offline: Sequence[Recommendation]) -> str:
    facts = {
        "campaign": c.name, "marketplace": c.marketplace, "strategy": c.strategy,
        "target_drr_percent": str(c.target_drr) if c.target_drr else None,
        "daily_limit_rub": str(kopecks_to_roubles(c.daily_limit)) if c.daily_limit is not None else None,
        "trend_14_days": {k: {"before": str(v.before), "after": str(v.after), "change_percent": str(v.change_percent),
                              "direction": v.direction.value} for k, v in campaign_trend.figures.items()},
        "spend_anomaly_yesterday": {"ratio": str(anomaly.ratio)} if anomaly else None,
        "rule_based_advice": [{"kind": r.kind, "priority": r.priority.value, "text": r.text} for r in offline],
    }
    return ("Ты аналитик рекламы на маркетплейсах. По фактам ниже дай до 5 рекомендаций для кампании "
            "(kind — короткий код, priority — high|medium|low, text — по-русски). Факты:\n"
            + json.dumps(facts, ensure_ascii=False))


async def _daily_series(db: asyncpg.Pool, campaign_ids: list[int], first: date, last: date,
                        ) -> dict[int, list[DailyFigures]]:
    rows = await db.fetch(
        "SELECT campaign_id, stat_date, views, clicks, spent, orders, revenue FROM marketing_stats_daily "
        "WHERE keyword_id IS NULL AND campaign_id = ANY($1::bigint[]) AND stat_date BETWEEN $2 AND $3 "
        "ORDER BY stat_date", campaign_ids, first, last)
    found: dict[int, list[DailyFigures]] = defaultdict(list)
    for r in rows:
        found[r["campaign_id"]].append(DailyFigures(r["stat_date"], r["views"], r["clicks"], _k(r["spent"]),
                                                    r["orders"], _k(r["revenue"])))
    return found


async def _keyword_week(db: asyncpg.Pool, campaign_ids: list[int], first: date, last: date,
                        ) -> dict[int, list[KeywordSummary]]:
    rows = await db.fetch(
        "SELECT d.campaign_id, k.keyword, k.external_id, SUM(d.views) AS views, SUM(d.clicks) AS clicks, "
        "SUM(d.orders) AS orders, SUM(d.spent) AS spent FROM marketing_stats_daily d "
        "JOIN marketing_keywords k ON k.id = d.keyword_id WHERE d.campaign_id = ANY($1::bigint[]) "
        "AND d.stat_date BETWEEN $2 AND $3 GROUP BY d.campaign_id, k.keyword, k.external_id", campaign_ids, first, last)
    found: dict[int, list[KeywordSummary]] = defaultdict(list)
    for r in rows:
        found[r["campaign_id"]].append(KeywordSummary(r["keyword"] or r["external_id"], int(r["views"]),
                                                      int(r["clicks"]), int(r["orders"]), _k(r["spent"])))
    return found


# -- aggregation and clean-up (seed §7.3.5, §7.3.6) -----------------------------------------------------

@marketing_job(queue="low")
async def aggregate_daily_stats(ctx: Ctx, stat_date: date | None = None) -> dict:
    """Yesterday's (or `stat_date`'s) detail rows into `marketing_stats_daily` via the SQL function."""
    day = stat_date or ctx.now().date() - timedelta(days=1)
    rows = await ctx.db.fetchval("SELECT fn_marketing_aggregate_daily_stats($1)", day)
    ctx.log.info("daily_stats_aggregated", date=day.isoformat(), rows=rows)
    return {"date": day.isoformat(), "rows_inserted": rows}


_MONTHLY = """
INSERT INTO marketing_stats_monthly (
    campaign_id, marketplace, brand_id, stat_year, stat_month,
    views, clicks, avg_ctr, spent, avg_cpc,
    orders, revenue, avg_cpo, avg_drr, active_days
)
SELECT
    campaign_id,
    marketplace,
    brand_id,
    EXTRACT(YEAR FROM stat_date)::INT,
    EXTRACT(MONTH FROM stat_date)::INT,
    SUM(views),
    SUM(clicks),
    CASE WHEN SUM(views) > 0
         THEN ROUND(SUM(clicks)::NUMERIC / SUM(views) * 100, 2)
         ELSE 0 END,
    SUM(spent),
    CASE WHEN SUM(clicks) > 0
         THEN ROUND(SUM(spent) / SUM(clicks), 2)
         ELSE 0 END,
    SUM(orders),
    SUM(revenue),
    CASE WHEN SUM(orders) > 0
         THEN ROUND(SUM(spent) / SUM(orders), 2)
         ELSE 0 END,
    CASE WHEN SUM(revenue) > 0
         THEN ROUND(SUM(spent) / SUM(revenue) * 100, 2)
         ELSE 0 END,
    COUNT(DISTINCT stat_date)
FROM marketing_stats_daily
WHERE stat_date BETWEEN $1 AND $2
  AND keyword_id IS NULL
GROUP BY campaign_id, marketplace, brand_id,
         EXTRACT(YEAR FROM stat_date), EXTRACT(MONTH FROM stat_date)
ON CONFLICT (campaign_id, stat_year, stat_month) DO UPDATE SET
    views = EXCLUDED.views,
    clicks = EXCLUDED.clicks,
    avg_ctr = EXCLUDED.avg_ctr,
    spent = EXCLUDED.spent,
    avg_cpc = EXCLUDED.avg_cpc,
    orders = EXCLUDED.orders,
    revenue = EXCLUDED.revenue,
    avg_cpo = EXCLUDED.avg_cpo,
    avg_drr = EXCLUDED.avg_drr,
    active_days = EXCLUDED.active_days
"""


@marketing_job(queue="low")
async def aggregate_monthly_stats(ctx: Ctx, year: int | None = None, month: Month | None = None) -> dict:
    """The previous month (or year/month) from the daily rows: the seed's SQL (§7.3.5), which on a rerun also
    refreshes the average CPC, CPO and DRR (the seed's update list left them stale)."""
    if (year is None) != (month is None):
        raise BadArguments("give both year and month, or neither")
    if year is None:
        first = (ctx.now().date().replace(day=1) - timedelta(days=1)).replace(day=1)
    else:
        first = date(year, month, 1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    status = await ctx.db.execute(_MONTHLY, first, last)
    rows = int(status.split()[-1])
    ctx.log.info("monthly_stats_aggregated", month=f"{first:%Y-%m}", rows=rows)
    return {"year": first.year, "month": first.month, "rows_inserted": rows}


@marketing_job(queue="low")
async def cleanup_old_stats(ctx: Ctx) -> dict:
    """Retention (seed §7.3.6): stats 30 days, bid history 12 months, alerts 6 months, daily stats 24 months."""
    s = ctx.settings.marketing
    now = ctx.now()
    started = now.isoformat()
    cleaned = {}
    for table, column, cutoff in (
        ("marketing_stats", "collected_at", now - timedelta(days=s.stats_retention_days)),
        ("marketing_bid_history", "created_at", _months_back(now, s.bid_history_retention_months)),
        ("marketing_alerts", "created_at", _months_back(now, s.alerts_retention_months)),
        ("marketing_stats_daily", "stat_date", _months_back(now, s.daily_retention_months).date()),
    ):
        status = await ctx.db.execute(f"DELETE FROM {table} WHERE {column} < $1", cutoff)
        cleaned[table] = int(status.split()[-1])
    ctx.log.info("marketing_cleanup", deleted=sum(cleaned.values()), **cleaned)
    return {"started_at": started, "tables_cleaned": cleaned, "finished_at": ctx.now().isoformat()}


def _months_back(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    month += 1
    day = min(moment.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31,
                           31, 30, 31, 30, 31][month - 1])
    return moment.replace(year=year, month=month, day=day)


# -- reports (seed §7.1 generate_report) ------------------------------------------------------------------

REPORT_COLUMNS = ("stat_date", "brand_id", "marketplace", "campaign_id", "campaign", "views", "clicks", "ctr",
                  "spent", "cpc", "orders", "revenue", "cpo", "drr")


@marketing_job(queue="low", timeout=600)
async def generate_report(ctx: Ctx, date_from: date, date_to: date, campaign_id: int | None = None,
                          brand_id: BrandId | None = None) -> dict:
    """A CSV of daily campaign figures for one campaign or one brand over a period; the path is in the result.
    The same request writes the same file (replaced atomically)."""
    if date_to < date_from:
        raise BadArguments("date_to is before date_from")
    if (campaign_id is None) == (brand_id is None):
        raise BadArguments("give campaign_id or brand_id (one of them)")
    if brand_id is not None:
        ctx.brands(brand_id)
    rows = await ctx.db.fetch(
        "SELECT d.stat_date, d.brand_id, d.marketplace, d.campaign_id, c.name AS campaign, d.views, d.clicks, d.ctr, "
        "d.spent, d.cpc, d.orders, d.revenue, d.cpo, d.drr FROM marketing_stats_daily d "
        "JOIN marketing_campaigns c ON c.id = d.campaign_id WHERE d.keyword_id IS NULL "
        "AND d.stat_date BETWEEN $1 AND $2 AND ($3::bigint IS NULL OR d.campaign_id = $3) "
        "AND ($4::text IS NULL OR d.brand_id = $4) ORDER BY d.stat_date, d.campaign_id",
        date_from, date_to, campaign_id, brand_id)
    scope = f"campaign{campaign_id}" if campaign_id is not None else brand_id
    folder = Path(ctx.settings.report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"marketing_{scope}_{date_from:%Y%m%d}_{date_to:%Y%m%d}.csv"
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    with partial.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(REPORT_COLUMNS)
        for r in rows:
            writer.writerow([r[c] for c in REPORT_COLUMNS])
    partial.replace(path)
    return {"path": str(path), "rows": len(rows), "date_from": date_from.isoformat(), "date_to": date_to.isoformat()}


# -- status section (adolfd status, bot /status) ---------------------------------------------------------

async def marketing_status(redis: Any, db: Any) -> dict[str, Any]:
    def text(raw: dict) -> dict[str, str]:
        return {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                for k, v in raw.items()}
    return {
        "bids_paused": await bids_paused(redis),
        "bid_cycle_running": bool(await redis.exists(LOCK_KEY)),
        "last_bid_cycle": text(await redis.hgetall(LAST_CYCLE)),
        "api_status": {mp: text(await redis.hgetall(API_STATUS.format(mp=mp))) for mp in MARKETPLACES},
    }



__all__ = ["apply_bid_change", "calculate_analytics", "check_api_health", "check_budgets",
           "cleanup_old_stats", "collect_stats", "generate_report", "record_alert",
           "request_bid_change", "run_bid_cycle", "send_alert", "sync_campaigns",
           "aggregate_daily_stats", "aggregate_monthly_stats"]
