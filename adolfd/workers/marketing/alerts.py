"""Marketing alerts (seed 002 §7.3.7): recorded with their dedup keys, delivered through the platform's alert
delivery; and the marketing job decorator that writes the seed's `system_error` alert when a job fails for good
(seed 002 §7.6.2)."""
from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from adolfd.domain.marketing.ad_alerts import AdAlert, AlertType, Recipient, SafetyAction, Severity, alert_recipients
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.engine.retry import RetryPolicy
from adolfd.process.db_arrays import bigint_array
from adolfd.workers.marketing import MODULE_NAME

log = structlog.get_logger(__name__)


def marketing_job(*, queue: str, retry: RetryPolicy | None = None, timeout: float | None = None,
                  manual: bool = True, destructive: str = "",
                  ) -> Callable[[Callable[..., Awaitable[dict]]], Callable[..., Awaitable[dict]]]:
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
        return job(queue=queue, retry=retry, timeout=timeout, manual=manual, destructive=destructive)(run)
    return register


async def _system_error_alert(ctx: Ctx, name: str, exc: Exception) -> None:
    try:
        await record_alert(ctx, None, None, AdAlert(
            AlertType.SYSTEM_ERROR, Severity.CRITICAL, SafetyAction.ALERT, "Задача marketing не выполнена",
            f"Task {name} ({ctx.job_id}) failed: {type(exc).__name__}: {exc}"[:1000],
            {"job": name, "job_id": ctx.job_id, "tries": ctx.job_try}), dedup_key=f"system_error:{ctx.job_id}")
    except Exception as inner:  # noqa: BLE001 — the platform's dead letter still records the failure
        log.error("system_error_alert_failed", job=name, error=str(inner))


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


# Existing rows are read, not written: a cycle raises the same day's alerts (low CTR, capped bid) for thousands of
# units again and again, and rewriting each row only to have it returned cost a new row version every time.
# A key another writer inserts meanwhile is neither inserted nor returned here (`_ALERTS_OF`).
_ALERTS_INSERT = """
WITH input AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::text[], $10::text[], $11::text[])
         AS u(campaign_id, keyword_id, marketplace, brand_id, alert_type, severity, title, message, details,
              action_taken, dedup_key)
), existing AS (
    SELECT id, dedup_key, platform_alert_id FROM marketing_alerts WHERE dedup_key = ANY($11::text[])
), inserted AS (
    INSERT INTO marketing_alerts (campaign_id, keyword_id, marketplace, brand_id, alert_type, severity, title,
                                  message, details, action_taken, dedup_key)
    SELECT u.campaign_id, u.keyword_id, u.marketplace, u.brand_id, u.alert_type, u.severity, u.title, u.message,
           u.details::jsonb, u.action_taken, u.dedup_key
    FROM input u WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.dedup_key = u.dedup_key)
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING id, dedup_key, platform_alert_id
)
SELECT id, dedup_key, true AS inserted, platform_alert_id FROM inserted
UNION ALL
SELECT id, dedup_key, false, platform_alert_id FROM existing
"""
_ALERTS_OF = ("SELECT id, dedup_key, false AS inserted, platform_alert_id FROM marketing_alerts "
              "WHERE dedup_key = ANY($1::text[])")

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
                       i.dedup_key) for i in unique], strict=False))
    async with ctx.db.acquire() as conn, conn.transaction():
        rows = {r["dedup_key"]: r for r in await conn.fetch(_ALERTS_INSERT, *[list(c) for c in cols])}
        raced = [i.dedup_key for i in unique if i.dedup_key not in rows]
        if raced:                    # inserted by another writer after this statement's snapshot
            rows.update((r["dedup_key"], r) for r in await conn.fetch(_ALERTS_OF, raced))
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
                *[list(c) for c in zip(*pairs, strict=False)])
        if fresh:
            keys = [f"marketing_alert:{rows[i.dedup_key]['id']}" for i in fresh]
            await conn.execute(
                _PLATFORM_INSERT, MODULE_NAME, [i.alert.alert_type.value for i in fresh],
                [i.alert.severity.value for i in fresh], [i.campaign.brand_id if i.campaign else None for i in fresh],
                [f"{i.alert.title}. {i.alert.message}" for i in fresh],
                [json.dumps({"marketing_alert_id": rows[i.dedup_key]["id"],
                             "campaign": i.campaign.name if i.campaign else None,
                             "marketplace": i.campaign.marketplace if i.campaign else None,
                             "recipients": list(chosen[i.dedup_key]), "action_taken": i.alert.action_taken},
                            ensure_ascii=False) for i in fresh], keys)
            platform = {r["dedup_key"]: r["id"] for r in await conn.fetch(
                "SELECT id, dedup_key FROM alerts WHERE module = $1 AND dedup_key = ANY($2::text[]) "
                "AND resolved_at IS NULL", MODULE_NAME, keys)}
            await conn.execute(
                "UPDATE marketing_alerts m SET recipients = u.recipients::bigint[], platform_alert_id = u.platform_id "
                "FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(id, recipients, platform_id) "
                "WHERE m.id = u.id",
                [rows[i.dedup_key]["id"] for i in fresh],
                [bigint_array(chosen[i.dedup_key]) for i in fresh],
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


# Not manual: an alert is what a job found, never what an operator types (it would forge a critical alert).
@marketing_job(queue="high", retry=RetryPolicy(tries=3, delay=10), timeout=60, manual=False)
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
