"""Stock alerts from the latest FBO snapshot (seed 000 §8.4.7)."""
from __future__ import annotations

from adolfd.sandbox import catalog

LEVELS = ("OUT_OF_STOCK", "URGENT_STOCK", "LOW_STOCK")


async def _snapshot(run_job) -> None:
    assert (await run_job("logistic.sync_ozon_analytics"))["success"]
    assert (await run_job("logistic.sync_ozon_stocks"))["success"]


def _days(snap) -> float:
    """Days of stock from the snapshot's own figures (the stored column is rounded to 0.01)."""
    units = snap["ordered_units_28d"]
    return float("inf") if units == 0 else snap["fbo_stock"] * 28 / units


async def _alerts(res, open_only=True):
    sql = "SELECT * FROM alerts WHERE module = 'logistic'" + (" AND resolved_at IS NULL" if open_only else "")
    return await res.db.fetch(sql)


async def test_chained_after_the_stock_sync_alerts_match_the_snapshot(res, at, sandbox, run_job, run_queue):
    await _snapshot(run_job)
    await run_queue("logistic", "logic")                    # the job sync_ozon_stocks chained
    snaps = {(r["brand_id"], r["article"], str(r["cluster_id"])): r
             for r in await res.db.fetch("SELECT * FROM cluster_stock_snapshots")}
    alerts = await _alerts(res)
    levels = [a for a in alerts if a["alert_type"] in LEVELS]
    assert levels, "the sandbox catalogue always has short and sold-out positions"
    for a in levels:
        snap = snaps[(a["brand_id"], a["details"]["article"], a["details"]["cluster"])]
        if a["alert_type"] == "OUT_OF_STOCK":
            assert snap["fbo_stock"] == 0 and snap["ordered_units_28d"] > 0 and a["severity"] == "critical"
        elif a["alert_type"] == "URGENT_STOCK":
            assert 0 < _days(snap) < 3 and a["severity"] == "high"
        else:
            assert 3 <= _days(snap) < 7 and a["severity"] == "medium"
    short = [s for s in snaps.values() if _days(s) < 7]
    assert len(levels) == len(short)                         # one level alert per short position
    seed = sandbox.sandbox.seed
    for brand in ("ohana_market", "ohana_kids"):
        sold_out = [a for a in catalog.articles(seed, brand) if a.profile == "out_of_stock"]
        for article in sold_out:
            key = (brand, article.offer_id, str(article.cluster_ids[0]))
            if snaps[key]["ordered_units_28d"] > 0:
                assert any((a["brand_id"], a["details"]["article"], a["details"]["cluster"]) == key
                           and a["alert_type"] == "OUT_OF_STOCK" for a in levels)
    ozon = [a for a in alerts if a["alert_type"] == "OZON_URGENT"]
    assert len(ozon) == len([s for s in snaps.values() if s["turnover_grade_cluster"] == "DEFICIT"])


async def test_second_run_raises_nothing_new(res, at, run_job):
    await _snapshot(run_job)
    await run_job("logistic.generate_alerts")               # with the chained run queued by the sync
    count = len(await _alerts(res, open_only=False))
    assert count > 0
    second = await run_job("logistic.generate_alerts")
    assert second["result"] == {"status": "success", "alerts_generated": 0, "resolved": 0}
    assert len(await _alerts(res, open_only=False)) == count


async def test_restocked_position_recovers_and_only_its_stock_alerts_resolve(res, at, run_job):
    await _snapshot(run_job)
    await run_job("logistic.generate_alerts")
    low = await res.db.fetchrow("SELECT * FROM alerts WHERE alert_type IN ('URGENT_STOCK', 'LOW_STOCK') LIMIT 1")
    article, cluster = low["details"]["article"], low["details"]["cluster"]
    await res.db.execute("UPDATE cluster_stock_snapshots SET fbo_stock = 100000 WHERE brand_id = $1 "
                         "AND article = $2 AND cluster_id = $3", low["brand_id"], article, int(cluster))
    other_open = await res.db.fetchval("SELECT count(*) FROM alerts WHERE resolved_at IS NULL "
                                       "AND NOT (details->>'article' = $1 AND details->>'cluster' = $2)",
                                       article, cluster)
    out = await run_job("logistic.generate_alerts")
    assert out["result"]["alerts_generated"] == 1
    recovered = await res.db.fetchrow("SELECT * FROM alerts WHERE alert_type = 'STOCK_RECOVERED'")
    assert (recovered["details"]["article"], recovered["details"]["cluster"]) == (article, cluster)
    assert recovered["severity"] == "low"
    assert await res.db.fetchval("SELECT resolved_at IS NOT NULL FROM alerts WHERE id = $1", low["id"])
    still_open = await res.db.fetchval("SELECT count(*) FROM alerts WHERE resolved_at IS NULL "
                                       "AND NOT (details->>'article' = $1 AND details->>'cluster' = $2)",
                                       article, cluster)
    assert still_open == other_open
