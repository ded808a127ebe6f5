"""Stats collection, aggregation SQL, budgets, alerts, health, reports, clean-up and analytics (seed 002 §7.3)."""
from __future__ import annotations

import asyncio
import csv
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from adolfd.errors import BadArguments
from adolfd.keys import MARKETING_API_STATUS as API_STATUS
from adolfd.settings import RateLimit
from pydantic import SecretStr


@pytest.fixture
async def synced(res, sync_campaigns):
    return await sync_campaigns()


async def stats_snapshot(res):
    return await res.db.fetch("SELECT campaign_id, keyword_id, stat_date, views, clicks, spent, orders, revenue "
                              "FROM marketing_stats ORDER BY campaign_id, keyword_id NULLS FIRST, stat_date")


@pytest.mark.parametrize("marketplace", ["wb", "ozon", "ym"])
async def test_stats_collection_is_idempotent(res, sandbox, run_job, synced, clock, marketplace, monkeypatch):
    # WB allows 3 fullstats calls a minute; this test is about what is stored, so lift that limit on both sides
    sandbox.sandbox.set_limit("wb-advert", "fullstats", 20, 5)
    monkeypatch.setitem(res.settings.rate_limits, "wb_advert:fullstats", RateLimit(rate=20, burst=4))
    moment = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)          # 12:30 in Moscow; the sandbox clock runs
    sandbox.sandbox.set_now(moment)                                     # on (its rate gates need time to pass)
    clock.set(moment)
    first = await run_job("marketing.collect_stats", marketplace=marketplace)
    assert first["success"] and first["result"]["stats_saved"] > 0
    before = await stats_snapshot(res)
    again = await run_job("marketing.collect_stats", marketplace=marketplace)
    assert again["result"]["stats_saved"] == first["result"]["stats_saved"]
    assert await stats_snapshot(res) == before                          # same rows, same figures
    # the campaign row of a day equals the sum of its units that day
    sums = await res.db.fetch(
        "SELECT c.spent, (SELECT SUM(u.spent) FROM marketing_stats u WHERE u.campaign_id = c.campaign_id "
        "AND u.stat_date = c.stat_date AND u.keyword_id IS NOT NULL) AS units FROM marketing_stats c "
        "WHERE c.keyword_id IS NULL AND c.marketplace = $1", marketplace)
    assert sums and all(r["spent"] == r["units"] for r in sums)
    # later the same day: figures grow in place, no new rows
    sandbox.sandbox.set_now(moment + timedelta(hours=5))
    clock.set(moment + timedelta(hours=5))
    await run_job("marketing.collect_stats", marketplace=marketplace)
    after = await stats_snapshot(res)
    assert len(after) == len(before)
    today = date(2026, 3, 10)
    grown = sum(r["spent"] for r in after if r["stat_date"] == today) > \
        sum(r["spent"] for r in before if r["stat_date"] == today)
    assert grown
    spent_today = await res.db.fetchval(
        "SELECT SUM(spent_today) FROM marketing_campaigns WHERE marketplace = $1 AND spent_date = $2",
        marketplace, today)
    assert spent_today == sum(r["spent"] for r in after if r["stat_date"] == today and r["keyword_id"] is None)


async def seed_stats(res, campaign_id: int, keyword_id: int | None, day: date, views: int, clicks: int,
                     spent: str, orders: int, revenue: str, position: str | None = None) -> None:
    await res.db.execute(
        "INSERT INTO marketing_stats (campaign_id, keyword_id, marketplace, brand_id, stat_date, views, clicks, spent, "
        "orders, revenue, avg_position) SELECT id, $2, marketplace, brand_id, $3, $4, $5, $6, $7, $8, $9 "
        "FROM marketing_campaigns WHERE id = $1", campaign_id, keyword_id, day, views, clicks, Decimal(spent), orders,
        Decimal(revenue), Decimal(position) if position else None)


async def test_daily_and_monthly_aggregation_on_known_data(res, run_job, synced):
    a, b = [r["id"] for r in await res.db.fetch(
        "SELECT id FROM marketing_campaigns WHERE marketplace = 'wb' ORDER BY id LIMIT 2")]
    kw = await res.db.fetchval("SELECT id FROM marketing_keywords WHERE campaign_id = $1 LIMIT 1", a)
    d1, d2 = date(2026, 2, 27), date(2026, 2, 28)
    await seed_stats(res, a, None, d1, 1000, 50, "250.00", 5, "5000.00")
    await seed_stats(res, a, kw, d1, 400, 20, "100.00", 0, "0", "7.5")
    await seed_stats(res, a, None, d2, 3000, 30, "300.00", 0, "0")
    await seed_stats(res, b, None, d1, 0, 0, "0", 0, "0")
    await seed_stats(res, a, None, date(2026, 3, 1), 99, 9, "9.00", 1, "10.00")     # another month

    result = await run_job("marketing.aggregate_daily_stats", stat_date="2026-02-27")
    assert result["result"] == {"date": "2026-02-27", "rows_inserted": 3}
    row = await res.db.fetchrow("SELECT * FROM marketing_stats_daily WHERE campaign_id = $1 AND keyword_id IS NULL "
                                "AND stat_date = $2", a, d1)
    assert (row["ctr"], row["cpc"], row["cpo"], row["drr"]) == (Decimal("5.00"), Decimal("5.00"), Decimal("50.00"),
                                                                 Decimal("5.00"))
    kw_row = await res.db.fetchrow("SELECT ctr, cpo, drr, avg_position FROM marketing_stats_daily "
                                   "WHERE keyword_id = $1",
                                   kw)
    assert (kw_row["ctr"], kw_row["cpo"], kw_row["drr"], kw_row["avg_position"]) == (
        Decimal("5.00"), Decimal("0"), Decimal("0"), Decimal("7.50"))
    empty = await res.db.fetchrow("SELECT ctr, cpc FROM marketing_stats_daily WHERE campaign_id = $1", b)
    assert (empty["ctr"], empty["cpc"]) == (0, 0)                         # no division by zero
    again = await run_job("marketing.aggregate_daily_stats", stat_date="2026-02-27")
    assert again["result"]["rows_inserted"] == 3
    assert await res.db.fetchval("SELECT count(*) FROM marketing_stats_daily") == 3
    await run_job("marketing.aggregate_daily_stats", stat_date="2026-02-28")
    await run_job("marketing.aggregate_daily_stats", stat_date="2026-03-01")

    monthly = await run_job("marketing.aggregate_monthly_stats", year=2026, month=2)
    assert monthly["result"] == {"year": 2026, "month": 2, "rows_inserted": 2}
    m = await res.db.fetchrow("SELECT * FROM marketing_stats_monthly WHERE campaign_id = $1", a)
    assert (m["views"], m["clicks"], m["spent"], m["orders"], m["revenue"], m["active_days"]) == (
        4000, 80, Decimal("550.00"), 5, Decimal("5000.00"), 2)
    assert (m["avg_ctr"], m["avg_cpc"], m["avg_cpo"], m["avg_drr"]) == (
        Decimal("2.00"), Decimal("6.88"), Decimal("110.00"), Decimal("11.00"))
    # corrected detail, rerun: every average follows
    await res.db.execute("UPDATE marketing_stats SET spent = 700 WHERE campaign_id = $1 AND stat_date = $2 "
                         "AND keyword_id IS NULL", a, d2)
    await run_job("marketing.aggregate_daily_stats", stat_date="2026-02-28")
    await run_job("marketing.aggregate_monthly_stats", year=2026, month=2)
    m = await res.db.fetchrow("SELECT spent, avg_cpc, avg_cpo, avg_drr FROM marketing_stats_monthly "
                              "WHERE campaign_id = $1", a)
    assert (m["spent"], m["avg_cpc"], m["avg_cpo"], m["avg_drr"]) == (
        Decimal("950.00"), Decimal("11.88"), Decimal("190.00"), Decimal("19.00"))
    assert await res.db.fetchval("SELECT count(*) FROM marketing_stats_monthly") == 2


async def test_budget_pause_at_100_percent_and_one_warning_a_day(res, sandbox, run_job, run_queue, synced, clock):
    today = clock.now().astimezone(res.settings.tz).date()
    wb = await res.db.fetch("SELECT id, external_id, brand_id FROM marketing_campaigns WHERE marketplace = 'wb' "
                            "ORDER BY id LIMIT 3")
    over, warn, calm = wb
    await res.db.execute("UPDATE marketing_campaigns SET spent_today = 1000, spent_date = $1, daily_limit = "
                         "CASE id WHEN $2 THEN 1000 WHEN $3 THEN 1250 ELSE 1251 END WHERE id = ANY($4::bigint[])",
                         today, over["id"], warn["id"], [r["id"] for r in wb])
    first = await run_job("marketing.check_budgets")
    assert first["result"]["campaigns_paused"] == 1
    await run_queue("marketing", "high")                               # the enqueued send_alert jobs
    key = f"wb:{over['brand_id']}:{over['external_id']}"
    assert sandbox.sandbox.counter("campaign_paused", key) == 1
    status = await res.db.fetchrow("SELECT status, paused_by FROM marketing_campaigns WHERE id = $1", over["id"])
    assert (status["status"], status["paused_by"]) == ("paused", "budget")
    alerts = await res.db.fetch("SELECT campaign_id, alert_type, severity, action_taken FROM marketing_alerts")
    assert {(a["campaign_id"], a["alert_type"], a["severity"], a["action_taken"]) for a in alerts} == {
        (over["id"], "budget_exceeded", "warning", "pause_campaign"), (warn["id"], "budget_warning", "info", None)}
    second = await run_job("marketing.check_budgets")                  # 80 % again the same day: no new warning
    await run_queue("marketing", "high")
    assert second["result"]["campaigns_paused"] == 0
    assert await res.db.fetchval("SELECT count(*) FROM marketing_alerts") == 2
    assert sandbox.sandbox.counter("campaign_paused", key) == 1
    # the next Moscow day the campaign paused for its limit runs again
    clock.advance(days=1)
    third = await run_job("marketing.check_budgets")
    assert third["result"]["campaigns_resumed"] == 1
    assert sandbox.sandbox.counter("campaign_started", key) == 1
    assert await res.db.fetchval("SELECT status FROM marketing_campaigns WHERE id = $1", over["id"]) == "active"


async def test_send_alert_recipients_by_role_and_brand(res, run_job, synced):
    campaign = await res.db.fetchrow("SELECT id, brand_id FROM marketing_campaigns WHERE brand_id = 'ohana_kids' "
                                     "LIMIT 1")
    await res.db.executemany("INSERT INTO users (name, role, brand_id, is_active) VALUES ($1, $2, $3, $4)", [
        ("kids manager", "manager", "ohana_kids", True), ("market manager", "manager", "ohana_market", True),
        ("all brands", "manager", "all", True), ("senior", "senior", "all", True),
        ("director", "director", "all", True), ("gone", "senior", "all", False)])
    ids = {r["name"]: r["id"] for r in await res.db.fetch("SELECT id, name FROM users")}
    info = await run_job("marketing.send_alert", campaign_id=campaign["id"], alert_type="budget_warning",
                         severity="info", title="Бюджет 80%", message="Израсходовано 800₽ из 1000₽",
                         dedup_key="t-info")
    assert info["result"]["recipients"] == 2
    warning = await run_job("marketing.send_alert", campaign_id=campaign["id"], alert_type="budget_exceeded",
                            severity="warning", title="Кампания приостановлена", message="Расход достиг лимита",
                            action_taken="pause_campaign", dedup_key="t-warning")
    row = await res.db.fetchrow("SELECT recipients, platform_alert_id FROM marketing_alerts WHERE id = $1",
                                warning["result"]["alert_id"])
    assert sorted(row["recipients"]) == sorted(ids[n] for n in ("kids manager", "all brands", "senior", "director"))
    platform = await res.db.fetchrow("SELECT module, severity, brand_id FROM alerts WHERE id = $1",
                                     row["platform_alert_id"])
    assert tuple(platform) == ("marketing", "warning", "ohana_kids")
    repeat = await run_job("marketing.send_alert", campaign_id=campaign["id"], alert_type="budget_exceeded",
                           severity="warning", title="Кампания приостановлена", message="Расход достиг лимита",
                           dedup_key="t-warning")
    assert repeat["result"]["alert_id"] == warning["result"]["alert_id"]
    assert await res.db.fetchval("SELECT count(*) FROM marketing_alerts") == 2
    assert await res.db.fetchval("SELECT count(*) FROM marketing_notifications") == 6
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE module = 'marketing'") == 2
    with pytest.raises(BadArguments, match="alert_type: Input should be 'cap_bid'"):   # refused at enqueue
        await run_job("marketing.send_alert", campaign_id=campaign["id"], alert_type="nonsense",
                      severity="info", title="x", message="y")
    assert await res.redis.zcard("adolfd:marketing:high") == 0


async def test_recorded_alerts_are_returned_not_rewritten_and_concurrent_writers_agree(res, synced):
    """A cycle raises the same day's alerts again and again: each is recorded once, a repeat returns the same ids
    and leaves the rows as they were (no new row version), and two writers recording overlapping alerts at the
    same moment get the same ids, each alert counted new by exactly one of them."""
    from adolfd.domain.marketing.ad_alerts import AdAlert, AlertType, SafetyAction, Severity
    from adolfd.engine.context import Ctx
    from adolfd.engine.jobs import resolve
    from adolfd.workers.marketing.alerts import CampaignRef, PendingAlert, record_alerts

    row = await res.db.fetchrow("SELECT id, brand_id, marketplace, name FROM marketing_campaigns LIMIT 1")
    ref = CampaignRef(row["id"], row["brand_id"], row["marketplace"], row["name"])

    def alerts(keys: range) -> list[PendingAlert]:
        return [PendingAlert(ref, None, AdAlert(AlertType.LOW_CTR, Severity.INFO, SafetyAction.ALERT, "CTR",
                                                f"unit {k}"), f"low_ctr:test:{k}") for k in keys]

    ctx = Ctx(res, job_id="alerts-test", spec=resolve("marketing.run_bid_cycle"))
    first = await record_alerts(ctx, alerts(range(0, 300)))
    assert first.new == 300 and len(set(first.ids)) == 300
    versions = await res.db.fetch("SELECT id, xmin::text AS v FROM marketing_alerts ORDER BY id")
    again = await record_alerts(ctx, alerts(range(0, 300)))
    assert again.new == 0 and again.ids == first.ids
    assert await res.db.fetch("SELECT id, xmin::text AS v FROM marketing_alerts ORDER BY id") == versions
    a, b = await asyncio.gather(record_alerts(ctx, alerts(range(200, 600))),
                                record_alerts(ctx, alerts(range(400, 800))))
    assert a.new + b.new == 500                                # 300..799 are new, each counted once
    assert a.ids[200:] == b.ids[:200]                          # 400..599: the same rows for both writers
    assert a.ids[:100] == first.ids[200:]
    assert await res.db.fetchval("SELECT count(*) FROM marketing_alerts WHERE dedup_key LIKE 'low_ctr:test:%'") == 800


async def test_failed_job_is_dead_lettered_with_a_system_alert(res, run_job, synced, monkeypatch):
    monkeypatch.setattr(res.settings.credentials["wb"]["ohana_market"], "token", SecretStr("wrong-token"))
    res._clients.clear()
    result = await run_job("marketing.collect_stats", marketplace="wb")
    assert not result["success"] and result["tries"] == 1              # AuthError: never retried
    failed = await res.db.fetchrow("SELECT module, job_name, error FROM failed_jobs")
    assert (failed["module"], failed["job_name"]) == ("marketing", "collect_stats") and "401" in failed["error"]
    system = await res.db.fetchrow("SELECT alert_type, severity, campaign_id FROM marketing_alerts")
    assert tuple(system) == ("system_error", "critical", None)
    critical = "SELECT count(*) FROM alerts WHERE severity = 'critical' AND module = 'marketing'"
    assert await res.db.fetchval(critical) == 2


async def test_api_health_keys(res, sandbox, run_job):
    ok = await run_job("marketing.check_api_health")
    assert {mp: ok["result"][mp]["status"] for mp in ("wb", "ozon", "ym")} == {"wb": "ok", "ozon": "ok", "ym": "ok"}
    assert ok["result"]["workers"]["high"] == 1                         # the worker running this very job
    stored = await res.redis.hgetall(API_STATUS.format(mp="wb"))
    assert stored[b"status"] == b"ok" and int(stored[b"response_time_ms"]) >= 0 and stored[b"error_count_24h"] == b"0"
    sandbox.sandbox.add_fault("ym", "5xx", path="/bids/info")
    down = await run_job("marketing.check_api_health")
    assert down["result"]["ym"]["status"] == "error" and down["result"]["wb"]["status"] == "ok"
    stored = await res.redis.hgetall(API_STATUS.format(mp="ym"))
    assert stored[b"status"] == b"error" and stored[b"error_count_24h"] == b"1" and b"last_error" in stored
    sandbox.sandbox.clear_faults()
    back = await run_job("marketing.check_api_health")
    stored = await res.redis.hgetall(API_STATUS.format(mp="ym"))
    assert back["result"]["ym"]["status"] == "ok" and stored[b"error_count_24h"] == b"1"
    assert b"last_error" not in stored


async def test_generate_report_writes_csv(res, run_job, synced):
    campaign = await res.db.fetchval("SELECT id FROM marketing_campaigns WHERE brand_id = 'ohana_market' LIMIT 1")
    for day in (date(2026, 1, 5), date(2026, 1, 6)):
        await seed_stats(res, campaign, None, day, 100, 10, "50.00", 1, "500.00")
        await run_job("marketing.aggregate_daily_stats", stat_date=day.isoformat())
    result = await run_job("marketing.generate_report", date_from="2026-01-01", date_to="2026-01-31",
                           brand_id="ohana_market")
    path = Path(result["result"]["path"])
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert result["result"]["rows"] == len(rows) == 2
    assert rows[0]["stat_date"] == "2026-01-05" and rows[0]["spent"] == "50.00" and rows[0]["drr"] == "10.00"
    bad = await run_job("marketing.generate_report", date_from="2026-01-31", date_to="2026-01-01",
                        brand_id="ohana_market")
    assert not bad["success"]


async def test_cleanup_keeps_the_seed_retention(res, run_job, synced, clock):
    now = clock.now()
    campaign = await res.db.fetchval("SELECT id FROM marketing_campaigns LIMIT 1")
    kw = await res.db.fetchval("SELECT id FROM marketing_keywords WHERE campaign_id = $1 LIMIT 1", campaign)
    await res.db.execute(
        "INSERT INTO marketing_stats (campaign_id, marketplace, brand_id, stat_date, collected_at) "
        "SELECT id, marketplace, brand_id, d::date, d FROM marketing_campaigns, "
        "unnest(ARRAY[$2::timestamptz - interval '31 days', $2::timestamptz - interval '29 days']) AS d WHERE id = $1",
        campaign, now)
    await res.db.execute(
        "INSERT INTO marketing_bid_history (keyword_id, campaign_id, marketplace, brand_id, old_bid, new_bid, source, "
        "change_key, created_at) SELECT $1, $2, 'wb', 'ohana_market', 1, 2, 'manual', 'k' || n, $3::timestamptz - "
        "(n || ' months')::interval - interval '1 day' FROM unnest(ARRAY[11, 12]) AS n", kw, campaign, now)
    await res.db.execute(
        "INSERT INTO marketing_alerts (alert_type, severity, title, message, created_at) SELECT 'x', 'info', 't', 'm', "
        "$1::timestamptz - (n || ' months')::interval - interval '1 day' FROM unnest(ARRAY[5, 6]) AS n", now)
    # the module's rows of the shared alerts table: 6 months too, resolved or not; other modules' rows stay
    await res.db.execute(
        "INSERT INTO alerts (module, alert_type, severity, message, created_at, resolved_at) SELECT m, 'x', 'info', "
        "'m', $1::timestamptz - (n || ' months')::interval - interval '1 day', NULL "
        "FROM unnest(ARRAY[5, 6]) AS n, unnest(ARRAY['marketing', 'watcher']) AS m", now)
    result = await run_job("marketing.cleanup_old_stats")
    assert result["result"]["tables_cleaned"] == {"marketing_stats": 1, "marketing_bid_history": 1,
                                                  "marketing_alerts": 1, "marketing_stats_daily": 0, "alerts": 1}
    assert result["result"]["complete"] is True
    left = await res.db.fetch("SELECT module FROM alerts ORDER BY module")
    assert [r["module"] for r in left] == ["marketing", "watcher", "watcher"]
    assert await res.db.fetchval("SELECT count(*) FROM marketing_stats") == 1


async def test_analytics_flags_a_spend_spike_and_writes_recommendations(res, run_job, synced, clock):
    yesterday = clock.now().astimezone(res.settings.tz).date() - timedelta(days=1)
    campaign = await res.db.fetchval("SELECT id FROM marketing_campaigns WHERE marketplace = 'ozon' LIMIT 1")
    await res.db.execute("UPDATE marketing_campaigns SET strategy_type = 'drr', target_drr = 10 WHERE id = $1",
                         campaign)
    for back in range(14, 0, -1):
        spent = "1600.00" if back == 1 else "1000.00"               # yesterday: 1.6 × the 7 days before
        await seed_stats(res, campaign, None, yesterday - timedelta(days=back - 1), 10_000, 100, spent, 2, "5000.00")
        await run_job("marketing.aggregate_daily_stats", stat_date=(yesterday - timedelta(days=back - 1)).isoformat())
    result = await run_job("marketing.calculate_analytics")
    assert result["result"]["anomalies_detected"] == 1 and result["result"]["provider"] == "offline"
    alert = await res.db.fetchrow("SELECT campaign_id, alert_type, severity FROM marketing_alerts")
    assert tuple(alert) == (campaign, "spend_anomaly", "warning")
    kinds = {r["kind"] for r in await res.db.fetch(
        "SELECT kind FROM marketing_recommendations WHERE campaign_id = $1 AND rec_date = $2", campaign, yesterday)}
    assert {"spend_anomaly", "drr_above_target"} <= kinds             # 20-32 % against a 10 % target
    again = await run_job("marketing.calculate_analytics")
    assert again["success"]
    assert await res.db.fetchval("SELECT count(*) FROM marketing_alerts") == 1
    assert await res.db.fetchval("SELECT count(*) FROM marketing_recommendations WHERE campaign_id = $1",
                                 campaign) == len(kinds)


async def test_campaign_paused_by_the_cycle_safety_logic_runs_again_the_next_day(res, sandbox, run_job, synced,
                                                                                 clock):
    """An Ozon campaign the bid cycle stopped at its daily limit (`paused_by='safety'`) is resumed the next
    Moscow day like the ones `check_budgets` paused; an operator's pause is not."""
    today = clock.now().astimezone(res.settings.tz).date()
    over, manual = await res.db.fetch("SELECT id, external_id, brand_id FROM marketing_campaigns "
                                      "WHERE marketplace = 'ozon' ORDER BY id LIMIT 2")
    await res.db.execute("UPDATE marketing_campaigns SET spent_today = 600, spent_date = $2, daily_limit = 500 "
                         "WHERE id = $1", over["id"], today)
    await res.db.execute("UPDATE marketing_campaigns SET status = 'paused', paused_by = 'operator', paused_at = $2 "
                         "WHERE id = $1", manual["id"], clock.now())
    cycle = await run_job("marketing.run_bid_cycle", marketplace="ozon")
    assert cycle["success"] and cycle["result"]["campaigns_paused"] == 1
    row = await res.db.fetchrow("SELECT status, paused_by FROM marketing_campaigns WHERE id = $1", over["id"])
    assert (row["status"], row["paused_by"]) == ("paused", "safety")
    key = f"ozon:{over['brand_id']}:{over['external_id']}"
    same_day = await run_job("marketing.check_budgets")
    assert same_day["result"]["campaigns_resumed"] == 0
    clock.advance(days=1)
    next_day = await run_job("marketing.check_budgets")
    assert next_day["result"]["campaigns_resumed"] == 1
    assert sandbox.sandbox.counter("campaign_started", key) == 1
    assert await res.db.fetchval("SELECT status FROM marketing_campaigns WHERE id = $1", over["id"]) == "active"
    assert await res.db.fetchval("SELECT paused_by FROM marketing_campaigns WHERE id = $1", manual["id"]) == "operator"


async def test_seed_thresholds_raise_deduplicated_alerts_and_resolve_them(res, run_job, clock):
    """Seed 002 §7.4.2: a 6-minute cycle with errors and a queue of 101 jobs raise one alert each (not again on
    the next check), resolved once back to normal; queues without a worker are `worker_status` alerts."""
    from adolfd.keys import MARKETING_LAST_CYCLE as LAST_CYCLE

    now = clock.now()
    await res.redis.hset(LAST_CYCLE, mapping={"started_at": (now - timedelta(minutes=7)).isoformat(),
                                              "finished_at": (now - timedelta(minutes=1)).isoformat(),
                                              "status": "completed", "errors": "2"})
    await res.redis.zadd("adolfd:marketing:default", {f"parked-{n}": now.timestamp() + 3600 for n in range(101)})
    first = await run_job("marketing.check_api_health")
    breached = set(first["result"]["thresholds"]["breached"])
    assert {"bid_cycle_duration", "bid_cycle_errors", "queue_length:default", "worker_status:low"} <= breached
    assert "worker_status:high" not in breached                       # the worker running this very check
    open_alerts = {r["dedup_key"]: r for r in await res.db.fetch(
        "SELECT dedup_key, alert_type, severity, module FROM alerts WHERE resolved_at IS NULL")}
    assert open_alerts["threshold:bid_cycle_duration"]["alert_type"] == "THRESHOLD_BID_CYCLE_DURATION"
    assert open_alerts["threshold:worker_status:low"]["severity"] == "critical"
    assert {a["module"] for a in open_alerts.values()} == {"marketing"}
    again = await run_job("marketing.check_api_health")
    assert again["result"]["thresholds"]["raised"] == 0
    assert await res.db.fetchval("SELECT count(*) FROM alerts") == len(open_alerts)
    await res.redis.hset(LAST_CYCLE, mapping={"started_at": (now - timedelta(minutes=2)).isoformat(), "errors": "0"})
    await res.redis.delete("adolfd:marketing:default")
    calm = await run_job("marketing.check_api_health")
    assert calm["result"]["thresholds"]["resolved"] == 3
    resolved = {r["dedup_key"] for r in await res.db.fetch(
        "SELECT dedup_key FROM alerts WHERE resolved_at IS NOT NULL")}
    assert resolved == {"threshold:bid_cycle_duration", "threshold:bid_cycle_errors", "threshold:queue_length:default"}
