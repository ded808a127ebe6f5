"""1C stock sync and freshness (seed 000 §8.4.4, §8.4.4a) on brain_* tables written like the extractor does."""
from __future__ import annotations

from datetime import timedelta

from adolfd.sandbox import catalog
from adolfd.sandbox.accounts import BRANDS


async def _catalogue(run_job) -> None:
    out = await run_job("logistic.sync_ozon_stocks")
    assert out["success"], out


async def test_sync_brain_stocks_sorts_rows_and_writes_stock_and_history(res, at, moment, sandbox, run_job, extract):
    await _catalogue(run_job)
    written = await extract(moment - timedelta(hours=1))
    out = await run_job("logistic.sync_brain_stocks")
    assert out["success"], out
    result = out["result"]
    seed, day = sandbox.sandbox.seed, moment.date()
    for brand in BRANDS:
        rows = catalog.onec_stocks(seed, brand, day)
        unmapped = set(catalog.unmapped_articles(brand))
        negative = [r for r in rows if r.quantity < 0]
        assert result["results"][brand] == {
            "status": "success", "extract_date": day.isoformat(),
            "validated": len(rows) - len([r for r in rows if r.article in unmapped]) - len(negative),
            "unmapped": len(unmapped), "anomalies": len(negative)}
        stock = {(r["article"], r["warehouse_name"]): r["quantity"] for r in await res.db.fetch(
            "SELECT * FROM warehouse_stocks WHERE brand_id = $1", brand)}
        expected = {(r.article, r.warehouse_name): r.quantity for r in rows
                    if r.article not in unmapped and r.quantity >= 0}
        assert stock == expected
        anomaly = await res.db.fetchrow("SELECT * FROM logistic_brain_anomalies WHERE brand_id = $1", brand)
        assert (anomaly["article"], anomaly["reason"]) == (catalog.anomaly_article(seed, brand), "negative_quantity")
    assert result["validated"] + result["unmapped"] + result["anomalies"] == written["brain_stock_balance"]
    history = await res.db.fetchval("SELECT count(*) FROM logistic_stock_history")
    assert history == result["validated"]
    # a second run the same day appends nothing
    again = await run_job("logistic.sync_brain_stocks")
    assert again["result"]["validated"] == result["validated"]
    assert await res.db.fetchval("SELECT count(*) FROM logistic_stock_history") == history


async def test_stale_extract_changes_nothing(res, at, moment, run_job, extract):
    await _catalogue(run_job)
    await extract(moment - timedelta(hours=26, minutes=1))
    out = await run_job("logistic.sync_brain_stocks")
    assert out["success"] and out["result"]["status"] == "stale"
    assert {r["status"] for r in out["result"]["results"].values()} == {"stale"}
    assert await res.db.fetchval("SELECT count(*) FROM warehouse_stocks") == 0
    assert await res.db.fetchval("SELECT count(*) FROM logistic_sync_state WHERE input = 'sync_brain_stocks'") == 0


async def test_sudden_change_is_held_back_until_the_next_extract_repeats_it(res, at, moment, run_job, extract):
    await _catalogue(run_job)
    await extract(moment - timedelta(days=1, hours=1))
    at(moment - timedelta(days=1))
    await run_job("logistic.sync_brain_stocks")
    brand = "ohana_market"
    row = await res.db.fetchrow("SELECT article, warehouse_name, quantity FROM warehouse_stocks "
                                "WHERE brand_id = $1 AND quantity >= 150 ORDER BY article LIMIT 1", brand)
    jump = row["quantity"] * 3 + 200

    async def load_day(now):
        await extract(now)
        await res.db.execute("UPDATE brain_stock_balance SET quantity = $1 WHERE brand_id = $2 AND article = $3 "
                             "AND warehouse_name = $4 AND extract_date = $5", jump, brand, row["article"],
                             row["warehouse_name"], now.astimezone(moment.tzinfo).date())

    await load_day(moment - timedelta(hours=1))
    at(moment)
    first = await run_job("logistic.sync_brain_stocks")
    assert first["result"]["results"][brand]["anomalies"] == 2          # the negative row and the jump
    held = await res.db.fetchval("SELECT quantity FROM warehouse_stocks WHERE brand_id = $1 AND article = $2 "
                                 "AND warehouse_name = $3", brand, row["article"], row["warehouse_name"])
    assert held == row["quantity"]
    await load_day(moment + timedelta(days=1) - timedelta(hours=1))
    at(moment + timedelta(days=1))
    second = await run_job("logistic.sync_brain_stocks")
    assert second["result"]["results"][brand]["anomalies"] == 1
    taken = await res.db.fetchval("SELECT quantity FROM warehouse_stocks WHERE brand_id = $1 AND article = $2 "
                                  "AND warehouse_name = $3", brand, row["article"], row["warehouse_name"])
    assert taken == jump


async def test_a_row_missing_from_the_extract_counts_as_zero(res, at, moment, run_job, extract):
    await _catalogue(run_job)
    await extract(moment - timedelta(hours=1))
    await run_job("logistic.sync_brain_stocks")
    small = await res.db.fetchrow("SELECT * FROM warehouse_stocks WHERE quantity BETWEEN 1 AND 100 LIMIT 1")
    large = await res.db.fetchrow("SELECT * FROM warehouse_stocks WHERE quantity > 300 LIMIT 1")
    await extract(moment + timedelta(days=1) - timedelta(hours=1))
    day2 = (moment + timedelta(days=1)).date()
    for r in (small, large):
        await res.db.execute("DELETE FROM brain_stock_balance WHERE brand_id = $1 AND article = $2 "
                             "AND warehouse_name = $3 AND extract_date = $4", r["brand_id"], r["article"],
                             r["warehouse_name"], day2)
    at(moment + timedelta(days=1))
    await run_job("logistic.sync_brain_stocks")
    now = {(r["article"], r["warehouse_name"]): r["quantity"] for r in await res.db.fetch(
        "SELECT * FROM warehouse_stocks WHERE (article, warehouse_name) IN (($1, $2), ($3, $4))",
        small["article"], small["warehouse_name"], large["article"], large["warehouse_name"])}
    assert now[(small["article"], small["warehouse_name"])] == 0                          # sold out
    assert now[(large["article"], large["warehouse_name"])] == large["quantity"]          # suspicious: held back


async def test_check_brain_freshness_alerts_once_a_day_and_resolves(res, at, moment, run_job, extract):
    await extract(moment - timedelta(hours=2), tables=("brain_stock_balance", "brain_customer_orders"))
    await extract(moment - timedelta(hours=30), tables=("brain_supplier_orders",))
    out = await run_job("logistic.check_brain_freshness")
    assert out["result"] == {"stale": ["brain_supplier_orders", "brain_goods_receipts"], "all_fresh": False}
    again = await run_job("logistic.check_brain_freshness")
    assert again["result"]["stale"] == out["result"]["stale"]
    alerts = await res.db.fetch("SELECT * FROM alerts WHERE alert_type = 'DATA_STALE'")
    assert len(alerts) == 1
    assert alerts[0]["severity"] == "high" and alerts[0]["brand_id"] is None
    assert "brain_supplier_orders (30 ч)" in alerts[0]["message"]
    assert "brain_goods_receipts (нет данных)" in alerts[0]["message"]
    await extract(moment - timedelta(hours=1))
    fresh = await run_job("logistic.check_brain_freshness")
    assert fresh["result"] == {"stale": [], "all_fresh": True}
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE resolved_at IS NULL") == 0


async def test_brain_sync_before_the_ozon_catalogue_fails_clearly_and_keeps_nothing(res, at, moment, run_job,
                                                                                   extract, monkeypatch):
    """Without Ozon's articles every 1C row would look unmapped: the job refuses (and retries by policy)
    instead of storing an empty warehouse and reporting success."""
    from adolfd.engine.jobs import resolve
    from adolfd.engine.retry import RetryPolicy

    monkeypatch.setattr(resolve("logistic.sync_brain_stocks"), "retry", RetryPolicy(tries=1, delay=0.01))
    await extract(moment - timedelta(hours=1))
    out = await run_job("logistic.sync_brain_stocks")
    assert not out["success"] and out["tries"] == 2
    assert "no Ozon catalogue" in str(out["result"])
    assert await res.db.fetchval("SELECT count(*) FROM warehouse_stocks") == 0
    failed = await res.db.fetchrow("SELECT * FROM failed_jobs")
    assert failed["job_name"] == "sync_brain_stocks" and "no Ozon catalogue" in failed["error"]
