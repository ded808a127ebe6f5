"""Ozon syncs against the sandbox (seed 000 §8.4.1–8.4.3): clusters, ordered units, FBO stock snapshots."""
from __future__ import annotations

import json
from datetime import timedelta

from adolfd.sandbox import catalog
from adolfd.sandbox.accounts import BRANDS


async def test_sync_ozon_warehouses_upserts_clusters_and_retires_missing_ones(res, at, run_job):
    await res.db.execute("INSERT INTO logistic_clusters (cluster_id, name, cluster_type, synced_at) "
                         "VALUES (999, 'Закрытый кластер', 'CLUSTER_TYPE_OZON', now())")
    out = await run_job("logistic.sync_ozon_warehouses")
    assert out["success"], out
    assert out["result"]["results"] == {"clusters_synced": len(catalog.CLUSTERS), "deactivated": 1}
    again = await run_job("logistic.sync_ozon_warehouses")
    assert again["result"]["results"] == {"clusters_synced": len(catalog.CLUSTERS), "deactivated": 0}
    rows = await res.db.fetch("SELECT cluster_id, name, is_active, warehouses FROM logistic_clusters")
    active = {r["cluster_id"]: r for r in rows if r["is_active"]}
    assert set(active) == {c.cluster_id for c in catalog.CLUSTERS}
    moscow = catalog.CLUSTERS[0]
    assert active[moscow.cluster_id]["name"] == moscow.name
    assert [w["warehouse_id"] for w in active[moscow.cluster_id]["warehouses"]] == [
        w.warehouse_id for w in moscow.warehouses]
    assert {r["cluster_id"] for r in rows if not r["is_active"]} == {999}


async def test_sync_ozon_analytics_stores_28_full_days_per_sku(res, at, moment, sandbox, run_job):
    out = await run_job("logistic.sync_ozon_analytics")
    assert out["success"], out
    seed, today = sandbox.sandbox.seed, moment.date()
    for brand in BRANDS:
        expected = {a.sku: round(catalog.avg_daily_sales(seed, a, today) * 28) for a in catalog.articles(seed, brand)}
        expected = {sku: n for sku, n in expected.items() if n}
        rows = await res.db.fetch("SELECT sku, ordered_units, period_from, period_to FROM logistic_sales_analytics "
                                  "WHERE brand_id = $1", brand)
        assert {r["sku"]: r["ordered_units"] for r in rows} == expected
        assert {(r["period_from"], r["period_to"]) for r in rows} == {
            (today - timedelta(days=28), today - timedelta(days=1))}
        assert out["result"]["results"][brand] == {"records_saved": len(expected)}
    marks = await res.db.fetch("SELECT brand_id FROM logistic_sync_state WHERE input = 'sync_ozon_analytics'")
    assert {m["brand_id"] for m in marks} == set(BRANDS)


async def test_sync_ozon_stocks_snapshots_every_article_and_cluster(res, at, moment, sandbox, run_job):
    await run_job("logistic.sync_ozon_analytics")
    out = await run_job("logistic.sync_ozon_stocks")
    assert out["success"], out
    seed = sandbox.sandbox.seed
    for brand in BRANDS:
        articles = catalog.articles(seed, brand)
        rows = await res.db.fetch("SELECT * FROM cluster_stock_snapshots WHERE brand_id = $1", brand)
        assert {(r["article"], r["cluster_id"]) for r in rows} == {
            (a.offer_id, c) for a in articles for c in a.cluster_ids}
        assert out["result"]["results"][brand]["snapshots_saved"] == len(rows)
        units = {r["sku"]: r["ordered_units"] for r in await res.db.fetch(
            "SELECT sku, ordered_units FROM logistic_sales_analytics WHERE brand_id = $1", brand)}
        for a in articles:
            mine = [r for r in rows if r["sku"] == a.sku]
            assert sum(r["ordered_units_28d"] for r in mine) == units.get(a.sku, 0)   # shares add up
            for r in mine:
                stock = catalog.cluster_stock(seed, a, r["cluster_id"], moment.date())
                assert (r["fbo_stock"], r["in_transit"]) == (stock.available, stock.transit)
        products = await res.db.fetchval("SELECT count(*) FROM logistic_products WHERE brand_id = $1", brand)
        assert products == len(articles)
        cached = await res.redis.hgetall(f"logistic:stocks:{brand}")
        assert len(cached) == len(rows)
        sample = rows[0]
        assert json.loads(cached[f"{sample['article']}:{sample['cluster_id']}".encode()])["fbo_stock"] == \
            sample["fbo_stock"]
    # the chained generate_alerts is queued once, under an id derived from this run
    chained = await res.redis.zrange("adolfd:logistic:logic", 0, -1)
    assert chained == [f"logistic:alerts-after:{out['job_id']}".encode()]


async def test_sync_ozon_stocks_twice_in_a_slot_keeps_one_snapshot(res, at, moment, run_job):
    first = await run_job("logistic.sync_ozon_stocks")
    at(moment + timedelta(minutes=10))
    second = await run_job("logistic.sync_ozon_stocks")
    assert first["success"] and second["success"]
    slots = await res.db.fetch("SELECT DISTINCT slot FROM cluster_stock_snapshots")
    assert [s["slot"] for s in slots] == [moment]
    at(moment + timedelta(minutes=31))
    await run_job("logistic.sync_ozon_stocks")
    assert await res.db.fetchval("SELECT count(DISTINCT slot) FROM cluster_stock_snapshots") == 2


async def test_sync_ozon_stocks_fails_at_once_on_a_reply_it_cannot_read(res, sandbox, run_job, monkeypatch):
    from adolfd.engine.jobs import resolve
    from adolfd.engine.retry import RetryPolicy

    monkeypatch.setattr(resolve("logistic.sync_ozon_stocks"), "retry", RetryPolicy(tries=2, delay=0.01))
    sandbox.sandbox.add_fault("ozon-seller", "wrong_shape", count=1, path="/v1/analytics/stocks")
    out = await run_job("logistic.sync_ozon_stocks", brand_id="ohana_market")
    assert not out["success"] and out["tries"] == 1              # BadResponse: no retry can fix it
    assert await res.db.fetchval("SELECT count(*) FROM cluster_stock_snapshots") == 0


async def test_sync_ozon_stocks_retries_a_failing_api_and_saves_once(res, at, sandbox, run_job, monkeypatch):
    from adolfd.engine.jobs import resolve
    from adolfd.engine.retry import RetryPolicy

    monkeypatch.setattr(resolve("logistic.sync_ozon_stocks"), "retry", RetryPolicy(tries=2, delay=0.01))
    # an outage that outlasts the client's own tries fails the first run; the job's retry policy runs it again
    sandbox.sandbox.add_fault("ozon-seller", "5xx", count=res.settings.http.attempts, path="/v1/analytics/stocks")
    out = await run_job("logistic.sync_ozon_stocks", brand_id="ohana_market")
    assert out["success"] and out["tries"] == 2
    count = await res.db.fetchval("SELECT count(*) FROM cluster_stock_snapshots")
    assert count == out["result"]["results"]["ohana_market"]["snapshots_saved"] > 0
