"""Approval and publishing against the sandbox marketplaces: once per item whatever happens."""
from __future__ import annotations

import httpx
import pytest
from adolfd.engine.enqueue import enqueue
from adolfd.sandbox import feedback_feed
from adolfd.sandbox.llm import script_answers
from adolfd.settings import RateLimit
from adolfd.workers.reputation.approval import approve, list_items, request_regeneration, skip

PLATFORM_KINDS = [("wb", "review"), ("wb", "question"), ("ozon", "review"), ("ozon", "question"),
                  ("ym", "review"), ("ym", "question")]


@pytest.fixture
async def pending(feed, poll, items):
    """`await pending("wb", "review")`: poll a platform and return its items waiting for review."""

    async def run(platform: str, kind: str, **feed_options) -> list[dict]:
        feed(platform, **({"backlog": 3} | feed_options))
        out = await poll(platform, kind)
        assert out["success"], out
        return await items(platform=platform, item_type=kind, status="pending_review")

    return run


@pytest.mark.parametrize("platform, kind", PLATFORM_KINDS)
async def test_approved_reply_is_published_once(res, pending, run_queue, items, replies, answers, platform, kind):
    item = (await pending(platform, kind))[0]
    out = await approve(res.db, res.redis, item["id"], by="anna")
    assert out["status"] == "approved"
    await run_queue("reputation", "default")
    [done] = await items(id=item["id"])
    assert done["status"] == "published" and done["published_at"] is not None
    assert done["approved_by"] == "anna" and done["publish_retry_count"] == 1
    assert replies(platform, kind, item["external_id"]) == 1
    assert answers(platform, kind, item["external_id"])[0]["text"] == item["draft_text"]
    with pytest.raises(ValueError, match="only items pending review can be approved"):
        await approve(res.db, res.redis, item["id"], by="anna")


async def test_duplicate_and_concurrent_send_jobs_publish_once(res, pending, run_queue, items, replies):
    item = (await pending("wb", "question"))[0]
    await approve(res.db, res.redis, item["id"], by="anna")
    for n in range(4):                                   # duplicates enqueued by hand, run concurrently
        await enqueue(res.redis, "reputation.send_response", {"item_id": item["id"]}, job_id=f"dup-{n}")
    worker = await run_queue("reputation", "default", max_jobs=10)
    assert worker.jobs_complete >= 5
    assert replies("wb", "question", item["external_id"]) == 1
    [done] = await items(id=item["id"])
    assert done["status"] == "published" and done["publish_retry_count"] == 1


async def test_5xx_on_publish_is_retried_and_published_once(res, fast, sandbox, pending, run_queue, items, replies):
    item = (await pending("ozon", "review"))[0]
    sandbox.sandbox.add_fault("ozon-seller", "5xx", count=1, path="/v1/review/comment/create")
    await approve(res.db, res.redis, item["id"], by="anna")
    await run_queue("reputation", "default")
    [done] = await items(id=item["id"])
    assert done["status"] == "published" and done["publish_retry_count"] == 2
    assert replies("ozon", "review", item["external_id"]) == 1


async def test_reply_that_arrived_but_timed_out_is_not_sent_again(res, fast, sandbox, settings, pending, run_queue,
                                                                  items, replies, monkeypatch):
    item = (await pending("wb", "review"))[0]
    short = httpx.AsyncClient(base_url=settings.api_urls.wb_feedbacks, timeout=1.0)
    monkeypatch.setitem(res.http, "wb_feedbacks", short)
    res._clients.clear()                                # the next client is built on the short-timeout pool
    sandbox.sandbox.add_fault("wb-feedbacks", "timeout", count=1, path="/api/v1/feedbacks/answer", seconds=3,
                              process=True)            # WB stores the answer, adolfd gives up waiting
    try:
        await approve(res.db, res.redis, item["id"], by="anna")
        await run_queue("reputation", "default")
    finally:
        await short.aclose()
    [done] = await items(id=item["id"])
    assert done["status"] == "published" and done["publish_retry_count"] == 2
    assert replies("wb", "review", item["external_id"]) == 1


async def test_answer_written_elsewhere_is_not_duplicated(res, sandbox, pending, run_queue, items, replies):
    item = (await pending("ym", "review"))[0]
    feedback_feed.add_answer(sandbox.sandbox, "ym-feedback", "review", item["external_id"], "Ответ из кабинета",
                             "77")
    await approve(res.db, res.redis, item["id"], by="anna")
    await run_queue("reputation", "default")
    [done] = await items(id=item["id"])
    assert done["status"] == "skipped" and "outside adolfd" in done["publish_error"]
    assert replies("ym", "review", item["external_id"]) == 1


async def test_operator_text_and_regeneration(res, pending, run_queue, items, answers):
    item = next(i for i in await pending("ozon", "question", backlog=6) if i["text"])
    out = await request_regeneration(res.db, res.redis, item["id"], "Сделай короче")
    assert out["status"] == "queued"
    await run_queue("reputation", "default")
    [redrafted] = await items(id=item["id"])
    assert redrafted["generation"] == 2 and redrafted["status"] == "pending_review"
    assert len(redrafted["draft_text"]) < len(item["draft_text"])
    with pytest.raises(ValueError, match="instructions must not be empty"):
        await request_regeneration(res.db, res.redis, item["id"], "  ")
    await approve(res.db, res.redis, item["id"], by="anna", text="Здравствуйте! Да, можно стирать при 30 °C.")
    await run_queue("reputation", "default")
    sent = answers("ozon", "question", item["external_id"])
    assert [a["text"] for a in sent] == ["Здравствуйте! Да, можно стирать при 30 °C."]


async def test_skip_and_unknown_items(res, pending, items):
    item = (await pending("wb", "review"))[0]
    assert (await skip(res.db, item["id"], by="anna"))["status"] == "skipped"
    assert (await items(id=item["id"]))[0]["status"] == "skipped"
    with pytest.raises(ValueError, match="cannot be skipped"):
        await skip(res.db, item["id"], by="anna")
    with pytest.raises(LookupError, match="no reputation item 999999"):
        await approve(res.db, res.redis, 999999, by="anna")
    listed = await list_items(res.db, "pending_review")
    assert item["id"] not in {r["id"] for r in listed} and listed
    with pytest.raises(ValueError):
        await list_items(res.db, "sideways")


async def test_auto_approval_publishes_five_star_positive_reviews_only(res, sandbox, monkeypatch, feed, poll,
                                                                      run_queue, items, replies):
    monkeypatch.setattr(res.settings.reputation, "auto_approve", True)
    # WB allows 3 feedback requests a second (~20 s for these ~30 replies); this test is about which reviews
    # publish, so lift that limit on both sides
    sandbox.sandbox.set_limit("wb-feedbacks", "default", 50, 50)
    monkeypatch.setitem(res.settings.rate_limits, "wb_feedbacks:default", RateLimit(rate=50, burst=20))
    feed("wb", backlog=25, every_seconds=60)
    await poll("wb", "review")
    await poll("wb", "question")
    await run_queue("reputation", "default")
    rows = await items(platform="wb")
    published = [r for r in rows if r["status"] == "published"]
    assert published, "the stream has 5-star reviews"
    for r in published:
        assert r["item_type"] == "review" and r["rating"] == 5 and r["auto_approved"] and r["approved_by"] == "auto"
        assert r["ai_analysis"]["sentiment"] == "positive" and not r["ai_analysis"]["escalate"]
        assert replies("wb", "review", r["external_id"]) == 1
    waiting = [r for r in rows if r["status"] == "pending_review"]
    assert any(r["item_type"] == "question" for r in waiting)
    assert all(r["rating"] != 5 or r["ai_analysis"]["sentiment"] != "positive" or r["ai_analysis"]["escalate"]
               for r in waiting if r["item_type"] == "review")


async def test_auto_approval_is_off_by_default(res, pending):
    assert not res.settings.reputation.auto_approve
    rows = await pending("wb", "review", backlog=25, every_seconds=60)
    assert any(r["rating"] == 5 for r in rows)


async def test_retry_failed_publish_hourly(res, fast, sandbox, pending, run_queue, run_job, items, replies):
    first, second = (await pending("ym", "question"))[:2]
    sandbox.sandbox.add_fault("ym", "5xx", path="goods-questions/update")
    for item in (first, second):
        await approve(res.db, res.redis, item["id"], by="anna")
    await run_queue("reputation", "default")
    assert {r["status"] for r in await items(platform="ym", item_type="question") if r["id"] in
            (first["id"], second["id"])} == {"failed"}
    await res.db.execute("UPDATE reputation_responses SET publish_retry_count = 5 WHERE item_id = $1", second["id"])
    sandbox.sandbox.clear_faults()
    out = await run_job("reputation.retry_failed_publish")
    assert out["result"]["retried"] == 1 and out["result"]["gave_up"] == 1
    assert (await items(id=first["id"]))[0]["status"] == "published"
    assert (await items(id=second["id"]))[0]["status"] == "failed"
    assert replies("ym", "question", first["external_id"]) == 1
    assert replies("ym", "question", second["external_id"]) == 0
    alert = await res.db.fetchrow("SELECT * FROM alerts WHERE alert_type = 'REPUTATION_PUBLISH_FAILED'")
    assert alert and str(second["id"]) in alert["message"]
    again = await run_job("reputation.retry_failed_publish")
    assert again["result"]["retried"] == 0
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE alert_type = 'REPUTATION_PUBLISH_FAILED'") == 1


# -- the LLM over HTTP -----------------------------------------------------------------------------------------

@pytest.fixture
def http_llm(res, monkeypatch):
    """The worker uses the HTTP provider against the sandbox's fake LLM for this test."""
    monkeypatch.setattr(res.settings.llm, "provider", "http")
    res.llm = None
    yield
    res.llm = None


async def test_http_llm_analyses_and_drafts(res, http_llm, sandbox, pending):
    rows = await pending("wb", "review")
    assert rows and all(r["ai_analysis"]["provider"].startswith("http:") for r in rows)
    assert sandbox.sandbox.counter("llm_completions", res.settings.llm.model) == 2 * len(rows)


async def test_malformed_llm_answer_is_a_clear_error_and_loses_no_item(res, fast, http_llm, sandbox, feed, poll,
                                                                        items, run_queue):
    feed("wb", backlog=1)
    script_answers(sandbox.sandbox, ["Конечно! Вот анализ: позитивный"] * 20)
    await poll("wb", "question")
    stored = await items(platform="wb", item_type="question")
    assert stored and all(r["status"] == "new" for r in stored)          # kept, waiting for analysis
    alerts = await res.db.fetch("SELECT * FROM alerts WHERE alert_type = 'REPUTATION_LLM_OUTAGE'")
    assert len(alerts) == 1 and "answer is not JSON" in alerts[0]["message"]     # one alert, the clear error
    assert await res.db.fetchval("SELECT count(*) FROM failed_jobs") == 0
    sandbox.sandbox.state("llm")["scripted"].clear()                    # the model behaves again
    await poll("wb", "question")                                        # the next poll queues them again
    await run_queue("reputation", "default")
    assert all(r["status"] == "pending_review" for r in await items(platform="wb", item_type="question"))
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE alert_type = 'REPUTATION_LLM_OUTAGE' "
                                 "AND resolved_at IS NULL") == 0


@pytest.mark.parametrize("stage", ["analyze", "generate"])
async def test_llm_outage_folds_into_one_alert_and_items_resume(res, fast, http_llm, sandbox, feed, poll, items,
                                                                run_queue, stage):
    """The LLM is down for a while: no item is stranded behind its job id, one alert for the outage."""
    feed("ozon", backlog=3)
    if stage == "analyze":
        sandbox.sandbox.add_fault("llm", "5xx")
    else:
        # analyses get through; every draft answer lacks its "reply"
        script_answers(sandbox.sandbox, ['{"sentiment": "neutral", "topics": [], "escalate": false, '
                                         '"reasons": []}'] * 200)
    await poll("ozon", "review")
    waiting = await items(platform="ozon", item_type="review")
    assert len(waiting) >= 6
    expected = "new" if stage == "analyze" else "analyzed"
    for _ in range(3):                                                  # polls every 5 minutes during the outage
        await poll("ozon", "review")
        await run_queue("reputation", "default")
    rows = await items(platform="ozon", item_type="review")
    assert {r["status"] for r in rows} == {expected}, {r["status"] for r in rows}
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE alert_type = 'REPUTATION_LLM_OUTAGE'") == 1
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE severity = 'critical'") == 0

    sandbox.sandbox.clear_faults()                                      # the LLM is back
    sandbox.sandbox.state("llm").pop("scripted", None)
    await poll("ozon", "review")
    await run_queue("reputation", "default")
    rows = await items(platform="ozon", item_type="review")
    assert {r["status"] for r in rows} == {"pending_review"} and all(r["draft_text"] for r in rows)
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE alert_type = 'REPUTATION_LLM_OUTAGE' "
                                 "AND resolved_at IS NULL") == 0
