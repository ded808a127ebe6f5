"""Polling against the sandbox marketplaces: stored once, one analysis each, breakers, bad input, Office status."""
from __future__ import annotations

import json

import pytest
from adolfd.admin.status import system_status
from adolfd.engine.serialization import arq_job
from adolfd.sandbox import feedback_feed
from adolfd.workers.reputation.breakers import BREAKER_NAMES, breaker_name, breakers

PLATFORM_KINDS = [("wb", "review"), ("wb", "question"), ("ozon", "review"), ("ozon", "question"),
                  ("ym", "review"), ("ym", "question")]


@pytest.mark.parametrize("platform, kind", PLATFORM_KINDS)
async def test_repeated_polls_store_nothing_twice(res, feed, poll, items, platform, kind):
    feed(platform, backlog=4)
    first = await poll(platform, kind)
    assert first["success"], first
    stored = await items(platform=platform, item_type=kind)
    assert first["result"]["new"] == len(stored) >= 8                      # both brands' backlog
    assert {r["brand_id"] for r in stored} == {"ohana_market", "ohana_kids"}
    assert all(r["status"] == "pending_review" and r["generation"] == 1 for r in stored)

    second = await poll(platform, kind)
    assert second["result"]["new"] == 0
    assert second["result"]["duplicates"] == second["result"]["fetched"] == len(stored)
    again = await items(platform=platform, item_type=kind)
    assert [(r["id"], r["generation"], r["analyzed_at"]) for r in again] == \
        [(r["id"], r["generation"], r["analyzed_at"]) for r in stored]


async def test_each_new_item_gets_exactly_one_analyze_job(res, feed, poll, items):
    feed("wb", backlog=3)
    await poll("wb", "review")
    stored = await items(platform="wb")
    for row in stored:
        info = await arq_job(res.redis, f"reputation:analyze:{row['id']}").result_info()
        assert info is not None and info.success and info.job_try == 1
        assert info.result["status"] == "analyzed"


async def test_new_items_arrive_with_the_sandbox_clock(res, sandbox, feed, poll, items):
    feed("ozon", backlog=2, every_seconds=600)
    await poll("ozon", "review")
    before = len(await items(platform="ozon"))
    sandbox.sandbox.advance(3600)                     # an hour of customers: ~6 more per brand
    out = await poll("ozon", "review")
    after = len(await items(platform="ozon"))
    assert out["result"]["new"] == after - before >= 8


async def test_pagination_reads_every_page(res, feed, poll, items, monkeypatch):
    monkeypatch.setattr(res.settings.reputation, "page_size", 20)
    feed("wb", backlog=45, every_seconds=60)
    out = await poll("wb", "review")
    assert out["result"]["pages"] >= 6                 # 45+ per brand at 20 per page: 3 pages each
    assert len(await items(platform="wb", item_type="review")) == out["result"]["new"] >= 90


async def test_offline_analysis_is_stored_with_escalation(res, feed, poll, items):
    feed("ym", backlog=30, every_seconds=60)
    await poll("ym", "review")
    rows = await items(platform="ym", item_type="review")
    low = [r for r in rows if r["rating"] <= 2]
    assert low, "the seeded stream has low ratings"
    for r in low:
        analysis = r["ai_analysis"]
        assert analysis["sentiment"] == "negative" and analysis["escalate"] and "low_rating" in analysis["reasons"]
    five = [r for r in rows if r["rating"] == 5]
    assert five and all(r["ai_analysis"]["sentiment"] == "positive" for r in five)
    assert all(r["draft_text"] for r in rows)


async def test_ym_feedback_and_question_with_the_same_number_are_two_items(res, feed, poll, items):
    feed("ym", backlog=3)
    await poll("ym", "review")
    await poll("ym", "question")
    reviews = {r["external_id"] for r in await items(platform="ym", item_type="review")}
    questions = {r["external_id"] for r in await items(platform="ym", item_type="question")}
    assert reviews & questions                        # YM numbers both from the same range


# -- circuit breaker -----------------------------------------------------------------------------------------

def _api_calls(sandbox, api: str) -> int:
    return sum(1 for r in sandbox.sandbox.requests if r.api == api)


async def test_breaker_closed_open_half_open_closed(res, fast, sandbox, clock, feed, poll):
    feed("wb", backlog=2)
    name = breaker_name("wb", "review")
    br = breakers(res.redis, res.settings)
    sandbox.sandbox.add_fault("wb-feedbacks", "5xx", path="/api/v1/feedbacks")
    runs = 0
    while (await br.read(name)).state.value == "closed":   # each run: one attempt and one retry
        assert (await br.read(name)).failures == 2 * runs
        await poll("wb", "review")
        runs += 1
    state = await br.read(name)
    assert runs == 3 and state.state.value == "open" and state.failures == 5   # the 5th failure opened it
    assert "503" in state.last_error or "Internal error" in state.last_error

    calls = _api_calls(sandbox, "wb-feedbacks")
    out = await poll("wb", "review")
    assert out["success"] and out["result"]["status"] == "circuit_open"
    assert _api_calls(sandbox, "wb-feedbacks") == calls            # an open breaker calls nothing

    clock.advance(minutes=5, seconds=1)                               # cool-down over: half-open
    snap = {s["breaker"]: s for s in await br.snapshot(BREAKER_NAMES, clock.now())}
    assert snap[name]["state"] == "half_open"
    sandbox.sandbox.clear_faults()
    out = await poll("wb", "review")                                  # the probe succeeds
    assert out["success"] and out["result"]["status"] == "success" and out["result"]["new"] >= 4
    assert (await br.read(name)).state.value == "closed"
    assert (await br.read(breaker_name("wb", "question"))).state.value == "closed"   # per (platform, type)


async def test_failed_probe_reopens_the_breaker(res, fast, sandbox, clock, feed, poll):
    feed("ozon", backlog=1)
    name = breaker_name("ozon", "question")
    br = breakers(res.redis, res.settings)
    sandbox.sandbox.add_fault("ozon-seller", "5xx", path="/v1/question/list")
    while (await br.read(name)).state.value != "open":
        await poll("ozon", "question")
    opened = (await br.read(name)).opened_at
    clock.advance(minutes=6)
    calls = _api_calls(sandbox, "ozon-seller")
    out = await poll("ozon", "question")                              # probe fails; its retry finds it open
    assert out["result"]["status"] == "circuit_open"
    state = await br.read(name)
    assert state.state.value == "open" and state.opened_at > opened
    assert _api_calls(sandbox, "ozon-seller") == calls + 1            # one probe call, not one per brand


async def test_breakers_show_in_status(res, fast, sandbox, feed, poll):
    feed("wb", backlog=1)
    sandbox.sandbox.add_fault("wb-feedbacks", "5xx", count=2, path="/api/v1/questions")
    await poll("wb", "question")
    status = await system_status(res.redis, res.db)
    by_name = {b["breaker"]: b for b in status["breakers"]}
    assert set(by_name) == set(BREAKER_NAMES)
    assert by_name["reputation:wb:question"]["failures"] == 0       # the retry succeeded and closed it again
    assert by_name["reputation:wb:review"]["state"] == "closed"


# -- malformed input loses nothing ---------------------------------------------------------------------------

async def test_malformed_list_response_is_a_clear_error_and_loses_nothing(res, fast, sandbox, feed, poll, items):
    feed("wb", backlog=3)
    sandbox.sandbox.add_fault("wb-feedbacks", "malformed_json", path="/api/v1/feedbacks")
    out = await poll("wb", "review")
    assert not out["success"]
    failures = await res.db.fetch("SELECT error FROM failed_jobs WHERE job_name = 'poll_wb_reviews'")
    assert failures and "malformed JSON" in failures[0]["error"], failures
    assert await items(platform="wb") == []
    sandbox.sandbox.clear_faults()
    out = await poll("wb", "review")
    assert out["success"] and out["result"]["new"] == len(await items(platform="wb")) >= 6


async def test_wrong_shape_is_a_clear_error(res, fast, sandbox, feed, poll):
    feed("ym", backlog=1)
    sandbox.sandbox.add_fault("ym", "wrong_shape", path="goods-questions")
    out = await poll("ym", "question")
    assert not out["success"]
    errors = [r["error"] for r in await res.db.fetch("SELECT error FROM failed_jobs")]
    assert any("unexpected" in e and "shape" in e for e in errors), errors


async def test_one_unreadable_entry_is_reported_and_read_later(res, sandbox, feed, poll, items):
    feed("ozon", backlog=3)
    first_id = feedback_feed.ozon_id(sandbox.sandbox.seed, "ohana_kids", "review", 0)
    feed("ozon", broken=[first_id])
    out = await poll("ozon", "review")
    assert out["success"] and out["result"]["invalid"] == 1
    stored = {r["external_id"] for r in await items(platform="ozon")}
    assert first_id not in stored and len(stored) >= 5
    alert = await res.db.fetchrow("SELECT * FROM alerts WHERE alert_type = 'REPUTATION_BAD_ITEM'")
    assert alert and first_id in alert["message"] and "rating" in alert["message"]
    cursor = await res.db.fetchval("SELECT cursor FROM reputation_poll_cursors WHERE platform = 'ozon' "
                                   "AND brand_id = 'ohana_kids'")
    assert cursor is None                                            # not moved past the unreadable one
    feed("ozon", broken=[])                                            # the marketplace fixed its data
    out = await poll("ozon", "review")
    assert out["result"]["new"] == 1
    assert first_id in {r["external_id"] for r in await items(platform="ozon")}


# -- Office Dashboard (seed 003 Appendix B) ------------------------------------------------------------------

async def test_polls_report_to_the_office_dashboard(res, fast, sandbox, feed, poll, run_job):
    feed("wb", backlog=2)
    await poll("wb", "review")
    card = {k.decode(): v.decode() for k, v in (await res.redis.hgetall("office:agent:reputation_wb")).items()}
    assert card["status"] == "idle" and card["name"] == "WB отзывы" and card["salary_equivalent"] == "60000"
    metrics = json.loads(card["metrics"])
    assert metrics["queue_size"] >= 4 and metrics["reviews_today"] >= 4
    assert 0 < await res.redis.ttl("office:agent:reputation_wb") <= 180

    sandbox.sandbox.add_fault("wb-feedbacks", "5xx", path="/api/v1/feedbacks")
    await poll("wb", "review")
    assert (await res.redis.hget("office:agent:reputation_wb", "status")) == b"error"

    out = await run_job("reputation.office_heartbeat")
    assert out["result"] == {"success": True, "agents": 3}
    assert (await res.redis.hget("office:agent:reputation_wb", "status")) == b"error"   # heartbeat keeps status
    assert (await res.redis.hget("office:agent:reputation_ym", "status")) == b"idle"    # a new card starts idle
    assert await res.redis.hget("office:agent:reputation_ozon", "fte_coefficient") == b"1.0"


# -- poisoned items: characters PostgreSQL and JSON refuse ---------------------------------------------------

POISON = {"ohana_kids:review:0": {"text": "Хорошо\x00 но\ud800 странно", "author": "Анна\x00"},
          "ohana_kids:review:1": {"pros": "\x1b[2Jочистка экрана"}}


async def test_poisoned_reviews_are_cleaned_and_the_page_is_stored(res, fast, feed, poll, items, run_queue):
    feed("wb", backlog=3, written=POISON)
    out = await poll("wb", "review")
    assert out["success"] and out["result"]["cleaned"] == 2 and out["result"]["quarantined"] == 0, out
    rows = await items(platform="wb", item_type="review", brand_id="ohana_kids")
    assert len(rows) >= 3
    first = rows[0]
    assert first["text"] == "Хорошо но\ufffd странно" and first["author"] == "Анна"
    assert "\x1b" not in rows[1]["pros"] and rows[1]["pros"].endswith("очистка экрана")
    assert all(r["status"] == "pending_review" for r in rows)                      # analysed and drafted
    assert await res.db.fetchval("SELECT cursor FROM reputation_poll_cursors WHERE platform = 'wb' "
                                 "AND brand_id = 'ohana_kids'") is not None
    assert await res.db.fetchval("SELECT count(*) FROM failed_jobs") == 0
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE severity = 'critical'") == 0


async def test_an_item_the_database_still_refuses_is_quarantined_alone(res, fast, feed, poll, items, monkeypatch):
    """Cleaning off (something new PostgreSQL refuses): the poll stores the rest, keeps the item aside, moves on."""
    monkeypatch.setattr("adolfd.clients.feedback.clean_json", lambda value: (value, []))
    feed("wb", backlog=3, written={"ohana_kids:review:0": {"text": "Хорошо\x00"}})
    for _ in range(2):                                                            # every 5 minutes: one alert
        out = await poll("wb", "review")
        assert out["success"] and out["result"]["brands"]["ohana_kids"]["quarantined"] == 1, out
    kept = await items(platform="wb", item_type="review", brand_id="ohana_kids")
    assert len(kept) >= 2 and all("\x00" not in r["text"] for r in kept)
    assert len(await items(platform="wb", item_type="review", brand_id="ohana_market")) >= 3
    [q] = await res.db.fetch("SELECT * FROM reputation_quarantine")
    assert "\\u0000" in q["payload"] and json.loads(q["payload"])["text"] == "Хорошо\x00"   # kept as sent
    assert q["brand_id"] == "ohana_kids" and q["error"]
    assert await res.db.fetchval("SELECT cursor FROM reputation_poll_cursors WHERE platform = 'wb' "
                                 "AND brand_id = 'ohana_kids'") is not None
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE alert_type = 'REPUTATION_QUARANTINED'") == 1
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE severity = 'critical'") == 0


# -- items shown late: the sweep ------------------------------------------------------------------------------

async def test_review_moderated_hours_late_is_read_by_the_sweep(res, sandbox, clock, feed, poll, items):
    """WB shows a review after moderation with its original createdDate, hours behind the poll's cursor."""
    late_one = feedback_feed.wb_id(sandbox.sandbox.seed, "ohana_kids", "review", 0)
    feed("wb", backlog=3, every_seconds=3600, late={"ohana_kids:review:0": 4 * 3600})
    await poll("wb", "review")
    stored = {r["external_id"] for r in await items(platform="wb", brand_id="ohana_kids")}
    assert late_one not in stored and len(stored) >= 2                # still in moderation

    sandbox.sandbox.advance(90 * 60)                                   # moderation done: WB lists it now
    clock.advance(minutes=10)
    out = await poll("wb", "review")                                   # an ordinary poll: cursor − 60 min
    assert out["result"].get("sweeps", 0) == 0
    assert late_one not in {r["external_id"] for r in await items(platform="wb")}

    clock.advance(minutes=55)                                          # an hour since the last sweep
    out = await poll("wb", "review")
    assert late_one in {r["external_id"] for r in await items(platform="wb")}
    assert out["result"]["sweeps"] == 2 and out["result"]["new"] >= 1, out


# -- every failure counts against the breaker, as in the seed -------------------------------------------------

async def test_database_failure_during_a_poll_counts_against_the_breaker(res, fast, feed, poll, monkeypatch):
    import asyncpg
    from adolfd.workers.reputation import polling

    async def refuse(*args, **kwargs):
        raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")

    feed("wb", backlog=1)
    monkeypatch.setattr(polling, "_store", refuse)
    out = await poll("wb", "review")
    assert not out["success"]
    state = await breakers(res.redis, res.settings).read(breaker_name("wb", "review"))
    assert state.failures >= 1 and "CannotConnectNowError" in state.last_error, state


async def test_a_poll_that_runs_out_of_time_counts_against_the_breaker(res, fast, feed, poll, monkeypatch):
    import asyncio

    from adolfd.workers.reputation import polling

    async def hang(*args, **kwargs):
        await asyncio.sleep(30)

    feed("ozon", backlog=1)
    monkeypatch.setattr(polling, "POLL_TIME_MARGIN", 599.8)            # a 0.2 s budget under the 600 s limit
    monkeypatch.setattr(polling, "_store", hang)
    out = await asyncio.wait_for(poll("ozon", "question"), 20)
    assert not out["success"]
    state = await breakers(res.redis, res.settings).read(breaker_name("ozon", "question"))
    assert state.failures >= 1 and "TimeoutError" in state.last_error, state


async def test_a_database_outage_while_storing_quarantines_nothing(res, fast, feed, poll, items, monkeypatch):
    import asyncpg
    from adolfd.workers.reputation import polling

    async def gone(*args, **kwargs):
        raise asyncpg.exceptions.CannotConnectNowError("the database system is shutting down")

    feed("ym", backlog=2)
    monkeypatch.setattr(polling, "_insert", gone)
    out = await poll("ym", "review")
    assert not out["success"]
    assert await res.db.fetchval("SELECT count(*) FROM reputation_quarantine") == 0   # read again next time
    assert await res.db.fetchval("SELECT count(*) FROM reputation_poll_cursors") == 0
    assert (await breakers(res.redis, res.settings).read(breaker_name("ym", "review"))).failures >= 1
    monkeypatch.undo()
    assert (await poll("ym", "review"))["result"]["new"] == len(await items(platform="ym")) >= 4
