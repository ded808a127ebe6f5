"""Supply tasks as people handle them (seed 000 §8.4.6): `adolfd logistic …` as an operator runs it, and the
same functions the bot calls. Refusals exit 2 and change nothing."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from adolfd.domain.logistic.task_lifecycle import TaskActionRefused
from adolfd.workers.logistic.tasks import TaskFilter, UnknownTask, act_on_task, list_tasks


@pytest.fixture
async def planned(res, at, moment, inputs, run_job):
    await inputs(moment - timedelta(hours=1))
    assert (await run_job("logistic.generate_supply_tasks"))["success"]
    return await res.db.fetch("SELECT * FROM supply_tasks ORDER BY task_number")


async def snapshot(res):
    tasks = [dict(r) for r in await res.db.fetch("SELECT * FROM supply_tasks ORDER BY task_number")]
    return tasks, await res.db.fetchval("SELECT count(*) FROM supply_task_actions")


async def test_the_lifecycle_from_the_cli(res, cli, planned):
    urgent = [t for t in planned if t["priority"] == "urgent" and t["brand_id"] == "ohana_market"]
    assert urgent
    code, out, err = await cli("logistic", "tasks", "--brand", "ohana_market", "--priority", "urgent", "--json")
    assert code == 0, err
    assert [t["task_number"] for t in json.loads(out)] == sorted(
        (t["task_number"] for t in urgent),
        key=lambda n: next((t["days_of_stock"] or 0, t["task_number"]) for t in urgent if t["task_number"] == n))
    number = urgent[0]["task_number"]
    for args in (("confirm", number, "--by", "olga"), ("start", number, "--by", "ivan"),
                 ("complete", number, str(urgent[0]["quantity"] - 1), "--by", "ivan")):
        code, out, err = await cli("logistic", *args)
        assert code == 0, err
    assert json.loads(out) == {"task_number": number, "action": "complete", "status": "completed",
                               "by": "cli:ivan", "quantity_sent": urgent[0]["quantity"] - 1, "reason": None}
    code, out, err = await cli("logistic", "task", number)
    shown = json.loads(out)
    assert shown["status"] == "completed" and shown["quantity_sent"] == urgent[0]["quantity"] - 1
    assert [(a["action"], a["actor"], a["to_status"]) for a in shown["actions"]] == [
        ("confirm", "cli:olga", "confirmed"), ("start", "cli:ivan", "in_progress"),
        ("complete", "cli:ivan", "completed")]
    assert shown["confirmed_at"] and shown["shipped_at"] and shown["completed_at"]


async def test_bad_input_is_refused_with_exit_2_and_nothing_changed(res, cli, planned):
    number = planned[0]["task_number"]
    before = await snapshot(res)
    code, _, err = await cli("logistic", "confirm", "SUP-19990101-0001")
    assert code == 2 and "no supply task 'SUP-19990101-0001'" in err
    code, _, err = await cli("logistic", "start", number)                # new → in_progress skips confirm
    assert code == 2 and f"task {number} is new: cannot start it; allowed: confirm, cancel" in err
    code, _, err = await cli("logistic", "tasks", "--priority", "soon")
    assert code == 2 and "'urgent', 'planned', 'recommended'" in err
    assert await snapshot(res) == before
    await act_on_task(res.db, number, "confirm", actor="test", now=planned[0]["created_at"])
    await act_on_task(res.db, number, "start", actor="test", now=planned[0]["created_at"])
    before = await snapshot(res)
    code, _, err = await cli("logistic", "complete", number, "-3")
    assert code == 2 and "at least 1" in err
    assert await snapshot(res) == before


async def test_cancel_needs_a_reason_and_closed_tasks_refuse_everything(res, planned, moment):
    number = planned[0]["task_number"]
    with pytest.raises(TaskActionRefused, match="needs a reason"):
        await act_on_task(res.db, number, "cancel", actor="t", now=moment, reason=" ")
    await act_on_task(res.db, number, "cancel", actor="telegram:olga", now=moment, reason="no truck this week")
    row = await res.db.fetchrow("SELECT status, cancel_reason, cancelled_at FROM supply_tasks WHERE task_number = $1",
                                number)
    assert tuple(row) == ("cancelled", "no truck this week", moment)
    with pytest.raises(TaskActionRefused, match="allowed: nothing"):
        await act_on_task(res.db, number, "confirm", actor="t", now=moment)
    with pytest.raises(UnknownTask):
        await act_on_task(res.db, "SUP-x", "confirm", actor="t", now=moment)
    listed = await list_tasks(res.db, TaskFilter(statuses=("cancelled",)))
    assert [t["task_number"] for t in listed] == [number]


async def test_auto_cancel_spares_confirmed_and_records_itself(res, at, moment, planned, run_job):
    confirmed = planned[0]["task_number"]
    await act_on_task(res.db, confirmed, "confirm", actor="cli:olga", now=moment)
    at(moment + timedelta(hours=49))
    out = await run_job("logistic.auto_cancel_expired")
    assert out["result"]["cancelled_count"] == len(planned) - 1
    assert await res.db.fetchval("SELECT status FROM supply_tasks WHERE task_number = $1", confirmed) == "confirmed"
    actors = await res.db.fetch("SELECT actor, count(*) AS n FROM supply_task_actions GROUP BY actor ORDER BY actor")
    assert [(r["actor"], r["n"]) for r in actors] == [("auto", len(planned) - 1), ("cli:olga", 1)]


async def test_tasks_generated_lists_the_urgent_tasks_with_confirm_buttons(res, planned):
    summary = await res.db.fetchrow("SELECT message, details FROM alerts WHERE alert_type = 'TASKS_GENERATED' "
                                    "AND brand_id = 'ohana_market'")
    urgent = [t for t in planned if t["priority"] == "urgent" and t["brand_id"] == "ohana_market"]
    assert urgent and sorted(summary["details"]["urgent_task_numbers"]) == sorted(t["task_number"] for t in urgent)
    listed = summary["details"]["urgent_task_numbers"][:20]
    by_number = {t["task_number"]: t for t in urgent}
    for n in listed:
        t = by_number[n]
        assert f"{n}: {t['article']} → {t['cluster_name']}, {t['quantity']} шт." in summary["message"]
    if len(urgent) > 20:
        assert f"…и ещё {len(urgent) - 20} срочных" in summary["message"]
    assert [b["callback_data"] for b in summary["details"]["buttons"]] == [f"sup:confirm:{n}" for n in listed]
