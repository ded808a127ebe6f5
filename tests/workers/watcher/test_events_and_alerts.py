"""Bad events change nothing; an event is applied once when the consumer dies mid-event; alert dedup across
overlapping windows and recipients by severity; clean-ups (the Redis one: test_priorities_and_redis.py)."""
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from adolfd.keys import WATCHER_DEAD_LETTER as DEAD_LETTER
from adolfd.keys import WATCHER_EVENTS as EVENTS
from adolfd.workers.watcher import consumer as consumer_mod
from adolfd.workers.watcher.consumer import Consumer

TABLES = ("watcher_tasks", "watcher_agents", "watcher_price_history", "watcher_applied_events", "watcher_agent_logs")


async def snapshot(res) -> dict:
    out = {}
    for t in TABLES:
        out[t] = [dict(r) for r in await res.db.fetch(f"SELECT * FROM {t} ORDER BY 1")]
    return out


async def test_every_bad_event_is_refused_with_its_reason_and_changes_nothing(res, at, catalogue, run_job, fleet,
                                                                               consume):
    await run_job("watcher.generate_daily_tasks")
    await fleet.heartbeat()
    await consume()
    agent = fleet.agent("ozon-1")
    task = await agent.work_one()
    await consume()
    before = await snapshot(res)
    await res.redis.xadd(EVENTS, {"event": b"{broken"})
    await res.redis.xadd(EVENTS, {"other": b"x"})
    await res.redis.xadd(EVENTS, {"event": b'{"type":"teleport","event_id":"x1","agent":"ozon-1",'
                                           b'"ts":"2026-02-16T21:00:00+03:00"}'})
    await agent.send("task_started", task_id=987654321)                    # unknown task
    await agent.send("task_started", task_id=task)                         # already completed
    await fleet.agent("ozon-2").send("price_result", task_id=task, in_stock=True, price=10)  # not its task
    queued_ozon_task = int((await res.redis.lrange("watcher:task_queue:ozon", 0, 0))[0])
    await fleet.agent("wildberries-1").send("task_started", task_id=queued_ozon_task)
    await res.redis.xadd(EVENTS, {"event": b'{"type":"heartbeat","event_id":"x2","agent":"ghost",'
                                           b'"ts":"2026-02-16T21:00:00","marketplace":"ozon"}'})
    report = await consume()
    assert report.applied == 0 and report.dead == 8
    assert report.reasons == {"malformed_json": 1, "missing_event": 1, "unknown_type": 1, "unknown_task": 1,
                              "task_not_pending": 1, "task_not_in_progress": 1, "wrong_marketplace": 1,
                              "invalid_event": 1}
    assert await snapshot(res) == before
    dead = await res.redis.xrange(DEAD_LETTER)
    assert len(dead) == 8 and all(f[b"reason"] and f[b"detail"] for _, f in dead)
    assert (await res.redis.xpending(EVENTS, "adolfd"))["pending"] == 0


async def test_unknown_agent_and_oversized_events_are_refused(res, at, catalogue, run_job, fleet, consume, script):
    from adolfd.sandbox.watcher_agents import SimAgent

    await run_job("watcher.generate_daily_tasks")
    task = int((await res.redis.lrange("watcher:task_queue:ozon", 0, 0))[0])
    stranger = SimAgent(res.redis, "stranger", "ozon", script)                  # never sent a heartbeat
    await stranger.send("task_started", task_id=task)
    await stranger.send("cookies_invalid", reason="x")
    await res.redis.xadd(EVENTS, {"event": json.dumps({"type": "heartbeat", "event_id": "big", "agent": "ozon-1",
                                                       "ts": "2026-02-16T21:00:00+03:00", "marketplace": "ozon",
                                                       "pad": "x" * 17_000})})
    before = await snapshot(res)
    report = await consume()
    assert report.applied == 0 and report.reasons == {"unknown_agent": 2, "too_large": 1}
    assert await snapshot(res) == before
    reasons = [f[b"reason"] for _, f in await res.redis.xrange(DEAD_LETTER)]
    assert reasons == [b"unknown_agent", b"unknown_agent", b"too_large"]


async def test_duplicate_event_applied_once(res, at, catalogue, run_job, fleet, consume):
    await run_job("watcher.generate_daily_tasks")
    await fleet.heartbeat()
    agent = fleet.agent("ozon-1")
    agent.switches.duplicate = True
    await agent.work_one()
    report = await consume()
    assert report.duplicates == 2                          # its start and its result, each sent twice
    assert report.by_type == {"heartbeat": 6, "task_started": 1, "price_result": 1}
    assert await res.db.fetchval("SELECT count(*) FROM watcher_price_history") == 1


@pytest.mark.parametrize("dies", ["before_commit", "after_commit"])
async def test_event_applied_once_when_the_consumer_dies_mid_event(res, at, clock, catalogue, run_job, fleet,
                                                                  consume, monkeypatch, dies):
    await run_job("watcher.generate_daily_tasks")
    await fleet.heartbeat()
    await consume()
    await fleet.agent("ozon-1").work_one()

    class Killed(BaseException):
        pass

    real_apply, real_effects = consumer_mod.apply_event, consumer_mod.run_effects

    async def apply_then_die(conn, event, now, claimed=()):
        effects = await real_apply(conn, event, now, claimed)
        if event.type == "price_result":
            raise Killed                                    # inside the transaction: rolled back
        return effects

    async def effects_then_die(db, redis, effects, now):
        if effects:
            raise Killed                                    # committed, not acknowledged
        await real_effects(db, redis, effects, now)

    monkeypatch.setattr(consumer_mod, "apply_event" if dies == "before_commit" else "run_effects",
                        apply_then_die if dies == "before_commit" else effects_then_die)
    with pytest.raises(Killed):
        await Consumer(res.db, res.redis, clock.now, name="dies").drain()
    monkeypatch.undo()
    assert (await res.redis.xpending(EVENTS, "adolfd"))["pending"] == 1
    report = await Consumer(res.db, res.redis, clock.now, name="takes-over", reclaim_idle_ms=0).drain()
    assert report.reclaimed == 1
    assert await res.db.fetchval("SELECT count(*) FROM watcher_price_history") == 1
    assert await res.db.fetchval("SELECT count(*) FROM watcher_tasks WHERE status = 'completed'") == 1
    assert await res.redis.llen("watcher:claimed:ozon-1") == 0
    assert (await res.redis.xpending(EVENTS, "adolfd"))["pending"] == 0


async def _prices(res, rows):
    await res.db.executemany(
        "INSERT INTO watcher_price_history (sku, marketplace, competitor_id, current_price, in_stock, parsed_at) "
        "VALUES ($1, 'ozon', $2, $3, $4, $5)", rows)


async def test_alert_dedup_across_overlapping_windows_and_recipients(res, at, clock, catalogue, run_job, users):
    t0 = clock.now()
    c12 = await res.db.fetchval("SELECT id FROM watcher_competitors WHERE competitor_sku = 'C-12'")
    c13 = await res.db.fetchval("SELECT id FROM watcher_competitors WHERE competitor_sku = 'C-13'")
    await _prices(res, [("OM-1", None, Decimal(1000), True, t0 - timedelta(hours=2)),
                        ("OM-1", c12, Decimal(1000), True, t0 - timedelta(hours=2)),
                        ("OM-1", c13, Decimal(900), True, t0 - timedelta(hours=2)),
                        ("OM-1", c12, Decimal(800), True, t0 - timedelta(minutes=3)),     # drop 20 %, dumping 20 %
                        ("OM-1", c13, None, False, t0 - timedelta(minutes=3))])           # out of stock
    first = await run_job("watcher.check_alerts")
    assert first["result"]["alerts_created"] == 3
    clock.advance(minutes=15)                               # next window still holds the same parses
    second = await run_job("watcher.check_alerts")
    assert second["result"]["prices_checked"] == 2 and second["result"]["alerts_created"] == 0
    await run_job("watcher.send_alert_notification", alert_id=1)   # drained already by check_alerts' enqueue
    rows = {r["alert_type"]: list(r["recipients"]) for r in
            await res.db.fetch("SELECT alert_type, recipients FROM watcher_alerts")}
    assert rows == {"dumping_detected": [1, 3, 4, 5], "price_drop": [1, 3], "out_of_stock": [1]}
    chats = await res.db.fetch("SELECT a.alert_type, array_agg(d.chat_id ORDER BY d.chat_id) AS chats FROM alerts a "
                               "JOIN alert_deliveries d ON d.alert_id = a.id GROUP BY a.alert_type")
    assert {r["alert_type"]: list(r["chats"]) for r in chats} == {
        "dumping_detected": [101, 103, 104, 105], "price_drop": [101, 103], "out_of_stock": [101]}
    clock.advance(hours=23, minutes=44)                     # 23 h 59 min after the alerts: a new drop is held back
    await _prices(res, [("OM-1", c12, Decimal(700), True, clock.now() - timedelta(minutes=1))])
    assert (await run_job("watcher.check_alerts"))["result"]["by_type"] == {}
    clock.advance(minutes=2)
    assert (await run_job("watcher.check_alerts"))["result"]["by_type"] == {"dumping_detected": 1, "price_drop": 1}


async def test_cleanups_delete_exactly_what_is_past_retention(res, at, clock, catalogue, run_job):
    today = clock.now().date()
    await res.db.executemany(
        "INSERT INTO watcher_tasks (target_type, target_id, sku, marketplace, scheduled_date, seq) "
        "VALUES ('product', $1, 'OM-1', 'ozon', $2, 1)",
        [(1, today - timedelta(days=91)), (2, today - timedelta(days=90)), (3, today)])
    agent = await res.db.fetchval("INSERT INTO watcher_agents (name, marketplace) VALUES ('a', 'ozon') RETURNING id")
    now = clock.now()
    await res.db.executemany("INSERT INTO watcher_agent_logs (agent_id, event_type, created_at) VALUES ($1, 'x', $2)",
                             [(agent, now - timedelta(days=30, seconds=1)), (agent, now - timedelta(days=29))])
    await res.db.executemany(
        "INSERT INTO watcher_alerts (alert_type, severity, sku, marketplace, is_resolved, created_at) "
        "VALUES ('price_drop', 'warning', 'OM-1', 'ozon', $1, $2)",
        [(True, now - timedelta(days=366)), (False, now - timedelta(days=400)), (True, now - timedelta(days=364))])
    assert (await run_job("watcher.cleanup_old_tasks"))["result"]["deleted_count"] == 1
    assert (await run_job("watcher.cleanup_old_logs"))["result"]["deleted_count"] == 1
    assert (await run_job("watcher.cleanup_resolved_alerts"))["result"]["deleted_count"] == 1
    assert await res.db.fetchval("SELECT count(*) FROM watcher_tasks") == 2
    assert (await run_job("watcher.cleanup_old_tasks"))["result"]["deleted_count"] == 0
