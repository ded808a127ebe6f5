"""Generation, hand-back on silence and panic, failing tasks, against real Redis/PostgreSQL and simulated agents."""
from datetime import timedelta

from adolfd.cron import TABLE
from adolfd.engine.scheduler import CronScheduler, Scheduled, arq_cron
from adolfd.keys import WATCHER_GENERATION as GENERATION
from adolfd.keys import WATCHER_IP_BLOCKED as IP_BLOCKED

Q_OZON = "watcher:task_queue:ozon"


async def queue(res, key=Q_OZON) -> list[int]:
    return [int(x) for x in await res.redis.lrange(key, 0, -1)]


async def test_generation_twice_creates_nothing_new(res, at, catalogue, run_job):
    first = await run_job("watcher.generate_daily_tasks")
    assert first["success"] and first["result"]["created"] == 10 and first["result"]["pushed"] == 10
    ozon = await queue(res)
    seqs = await res.db.fetch("SELECT id, target_type, priority FROM watcher_tasks WHERE marketplace = 'ozon' "
                              "ORDER BY seq")
    assert ozon == [r["id"] for r in seqs]
    # our products first, then competitors by priority, highest first
    assert [r["priority"] for r in seqs] == [100, 100, 90, 70, 60, 50, 30, 10]
    second = await run_job("watcher.generate_daily_tasks")
    assert second["result"]["created"] == 0 and second["result"]["pushed"] == 0
    assert await queue(res) == ozon
    assert await res.db.fetchval("SELECT count(*) FROM watcher_tasks") == 10
    record = await res.redis.hgetall(GENERATION.format(date="2026-02-16"))
    assert record[b"status"] == b"completed" and record[b"total"] == b"10" and record[b"ozon"] == b"8"
    assert 0 < await res.redis.ttl(GENERATION.format(date="2026-02-16")) <= 7 * 86400


async def test_missed_2030_run_is_caught_up_once(res, at, clock, catalogue):
    from adolfd.engine.execution import arq_function
    from adolfd.engine.jobs import resolve

    entry = next(e for e in TABLE if e.module == "watcher" and e.name == "generate_daily_tasks")
    spec = resolve("watcher.generate_daily_tasks")
    item = Scheduled(entry, arq_cron(entry, arq_function(spec, run_keys=("watcher.generate_daily_tasks",))))
    now = clock.now() + timedelta(hours=1)                  # the worker starts at 21:30, the 20:30 fire missed
    assert await CronScheduler(res.redis, res.db, [item], wake=lambda q: None).catch_up(now) == 1
    assert await CronScheduler(res.redis, res.db, [item], wake=lambda q: None).catch_up(now) == 0
    assert await res.redis.zcard(entry.queue_name) == 1


async def test_silent_agent_tasks_back_at_head_in_order(res, at, clock, catalogue, run_job, fleet, consume):
    await run_job("watcher.generate_daily_tasks")
    original = await queue(res)
    await fleet.heartbeat()
    await consume()
    quiet, other = fleet.agent("ozon-1"), fleet.agent("ozon-2")
    await quiet.work_one()                                  # takes the first task and finishes it
    await quiet.work_one()
    quiet.switches.silent = True
    taken = await quiet.work_one()                          # third task: started, then silence
    claimed_only = await res.redis.lmove(Q_OZON, "watcher:claimed:ozon-1", "LEFT", "RIGHT")  # popped, never started
    await other.work_one()
    await consume()
    assert taken == original[2] and int(claimed_only) == original[3]
    clock.advance(seconds=181)
    await fleet.heartbeat()                                 # every agent but the silent one
    await consume()
    result = await run_job("watcher.sync_agent_status")
    assert result["result"]["offline"] == ["ozon-1"] and result["result"]["tasks_returned"] == 2
    assert (await queue(res))[:2] == [original[2], original[3]]     # at the head, in their original order
    assert await queue(res) == [original[2], original[3]] + original[5:]
    assert await res.redis.exists("watcher:claimed:ozon-1") == 0
    assert await res.db.fetchval("SELECT status FROM watcher_agents WHERE name = 'ozon-1'") == "offline"
    again = await run_job("watcher.sync_agent_status")
    assert again["result"]["offline_count"] == 0 and len(await queue(res)) == len(original) - 3


async def test_panic_blocks_ip_returns_tasks_and_tells_admins(res, at, catalogue, run_job, fleet, consume, users):
    await run_job("watcher.generate_daily_tasks")
    original = await queue(res)
    await fleet.heartbeat()
    agent = fleet.agent("ozon-1")
    agent.switches.silent = True
    await agent.work_one()                                  # in progress with ozon-1
    agent.dead, agent.switches.silent, agent.switches.panic = False, False, True
    await agent.work_one()                                  # takes the next one, then PANIC
    report = await consume()
    assert report.by_type["panic"] == 1
    assert await queue(res) == original                     # both back, at the head, in order
    row = await res.db.fetchrow("SELECT status, ip FROM watcher_agents WHERE name = 'ozon-1'")
    assert row["status"] == "panic" and row["ip"] == agent.ip
    assert 3500 < await res.redis.ttl(IP_BLOCKED.format(ip=agent.ip)) <= 3600
    log = await res.db.fetchrow("SELECT event_type, details FROM watcher_agent_logs WHERE event_type = 'panic'")
    assert log["details"]["reason"] == "captcha"
    chats = await res.db.fetch("SELECT d.chat_id FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id "
                               "WHERE a.alert_type = 'agent_panic'")
    assert [c["chat_id"] for c in chats] == [105]           # the administrator
    # a panicking agent's later events are refused
    agent.dead, agent.switches.panic = False, False
    await agent.work_one()
    refused = await consume()
    assert refused.reasons == {"agent_in_panic": 2}          # its start and its result
    assert await res.db.fetchval("SELECT count(*) FROM watcher_price_history") == 0


async def test_failing_task_retried_until_third_try(res, at, catalogue, run_job, fleet, consume):
    await run_job("watcher.generate_daily_tasks")
    first = (await queue(res))[0]
    agent = fleet.agent("ozon-1")
    await fleet.heartbeat()
    agent.switches.fail_until_third = True
    for _ in range(3):
        while (await agent.work_one()) != first:
            pass
        await consume()
    row = await res.db.fetchrow("SELECT status, retry_count FROM watcher_tasks WHERE id = $1", first)
    assert row["status"] == "completed" and row["retry_count"] == 2
    assert await res.db.fetchval("SELECT count(*) FROM watcher_price_history WHERE task_id = $1", first) == 1


async def test_agent_crashed_before_started_is_offline_at_three_minutes_and_its_task_back(res, at, clock, catalogue,
                                                                                         run_job, fleet, consume):
    """docs/agents.md §4: a task popped by an agent that died before `task_started` comes back with the hand-back
    of sync_agent_status — not at 179 s of silence, at 181 s."""
    await run_job("watcher.generate_daily_tasks")
    original = await queue(res)
    await fleet.heartbeat()
    await consume()
    await res.redis.lmove(Q_OZON, "watcher:claimed:ozon-1", "LEFT", "RIGHT")    # popped, then the agent died
    others = [a for a in fleet.agents if a.name != "ozon-1"]
    clock.advance(seconds=179)
    for agent in others:
        await agent.heartbeat()
    await consume()
    early = await run_job("watcher.sync_agent_status")
    assert early["result"]["offline_count"] == 0 and await queue(res) == original[1:]
    clock.advance(seconds=2)
    late = await run_job("watcher.sync_agent_status")
    assert late["result"]["offline"] == ["ozon-1"] and late["result"]["tasks_returned"] == 1
    assert await queue(res) == original                                          # back at the head
    assert await res.redis.exists("watcher:claimed:ozon-1") == 0
    stats = await res.redis.hgetall("watcher:agents:stats")
    assert (stats[b"offline"], stats[b"online"], stats[b"total"]) == (b"1", b"5", b"6")
    assert 0 < await res.redis.ttl("watcher:agents:stats") <= 120
