"""Supply tasks, their inputs, expiry and clean-up (seed 000 §8.4.5, §8.4.6, §8.4.8, §8.4.9)."""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta

from adolfd.sandbox.accounts import BRANDS


async def _tasks(res):
    return await res.db.fetch("SELECT * FROM supply_tasks ORDER BY task_number")


async def test_supply_tasks_from_the_morning_inputs(res, at, moment, inputs, run_job):
    await inputs(moment - timedelta(hours=1))
    out = await run_job("logistic.generate_supply_tasks")
    assert out["success"], out
    result = out["result"]
    tasks = await _tasks(res)
    assert tasks and result["total_tasks"] == len(tasks)
    assert result["total_quantity"] == sum(t["quantity"] for t in tasks)
    assert result["urgent"] + result["planned"] + result["recommended"] == len(tasks)
    assert result["deferred"] == [] and result["stale_inputs"] == {}
    # readable, unique, consecutive numbers for the day
    assert [t["task_number"] for t in tasks] == [f"SUP-20260216-{n:04d}" for n in range(1, len(tasks) + 1)]
    for t in tasks:
        assert t["deficit"] == t["target_stock"] - t["fbo_stock"] - t["in_transit"] > 0
        assert 0 < t["quantity"] <= t["deficit"]
        assert (t["coverage"] == "full") == (t["quantity"] == t["deficit"])
        assert t["status"] == "new" and t["created_at"] == moment
    # never more units promised than the 1C warehouse holds
    stock = {(r["brand_id"], r["article"]): r["q"] for r in await res.db.fetch(
        "SELECT brand_id, article, sum(quantity) AS q FROM warehouse_stocks GROUP BY 1, 2")}
    promised = defaultdict(int)
    for t in tasks:
        promised[(t["brand_id"], t["article"])] += t["quantity"]
    assert all(q <= stock[key] for key, q in promised.items())
    # one summary per brand; purchase alerts for deficits the warehouse cannot cover
    generated = await res.db.fetch("SELECT * FROM alerts WHERE alert_type = 'TASKS_GENERATED'")
    assert sorted(a["brand_id"] for a in generated) == sorted(BRANDS)
    low = await res.db.fetch("SELECT * FROM alerts WHERE alert_type = 'WAREHOUSE_LOW'")
    assert len(low) == result["purchase_required"] > 0
    for a in low:
        assert a["severity"] == "high" and "Требуется закупка" in a["message"]
        assert stock.get((a["brand_id"], a["details"]["article"]), 0) - promised[
            (a["brand_id"], a["details"]["article"])] == 0


async def test_second_run_the_same_day_creates_nothing(res, at, moment, inputs, run_job):
    await inputs(moment - timedelta(hours=1))
    first = await run_job("logistic.generate_supply_tasks")
    alerts = await res.db.fetchval("SELECT count(*) FROM alerts")
    at(moment + timedelta(minutes=20))
    second = await run_job("logistic.generate_supply_tasks")
    assert first["result"]["total_tasks"] > 0
    assert second["result"]["total_tasks"] == 0 and second["result"]["total_quantity"] == 0
    assert second["result"]["purchase_required"] == first["result"]["purchase_required"]
    assert len(await _tasks(res)) == first["result"]["total_tasks"]
    assert await res.db.fetchval("SELECT count(*) FROM alerts") == alerts


async def test_missing_input_defers_then_runs_with_a_warning(res, at, run_job, run_first):
    await run_job("logistic.sync_ozon_analytics")
    await run_job("logistic.sync_ozon_stocks")               # no 1C extract today: brain sync missing
    out = await run_first("logistic.generate_supply_tasks", brand_id="ohana_market")
    assert out["result"]["status"] == "deferred" and out["result"]["deferred"] == ["ohana_market"]
    assert await _tasks(res) == []
    queued = await res.redis.zrange("adolfd:logistic:logic", 0, -1, withscores=True)
    assert [job_id for job_id, _ in queued] == [b"logistic:supply-deferred:2026-02-16:ohana_market:1"]
    await res.redis.delete("adolfd:logistic:logic")          # the deferred run is not awaited here
    last = await run_job("logistic.generate_supply_tasks", brand_id="ohana_market", attempt=6)
    assert last["result"]["status"] == "success"
    assert last["result"]["stale_inputs"] == {"ohana_market": ["sync_brain_stocks"]}
    warning = await res.db.fetchrow("SELECT * FROM alerts WHERE alert_type = 'DATA_STALE'")
    assert warning["severity"] == "medium" and warning["brand_id"] == "ohana_market"
    assert "sync_brain_stocks" in warning["message"] and warning["details"]["missing"] == ["sync_brain_stocks"]


async def test_old_stock_snapshot_is_a_missing_input(res, at, moment, inputs, run_first):
    await inputs(moment - timedelta(hours=1))
    at(moment + timedelta(hours=1, minutes=1))
    out = await run_first("logistic.generate_supply_tasks", brand_id="ohana_kids")
    assert out["result"]["deferred"] == ["ohana_kids"]


async def test_auto_cancel_expired_after_48_hours(res, at, moment, inputs, run_job):
    await inputs(moment - timedelta(hours=1))
    await run_job("logistic.generate_supply_tasks")
    tasks = await _tasks(res)
    confirmed = tasks[0]["task_number"]
    await res.db.execute("UPDATE supply_tasks SET status = 'confirmed' WHERE task_number = $1", confirmed)
    at(moment + timedelta(hours=48))
    exactly = await run_job("logistic.auto_cancel_expired")
    assert exactly["result"]["cancelled_count"] == 0
    at(moment + timedelta(hours=48, minutes=1))
    out = await run_job("logistic.auto_cancel_expired")
    assert out["result"]["cancelled_count"] == len(tasks) - 1
    statuses = {t["task_number"]: t["status"] for t in await _tasks(res)}
    assert statuses.pop(confirmed) == "confirmed" and set(statuses.values()) == {"cancelled"}
    overdue = await res.db.fetch("SELECT * FROM alerts WHERE alert_type = 'TASK_OVERDUE'")
    assert len(overdue) == len(tasks) - 1
    assert all(a["severity"] == "medium" and re.search(r"SUP-20260216-\d{4} автоотменено", a["message"])
               for a in overdue)
    again = await run_job("logistic.auto_cancel_expired")
    assert again["result"]["cancelled_count"] == 0


async def test_cleanup_old_data_keeps_recent_rows(res, at, moment, inputs, run_job):
    await inputs(moment - timedelta(hours=1))
    await run_job("logistic.generate_supply_tasks")
    old = moment - timedelta(days=91)
    await res.db.execute("INSERT INTO cluster_stock_snapshots (brand_id, slot, sku, cluster_id, article, cluster_name, "
                         "fbo_stock, in_transit, ordered_units_28d, avg_daily_sales, captured_at) "
                         "VALUES ('ohana_market', $1, 1, 1, 'X', 'X', 0, 0, 0, 0, $1)", old)
    await res.db.execute("INSERT INTO logistic_stock_history VALUES ('ohana_market', 'X', 'W', $1, 5, $2)",
                         old.date(), old)
    await res.db.execute("UPDATE supply_tasks SET status = 'completed', updated_at = $1 WHERE task_number = "
                         "'SUP-20260216-0001'", old)
    before = await res.db.fetchval("SELECT count(*) FROM cluster_stock_snapshots")
    out = await run_job("logistic.cleanup_old_data")
    assert out["success"], out
    result = out["result"]
    assert (result["snapshots_deleted"], result["history_deleted"], result["tasks_deleted"]) == (1, 1, 1)
    assert await res.db.fetchval("SELECT count(*) FROM cluster_stock_snapshots") == before - 1
    assert result["retention_days"] == 90


async def test_cleanup_old_data_deletes_read_alerts_even_unresolved(res, at, moment, run_job):
    """Seed 000 §8.4.8 deletes read alerts: an open alert older than the retention goes once a person
    acknowledged it or it reached the chats; one nobody has seen yet, a recent one and other modules' stay."""
    old, recent = moment - timedelta(days=91), moment - timedelta(days=10)
    rows = [("logistic", "resolved", old, old, None, None), ("logistic", "acknowledged", old, None, old, None),
            ("logistic", "delivered", old, None, None, old), ("logistic", "unseen", old, None, None, None),
            ("logistic", "recent", recent, None, recent, recent), ("watcher", "other", old, None, old, old)]
    await res.db.executemany(
        "INSERT INTO alerts (module, alert_type, severity, message, dedup_key, created_at, resolved_at, "
        "acknowledged_at, delivered_at) VALUES ($1, $2, 'warning', 'm', $2, $3, $4, $5, $6)", rows)
    out = await run_job("logistic.cleanup_old_data")
    assert out["result"]["alerts_deleted"] == 3
    left = await res.db.fetch("SELECT alert_type FROM alerts ORDER BY alert_type")
    assert [r["alert_type"] for r in left] == ["other", "recent", "unseen"]


async def test_cleanup_stock_history(res, at, moment, run_job):
    for age in (91, 89):
        await res.db.execute("INSERT INTO logistic_stock_history VALUES ('ohana_market', 'X', 'W', $1, 5, $2)",
                             (moment - timedelta(days=age)).date(), moment)
    out = await run_job("logistic.cleanup_stock_history")
    assert out["result"] == {"status": "success", "deleted_rows": 1}
    assert await res.db.fetchval("SELECT count(*) FROM logistic_stock_history") == 1


async def test_status_section_shows_inputs_tasks_and_alerts(res, at, moment, inputs, run_job):
    from adolfd.admin.status import system_status

    await inputs(moment - timedelta(hours=1))
    await run_job("logistic.generate_supply_tasks")
    status = (await system_status(res.redis, res.db))["logistic"]
    assert set(status["inputs"]) == set(BRANDS)
    assert set(status["inputs"]["ohana_kids"]) == {"sync_brain_stocks", "sync_ozon_analytics", "sync_ozon_stocks"}
    assert sum(n for brand in status["open_tasks"].values() for n in brand.values()) == len(await _tasks(res))
    assert status["open_alerts"]["TASKS_GENERATED"] == len(BRANDS)
