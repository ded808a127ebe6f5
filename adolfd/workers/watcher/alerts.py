"""Price alerts (seed 001 §7.4): `check_alerts` every 15 minutes, `send_alert_notification` per new alert,
`process_dumping_alert` per dumping alert.

`check_alerts` reads the last 20 minutes of competitor prices (windows overlap by 5 minutes), decides with
`domain.watcher.alert_rules` against the alerts of the last 24 h, and writes under an advisory lock, so two
overlapping runs never raise the same (type, SKU, competitor) twice. Notifications are enqueued with a job id
per alert after the commit; every run also re-enqueues alerts of the last day not yet notified, so a crash
between the commit and the enqueue loses no notification and none is sent twice.
"""
from __future__ import annotations

from adolfd.domain.watcher.alert_rules import DEDUP_WINDOW, LOOKBACK, AlertType, ParsedPrice, new_alerts
from adolfd.domain.watcher.recipients import recipients
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.engine.retry import RetryPolicy
from adolfd.keys import WATCHER_DUMPING_JOB, WATCHER_NOTIFY_JOB
from adolfd.workers.watcher.notify import active_users, tell
from adolfd.workers.watcher.office import reporter

ALERTS_LOCK = 0x4AD003

_WINDOW = """
SELECT h.competitor_id, c.our_sku AS sku, h.marketplace, p.brand_id, h.current_price, h.in_stock, h.parsed_at,
       prev.current_price AS previous_price, prev.in_stock AS previous_in_stock, ours.current_price AS our_price
FROM watcher_price_history h
JOIN watcher_competitors c ON c.id = h.competitor_id
LEFT JOIN watcher_products p ON p.sku = c.our_sku AND p.marketplace = c.marketplace
LEFT JOIN LATERAL (
    SELECT x.current_price, x.in_stock FROM watcher_price_history x
    WHERE x.competitor_id = h.competitor_id AND (x.parsed_at, x.id) < (h.parsed_at, h.id)
    ORDER BY x.parsed_at DESC, x.id DESC LIMIT 1) prev ON true
LEFT JOIN LATERAL (
    SELECT o.current_price FROM watcher_price_history o
    WHERE o.competitor_id IS NULL AND o.sku = c.our_sku AND o.marketplace = c.marketplace
      AND o.current_price IS NOT NULL AND o.parsed_at <= $2
    ORDER BY o.parsed_at DESC, o.id DESC LIMIT 1) ours ON true
WHERE h.competitor_id IS NOT NULL AND h.parsed_at > $1 AND h.parsed_at <= $2
"""
_RECENT = """
SELECT alert_type, sku, competitor_id, max(created_at) AS at FROM watcher_alerts
WHERE created_at > $1 GROUP BY alert_type, sku, competitor_id
"""
_INSERT = """
INSERT INTO watcher_alerts (alert_type, severity, sku, marketplace, brand_id, competitor_id, details, created_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::jsonb[],
                     $8::timestamptz[])
RETURNING id, alert_type
"""


@job(queue="default", manual=True)
async def check_alerts(ctx: Ctx) -> dict:
    """The three price alerts over the last 20 minutes (seed 001 §7.4). Safe to run twice: an alert of the
    same type, SKU and competitor is not raised again within 24 h."""
    now = ctx.now()
    office = reporter(ctx, "competitor_scan")
    await office.report_working("Проверка цен конкурентов")
    async with ctx.db.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", ALERTS_LOCK)
        prices = [ParsedPrice(r["competitor_id"], r["sku"], r["marketplace"], r["brand_id"], r["current_price"],
                              r["in_stock"], r["parsed_at"], r["previous_price"], r["previous_in_stock"],
                              r["our_price"]) for r in await conn.fetch(_WINDOW, now - LOOKBACK, now)]
        recent = {(r["alert_type"], r["sku"], r["competitor_id"]): r["at"]
                  for r in await conn.fetch(_RECENT, now - DEDUP_WINDOW)}
        found = new_alerts(prices, recent, now)
        created = await conn.fetch(_INSERT, [str(a.alert_type) for a in found], [a.severity for a in found],
                                   [a.sku for a in found], [a.marketplace for a in found],
                                   [a.brand_id for a in found], [a.competitor_id for a in found],
                                   [dict(a.details) for a in found], [now] * len(found))
    unsent = await ctx.db.fetch("SELECT id, alert_type FROM watcher_alerts WHERE platform_alert_id IS NULL "
                                "AND created_at > $1 ORDER BY id", now - DEDUP_WINDOW)
    for row in unsent:
        await ctx.enqueue("watcher.send_alert_notification", _job_id=WATCHER_NOTIFY_JOB.format(alert_id=row["id"]),
                          alert_id=row["id"])
        if row["alert_type"] == AlertType.DUMPING:
            await ctx.enqueue("watcher.process_dumping_alert", _job_id=WATCHER_DUMPING_JOB.format(alert_id=row["id"]),
                              alert_id=row["id"])
    await office.report_idle(metrics={"prices_checked": len(prices), "alerts_created": len(created)})
    return {"status": "success", "alerts_created": len(created), "prices_checked": len(prices),
            "by_type": {t: sum(1 for r in created if r["alert_type"] == t) for t in sorted({r["alert_type"]
                                                                                              for r in created})}}


def _message(alert) -> str:
    d = alert["details"]
    kind = alert["alert_type"]
    who = f"SKU {alert['sku']} ({alert['marketplace']}), конкурент #{alert['competitor_id']}"
    if kind == AlertType.PRICE_DROP:
        return f"Снижение цены: {who}: {d.get('old_price')} → {d.get('new_price')} (−{d.get('drop_percent')} %)"
    if kind == AlertType.DUMPING:
        return f"Демпинг: {who}: {d.get('new_price')} при нашей {d.get('our_price')} (−{d.get('below_percent')} %)"
    return f"Нет в наличии: {who}"


@job(queue="critical", retry=RetryPolicy(3, 30), timeout=60)
async def send_alert_notification(ctx: Ctx, alert_id: int) -> dict:
    """Tell the alert's recipients by severity (seed 001 §7.4) through the platform's alert delivery. Safe to
    run twice: the platform alert and its deliveries are keyed by the watcher alert."""
    async with ctx.db.acquire() as conn, conn.transaction():
        alert = await conn.fetchrow("SELECT * FROM watcher_alerts WHERE id = $1 FOR UPDATE", alert_id)
        if alert is None:
            ctx.log.warning("watcher_alert_not_found", alert_id=alert_id)
            return {"status": "alert_not_found"}
        chosen = recipients(await active_users(conn), severity=alert["severity"], brand_id=alert["brand_id"],
                            at=ctx.now())
        platform_id = await tell(conn, chosen, alert_type=alert["alert_type"], severity=alert["severity"],
                                 message=_message(alert), dedup_key=f"watcher_alert:{alert_id}", now=ctx.now(),
                                 brand_id=alert["brand_id"], watcher_alert_id=alert_id, sku=alert["sku"],
                                 competitor_id=alert["competitor_id"], **alert["details"])
        await conn.execute("UPDATE watcher_alerts SET platform_alert_id = $2, recipients = $3 WHERE id = $1",
                           alert_id, platform_id, [u.user_id for u in chosen])
    if not chosen:
        return {"status": "no_recipients", "platform_alert_id": platform_id}
    return {"status": "success", "recipients_count": len(chosen), "platform_alert_id": platform_id}


_RECOMMEND = """
INSERT INTO marketing_recommendations (campaign_id, rec_date, kind, priority, text, details, provider)
SELECT DISTINCT k.campaign_id, $3::date, 'dumping_response', 'high', $4, $5::jsonb, 'watcher'
FROM marketing_keywords k JOIN marketing_campaigns c ON c.id = k.campaign_id
WHERE k.external_id = $1 AND c.marketplace = $2 AND c.status <> 'archived' AND k.status <> 'removed'
ON CONFLICT (campaign_id, rec_date, kind) DO NOTHING
RETURNING campaign_id
"""


@job(queue="default", retry=RetryPolicy(2, 60), timeout=60)
async def process_dumping_alert(ctx: Ctx, alert_id: int) -> dict:
    """A dumping alert becomes a marketing recommendation for every campaign advertising that SKU (seed 001
    §7.4: "задача для Marketing"). Safe to run twice: one recommendation per campaign and day."""
    alert = await ctx.db.fetchrow("SELECT * FROM watcher_alerts WHERE id = $1", alert_id)
    if alert is None or alert["alert_type"] != AlertType.DUMPING:
        return {"status": "not_dumping_alert"}
    details = dict(alert["details"] or {})
    text = (f"Демпинг конкурента по SKU {alert['sku']}: цена {details.get('new_price')} против нашей "
            f"{details.get('our_price')}. Проверьте ставки и цену.")
    rows = await ctx.db.fetch(_RECOMMEND, alert["sku"], alert["marketplace"], ctx.now().date(), text,
                              {"watcher_alert_id": alert_id, "competitor_id": alert["competitor_id"],
                               "competitor_price": details.get("new_price"), "our_price": details.get("our_price"),
                               "reason": "dumping_response"})
    return {"status": "success", "campaigns": sorted(r["campaign_id"] for r in rows)}
