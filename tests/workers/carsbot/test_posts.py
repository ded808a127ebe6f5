"""Posts through the AI pipeline and into the channel once (seed 004 process_post_task, publish_post_task)."""
from __future__ import annotations

import asyncio

from adolfd.sandbox.environment import CARSBOT_TARGET_CHANNEL
from adolfd.sandbox.telegram import telegram_fake
from adolfd.workers.carsbot.pipeline import store_post
from adolfd.workers.carsbot.resources import carsbot_bot

from .conftest import AD, OTHER_CHANNEL, message


async def _post(res, post_id: int = 1):
    return await res.db.fetchrow("SELECT * FROM carsbot_posts WHERE id = $1", post_id)


async def test_an_ad_is_processed_and_published_once(res, sandbox, channels, ctx, run_queue):
    await channels()
    assert (await store_post(ctx, message()))["status"] == "stored"
    assert (await store_post(ctx, message()))["status"] == "merged"          # the same update twice
    await run_queue("carsbot", "ai")
    await run_queue("carsbot", "publishing")
    post = await _post(res)
    assert post["status"] == "published" and post["fields"]["price_rub"] == 2_150_000
    sent = telegram_fake(sandbox.sandbox).messages(CARSBOT_TARGET_CHANNEL)
    assert len(sent) == 1 and sent[0].text == post["generated_text"] and "Toyota Camry" in sent[0].text
    assert post["published_message_ids"] == [sent[0].message_id]
    # duplicate jobs and re-runs find nothing to do
    again = await ctx.enqueue("carsbot.publish_post_task", post_id=1, _job_id="operator-dup")
    assert again is not None
    await run_queue("carsbot", "publishing")
    assert len(telegram_fake(sandbox.sandbox).messages(CARSBOT_TARGET_CHANNEL)) == 1


async def test_non_ads_are_rejected_and_unknown_channels_ignored(res, channels, ctx, run_job):
    await channels()
    assert (await store_post(ctx, message(channel=-100777)))["status"] == "ignored"
    await store_post(ctx, message("Продам шины R17 на Камри, 25 000 руб", message_id=5))
    out = await run_job("carsbot.process_post_task", post_id=1, _job_id="carsbot:process:1")   # the one queued
    assert out["result"]["status"] == "rejected" and (await _post(res))["status"] == "rejected"


async def test_the_same_ad_in_two_channels_is_published_once(res, sandbox, channels, ctx, run_queue):
    await channels()
    await store_post(ctx, message())
    await store_post(ctx, message("🔥 #авто\n" + AD, channel=OTHER_CHANNEL, message_id=40))
    await run_queue("carsbot", "ai")
    await run_queue("carsbot", "publishing")
    statuses = sorted(r["status"] for r in await res.db.fetch("SELECT status FROM carsbot_posts"))
    assert statuses == ["duplicate", "published"]
    assert len(telegram_fake(sandbox.sandbox).messages(CARSBOT_TARGET_CHANNEL)) == 1


async def test_an_album_is_one_post_with_every_photo(res, sandbox, channels, ctx, run_queue):
    await channels()
    res.settings.carsbot.album_wait_seconds = 0.2
    for i, caption in ((11, AD), (12, ""), (13, "")):
        await store_post(ctx, message(caption, message_id=i, photo=f"photo-{i}", group="album-1"))
    await asyncio.sleep(0.25)
    await run_queue("carsbot", "ai")
    await run_queue("carsbot", "publishing")
    post = await _post(res)
    assert [p["file_id"] for p in post["photos"]] == ["photo-11", "photo-12", "photo-13"]
    sent = telegram_fake(sandbox.sandbox).messages(CARSBOT_TARGET_CHANNEL)
    assert [m.photos for m in sent] == [["photo-11"], ["photo-12"], ["photo-13"]]
    assert "Toyota Camry" in sent[0].text and post["status"] == "published"
    res.settings.carsbot.album_wait_seconds = 3.0


async def test_an_album_caption_later_than_the_wait_revives_the_rejected_post(res, channels, ctx, run_queue,
                                                                             monkeypatch):
    await channels()
    monkeypatch.setattr(res.settings.carsbot, "album_wait_seconds", 0)
    await store_post(ctx, message("", message_id=21, photo="photo-21", group="album-2"))
    await run_queue("carsbot", "ai")
    assert (await _post(res))["status"] == "rejected"            # no text yet: not an ad
    late = await store_post(ctx, message(AD, message_id=22, photo="photo-22", group="album-2"))
    assert late["reprocess"] and late["status"] == "merged"
    again = await store_post(ctx, message("", message_id=23, photo="photo-23", group="album-2"))
    assert "reprocess" not in again                             # captionless parts revive nothing
    await run_queue("carsbot", "ai")
    post = await _post(res)
    assert post["status"] == "ready" and post["text"] == AD and len(post["photos"]) == 3
    assert await res.db.fetchval("SELECT count(*) FROM carsbot_posts") == 1


async def test_an_llm_outage_parks_posts_until_it_is_back(res, sandbox, channels, ctx, run_first):
    await channels()
    res.settings.llm.provider = "http"
    res.settings.http.attempts = 1
    res.llm = None
    try:
        await store_post(ctx, message())
        await res.redis.delete("adolfd:carsbot:ai")            # run it below, one job at a time
        sandbox.sandbox.add_fault("llm", "5xx")
        out = await run_first("carsbot.process_post_task", post_id=1)
        assert out["result"]["status"] == "waiting_llm" and (await _post(res))["status"] == "waiting_llm"
        queued = await res.redis.zrange("adolfd:carsbot:ai", 0, -1)
        assert queued == [b"carsbot:process:1:llm:1"]            # parked, with a later retry
        sandbox.sandbox.clear_faults("llm")
        await res.redis.delete("adolfd:carsbot:ai")            # the parked retry is not waited for here
        back = await run_first("carsbot.process_post_task", post_id=1)
        assert back["result"]["status"] == "ready" and (await _post(res))["process_tries"] == 2
    finally:
        res.settings.llm.provider = "offline"
        res.settings.http.attempts = 4
        res.llm = None


async def test_published_once_under_429_and_a_lost_answer(res, sandbox, channels, ctx, run_job, run_queue):
    await channels()
    await store_post(ctx, message())
    await run_job("carsbot.process_post_task", post_id=1, _job_id="carsbot:process:1")
    await res.redis.delete("adolfd:carsbot:publishing")
    # Telegram's answer is lost after it posted: never sent again by itself
    sandbox.sandbox.add_fault("telegram", "timeout", count=1, seconds=0.5, process=True, path="sendMessage")
    bot = carsbot_bot(ctx)
    bot.timeout = 0.2
    try:
        out = await run_job("carsbot.publish_post_task", post_id=1, _job_id="lost")
    finally:
        bot.timeout = res.settings.http.timeout
    assert out["result"]["status"] == "publish_unknown"
    await asyncio.sleep(0.5)
    again = await run_job("carsbot.publish_post_task", post_id=1, _job_id="again")
    assert again["result"] == {"status": "skipped", "post_id": 1, "post_status": "publish_unknown"}
    assert len(telegram_fake(sandbox.sandbox).messages(CARSBOT_TARGET_CHANNEL)) == 1
    alert = await res.db.fetchrow("SELECT * FROM alerts WHERE alert_type = 'PUBLISH_UNKNOWN'")
    assert alert["severity"] == "high"


async def test_a_worker_killed_mid_send_is_not_sent_twice(res, sandbox, channels, ctx, run_job, clock):
    await channels()
    await store_post(ctx, message())
    await run_job("carsbot.process_post_task", post_id=1, _job_id="carsbot:process:1")
    await res.redis.delete("adolfd:carsbot:publishing")
    # the claim a killed worker left behind
    await res.db.execute("UPDATE carsbot_posts SET status = 'publishing', publish_attempt = gen_random_uuid(), "
                         "publish_started_at = $1 WHERE id = 1", clock.now())
    early = await run_job("carsbot.publish_post_task", post_id=1, _job_id="early")
    assert early["result"]["post_status"] == "publishing"
    clock.advance(minutes=11)
    late = await run_job("carsbot.publish_post_task", post_id=1, _job_id="late")
    assert late["result"]["status"] == "publish_unknown"
    assert telegram_fake(sandbox.sandbox).messages(CARSBOT_TARGET_CHANNEL) == []


async def test_telegram_429_defers_and_403_fails_with_an_alert(res, sandbox, channels, ctx, run_job):
    await channels()
    await store_post(ctx, message())
    await run_job("carsbot.process_post_task", post_id=1, _job_id="carsbot:process:1")
    await res.redis.delete("adolfd:carsbot:publishing")
    fake = telegram_fake(sandbox.sandbox)
    fake.set_chat_state(CARSBOT_TARGET_CHANNEL, "blocked")
    out = await run_job("carsbot.publish_post_task", post_id=1, _job_id="forbidden")
    assert out["result"]["status"] == "failed" and (await _post(res))["status"] == "failed"
    assert await res.db.fetchval("SELECT severity FROM alerts WHERE alert_type = 'PUBLISH_FAILED'") == "critical"



async def _ready_post(res, ctx, channels, run_job) -> None:
    await channels()
    await store_post(ctx, message())
    await run_job("carsbot.process_post_task", post_id=1, _job_id="carsbot:process:1")
    await res.redis.delete("adolfd:carsbot:publishing")


async def test_a_telegram_5xx_releases_the_claim_and_the_retry_publishes_once(res, sandbox, channels, ctx, run_job,
                                                                               run_queue):
    await _ready_post(res, ctx, channels, run_job)
    # 5xx with a Bot API body: Telegram did not post; the claim goes back and the job's retry policy applies
    sandbox.sandbox.add_fault("telegram", "5xx", path="sendMessage")
    await ctx.enqueue("carsbot.publish_post_task", post_id=1, _job_id="outage")
    await run_queue("carsbot", "publishing", max_burst_jobs=1)             # the first try only
    assert (await _post(res))["status"] == "ready"
    assert await res.redis.zscore("adolfd:carsbot:publishing", "outage") is not None    # its retry is queued
    assert telegram_fake(sandbox.sandbox).messages(CARSBOT_TARGET_CHANNEL) == []
    sandbox.sandbox.clear_faults("telegram")
    await asyncio.sleep(1.5)                                   # CARSBOT_RETRY's first delay
    await run_queue("carsbot", "publishing")
    assert (await _post(res))["status"] == "published"
    assert len(telegram_fake(sandbox.sandbox).messages(CARSBOT_TARGET_CHANNEL)) == 1


async def test_an_unreadable_answer_is_publish_unknown_and_never_resent(res, sandbox, channels, ctx, run_job):
    await _ready_post(res, ctx, channels, run_job)
    # 200 with a body that is not the Bot API's: it may have been posted, so it is never sent again by itself
    sandbox.sandbox.add_fault("telegram", "malformed_json", count=1, path="sendMessage")
    out = await run_job("carsbot.publish_post_task", post_id=1, _job_id="garbled")
    assert out["result"]["status"] == "publish_unknown"
    post = await _post(res)
    assert post["status"] == "publish_unknown" and "not a Bot API answer" in post["error"]
    assert await res.db.fetchval("SELECT severity FROM alerts WHERE alert_type = 'PUBLISH_UNKNOWN'") == "high"
    again = await run_job("carsbot.publish_post_task", post_id=1, _job_id="again")
    assert again["result"]["status"] == "skipped"
    assert telegram_fake(sandbox.sandbox).messages(CARSBOT_TARGET_CHANNEL) == []


async def test_a_revoked_token_fails_the_post_with_an_alert(res, sandbox, channels, ctx, run_job, monkeypatch):
    from pydantic import SecretStr

    await _ready_post(res, ctx, channels, run_job)
    revoked = res.settings.carsbot.bot_token.get_secret_value().split(":")[0] + ":revoked-by-botfather"
    monkeypatch.setattr(res.settings.carsbot, "bot_token", SecretStr(revoked))
    res.bot_apis.pop("carsbot", None)                  # built again, with the revoked token
    try:
        out = await run_job("carsbot.publish_post_task", post_id=1, _job_id="revoked")
    finally:
        res.bot_apis.pop("carsbot", None)
    assert out["result"]["status"] == "failed" and (await _post(res))["status"] == "failed"
    assert await res.db.fetchval("SELECT severity FROM alerts WHERE alert_type = 'PUBLISH_FAILED'") == "critical"
    assert "revoked-by-botfather" not in out["result"]["error"]
    assert telegram_fake(sandbox.sandbox).messages(CARSBOT_TARGET_CHANNEL) == []
