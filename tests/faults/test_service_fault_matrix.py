"""The fakes behind logistic, carsbot, alerts and reputation × every fault the sandbox can inject (5xx, a timeout,
malformed JSON, a 200 with a body of the wrong shape, a 429 in the API's own words): what adolfd records stays true.
The advertising and feedback fakes have their matrix in `test_api_fault_matrix.py`.

- Ozon Seller (the logistic syncs: clusters, 28-day ordered units, FBO stock): each sync's request faulted once;
  the job ends complete (succeeded on its retry, or failed having written nothing), and a clean run then stores
  exactly what the marketplace has.
- Google Sheets (carsbot: the channels tab read, the analytics tab written): a 5xx, timeout or 429 is tried again
  within the call, an unreadable answer fails the job at once; a faulted write never reaches the sheet, so each
  write is applied once and, after the next run at the latest, the tab holds exactly the new rows.
- Telegram (alert delivery's sendMessage): a faulted send leaves the alert undelivered and its chat held; the next
  pass sends it once and records the message Telegram holds. A 429 storm on the workers' sender (a channel post)
  is waited out as Telegram's `parameters.retry_after` says: no request comes sooner.
- LLM (reputation analysis and drafting): an outage in any mode defers the items (one alert, none stranded); when
  it is back each item is analysed and drafted once.

Counted: jobs lost 0, effects twice 0, wrong rows 0.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from adolfd.engine.jobs import resolve
from adolfd.engine.retry import RetryPolicy
from adolfd.sandbox import catalog, feedback_feed
from adolfd.sandbox.accounts import BRANDS

pytestmark = [pytest.mark.slow, pytest.mark.faults]
MODES = ("5xx", "timeout", "malformed_json", "wrong_shape", "429")
TIMEOUT = 0.5                    # the client gives up after this; a `timeout` fault holds the request twice as long


def _short_timeouts(res) -> None:
    """The shortened timeout applies to new clients only: the process's shared ones take it here."""
    for http in res.http.values():
        http.timeout = httpx.Timeout(TIMEOUT)


@pytest.fixture
def quick(res, monkeypatch):
    """One HTTP attempt and a client that gives up after 0.5 s; each test shortens its jobs' retries."""
    monkeypatch.setattr(res.settings.http, "attempts", 1)
    monkeypatch.setattr(res.settings.http, "backoff", 0.01)
    monkeypatch.setattr(res.settings.http, "timeout", TIMEOUT)
    _short_timeouts(res)
    return res


# -- Ozon Seller: the logistic syncs ---------------------------------------------------------------------------

MSK = ZoneInfo("Europe/Moscow")
MOMENT = datetime(2026, 2, 16, 7, 0, tzinfo=MSK)
OZON_SYNCS = (("sync_ozon_warehouses", "/v1/cluster/list", "logistic_clusters"),
              ("sync_ozon_analytics", "/v1/analytics/data", "logistic_sales_analytics"),
              ("sync_ozon_stocks", "/v1/analytics/stocks", "cluster_stock_snapshots"))


async def _ozon_rows_match_the_marketplace(res, seed: int) -> None:
    clusters = await res.db.fetch("SELECT cluster_id FROM logistic_clusters WHERE is_active")
    assert sorted(r["cluster_id"] for r in clusters) == sorted(c.cluster_id for c in catalog.CLUSTERS)
    day = MOMENT.date()
    for brand in BRANDS:
        articles = catalog.articles(seed, brand)
        expected = {a.sku: round(catalog.avg_daily_sales(seed, a, day) * 28) for a in articles}
        units = await res.db.fetch("SELECT sku, ordered_units FROM logistic_sales_analytics WHERE brand_id = $1",
                                   brand)
        assert len(units) == len({r["sku"] for r in units})                              # none twice
        assert {r["sku"]: r["ordered_units"] for r in units} == {s: n for s, n in expected.items() if n}
        stocks = await res.db.fetch("SELECT sku, cluster_id, fbo_stock, in_transit FROM cluster_stock_snapshots "
                                    "WHERE brand_id = $1", brand)
        truth = {(a.sku, c): catalog.cluster_stock(seed, a, c, day) for a in articles for c in a.cluster_ids}
        assert len(stocks) == len(truth)                                                 # none lost, invented
        assert {(r["sku"], r["cluster_id"]): (r["fbo_stock"], r["in_transit"]) for r in stocks} == {
            key: (s.available, s.transit) for key, s in truth.items()}


@pytest.mark.parametrize("mode", MODES)
async def test_logistic_ozon_syncs_under_every_fault(res, sandbox, run_job, quick, at, monkeypatch, mode):
    from adolfd.settings import RateLimit

    at(MOMENT)
    fake = sandbox.sandbox
    # Ozon's one analytics request a minute, lifted on both sides: this test is about faults, not pacing
    monkeypatch.setitem(res.settings.rate_limits, "ozon_seller:analytics_data", RateLimit(rate=100, burst=100))
    fake.set_limit("ozon-seller", "analytics_data", 100, 100)
    outcome = {}
    for name, path, table in OZON_SYNCS:
        monkeypatch.setattr(resolve(f"logistic.{name}"), "retry", RetryPolicy(tries=2, delay=0.01))
        fake.add_fault("ozon-seller", mode, count=1, path=path, seconds=2 * TIMEOUT)
        result = await run_job(f"logistic.{name}")
        assert result["status"] == "complete", (name, result)                           # jobs lost: 0
        assert fake.faults == [] and fake.counter("faults", f"ozon-seller:{mode}") == len(outcome) + 1
        written = await res.db.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 — a table of this test
        assert result["success"] or written == 0, (name, result, written)                # never half-written
        outcome[name] = "ok" if result["success"] else f"failed after {result['tries']}"
    transient = mode in ("5xx", "timeout", "429")       # the job's retry gets through; an unreadable answer
    assert set(outcome.values()) == {"ok" if transient else "failed after 1"}, outcome   # fails at once
    for name, _, _ in OZON_SYNCS:                        # the next scheduled runs, clean
        assert (await run_job(f"logistic.{name}", _job_id=f"clean:{name}"))["success"]
    await _ozon_rows_match_the_marketplace(res, fake.seed)                               # wrong rows: 0
    print(mode, outcome)


# -- Google Sheets: carsbot's channels tab read, analytics tab written -----------------------------------------

CHANNELS = [["channel_id", "username", "title", "active"],
            ["-1001000000001", "@auto_msk", "Авто Москва", "да"],
            ["-1001000000002", "@auto_spb", "Авто СПб", "да"]]


@pytest.fixture
async def sheets_quick(quick, monkeypatch):
    """`quick`, with two tries per Sheets call (gspread-asyncio's loop, bounded) and a client built for it."""
    monkeypatch.setattr(quick.settings.http, "attempts", 2)
    quick.sheets = None                                  # built again with the short timeout
    yield quick
    if quick.sheets is not None:
        await quick.sheets.close()
    quick.sheets = None


@pytest.mark.parametrize("mode", MODES)
async def test_sheet_reads_and_writes_under_every_fault(res, sandbox, run_job, sheets_quick, monkeypatch, mode):
    from adolfd.sandbox.google_sheets import SPREADSHEET_ID, set_tab, tab_values

    fake = sandbox.sandbox
    transient = mode in ("5xx", "timeout", "429")       # tried again within the call; an unreadable answer fails
    for name in ("sync_channels_task", "update_analytics_task"):
        monkeypatch.setattr(resolve(f"carsbot.{name}"), "retry", RetryPolicy(tries=2, delay=0.01))
    set_tab(fake, SPREADSHEET_ID, "Каналы", CHANNELS)
    fake.add_fault("google-sheets", mode, count=1, path="/values/", seconds=2 * TIMEOUT)
    read = await run_job("carsbot.sync_channels_task")
    assert read["status"] == "complete" and fake.counter("faults", f"google-sheets:{mode}") == 1   # jobs lost: 0
    assert (read["success"], read["tries"]) == ((True, 1) if transient else (False, 1)), read
    if not read["success"]:
        assert await res.db.fetchval("SELECT count(*) FROM carsbot_channels") == 0      # nothing half-read
        assert (await run_job("carsbot.sync_channels_task", _job_id="clean-read"))["success"]
    rows = await res.db.fetch("SELECT channel_id, title, is_active FROM carsbot_channels ORDER BY channel_id")
    assert [(r["channel_id"], r["title"], r["is_active"]) for r in rows] == [
        (int(c[0]), c[2], True) for c in sorted(CHANNELS[1:], key=lambda c: int(c[0]))]  # wrong rows: 0

    tab = f"{SPREADSHEET_ID}:Аналитика"
    set_tab(fake, SPREADSHEET_ID, "Аналитика", [["stale"]] * 5)   # last hour's rows, more than this hour's
    fake.add_fault("google-sheets", mode, count=1, path="/values/", seconds=2 * TIMEOUT)
    wrote = await run_job("carsbot.update_analytics_task")
    assert wrote["status"] == "complete" and fake.counter("faults", f"google-sheets:{mode}") == 2
    assert (wrote["success"], wrote["tries"]) == ((True, 1) if transient else (False, 1)), wrote
    # the faulted call (the clear) never reached the sheet: only its retry, then the update, are applied
    assert fake.counter("sheets_writes", tab) == (2 if transient else 0), fake.counters_snapshot()
    if not wrote["success"]:
        assert (await run_job("carsbot.update_analytics_task", _job_id="clean-write"))["success"]
        assert fake.counter("sheets_writes", tab) == 2                                  # effects twice: 0
    assert tab_values(fake, SPREADSHEET_ID, "Аналитика") == [                           # none of the old rows
        ["date", "channel_id", "channel", "posts_received", "ads_found", "published", "rejected"]]


# -- Telegram: alert delivery's sendMessage; a storm on the workers' sender ------------------------------------

ALERT_CHAT = 111                 # an operator's private chat


@pytest.fixture
def alerting(quick, monkeypatch):
    """`quick`, alerts routed to one admin chat paced for tests, the admin Bot giving up after 0.5 s."""
    from adolfd.clients.telegram import telegram_bot
    from adolfd.sandbox.accounts import TELEGRAM_BOT
    from adolfd.settings import AlertChatSettings, OpsSettings, RateLimit

    monkeypatch.setitem(quick.settings.rate_limits, "telegram:chat", RateLimit(rate=100, burst=100))
    monkeypatch.setattr(quick.settings, "ops", OpsSettings(
        bot_token=TELEGRAM_BOT.token, alert_chats=[AlertChatSettings(chat_id=ALERT_CHAT, role="admin")],
        delivery_interval_seconds=3600))
    bot = telegram_bot(quick)
    monkeypatch.setattr(bot.session, "timeout", TIMEOUT)
    return bot


@pytest.mark.parametrize("mode", MODES)
async def test_alert_delivery_under_every_fault(res, sandbox, alerting, mode):
    from adolfd.admin.alert_delivery import deliver_pending
    from adolfd.admin.alerts import raise_alert
    from adolfd.sandbox.telegram import telegram_fake

    fake, telegram = sandbox.sandbox, telegram_fake(sandbox.sandbox)
    ids = [await raise_alert(res.db, module="logistic", alert_type="JOB_FAILED", severity="critical",
                             message=f"problem {n}") for n in range(2)]
    fake.add_fault("telegram", mode, count=1, path="sendMessage", seconds=2 * TIMEOUT)
    now = datetime.now(UTC)
    faulted = await deliver_pending(res.db, alerting, res.settings, now=now, redis=res.redis)
    assert fake.counter("faults", f"telegram:{mode}") == 1
    assert faulted.messages == 0 and ALERT_CHAT in faulted.failed_chats, faulted
    assert telegram.messages(ALERT_CHAT) == []
    rows = await res.db.fetch("SELECT * FROM alert_deliveries ORDER BY alert_id")
    assert [r["alert_id"] for r in rows] == ids                                          # jobs lost: 0
    assert all(r["delivered_at"] is None and r["message_id"] is None and r["attempts"] == 1 for r in rows)
    held = rows[0]["next_attempt_at"]                   # Telegram down or garbled: the next pass; a 429: later
    if mode == "429":                                    # Telegram's words: "retry after 1", parameters.retry_after
        assert held == now + timedelta(seconds=1) and "TelegramRetryAfter" in rows[0]["last_error"], rows[0]
        early = await deliver_pending(res.db, alerting, res.settings, now=now, redis=res.redis)
        assert early.messages == 0 and telegram.messages(ALERT_CHAT) == []              # not hammered
    else:
        assert held == now
    later = await deliver_pending(res.db, alerting, res.settings, now=held + timedelta(seconds=1),
                                  redis=res.redis)
    assert later.failed_chats == {} and later.messages == 1, later
    [digest] = telegram.messages(ALERT_CHAT)                                             # effects twice: 0
    assert all(f"problem {n}" in digest.text for n in range(2))
    rows = await res.db.fetch("SELECT * FROM alert_deliveries ORDER BY alert_id")
    assert all(r["delivered_at"] is not None and r["message_id"] == digest.message_id for r in rows)
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE delivered_at IS NULL") == 0   # wrong rows: 0


STORM = 2
STORM_WAIT = 2.0                 # whole seconds: Telegram's retry_after; a client assuming 1 s would come too soon


async def test_channel_post_through_a_telegram_429_storm(res, sandbox, run_job, run_queue, quick, monkeypatch):
    """Telegram's 429 is `{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after N",
    "parameters": {"retry_after": N}}`: the post is sent once, and never sooner than N seconds after a refusal."""
    from adolfd.engine.context import Ctx
    from adolfd.sandbox.environment import CARSBOT_TARGET_CHANNEL
    from adolfd.sandbox.google_sheets import SPREADSHEET_ID, set_tab
    from adolfd.sandbox.telegram import telegram_fake
    from adolfd.settings import RateLimit
    from adolfd.workers.carsbot.pipeline import store_post

    fake = sandbox.sandbox
    # a channel's 20 messages a minute, lifted on both sides: only the refusals' retry_after paces the sends
    monkeypatch.setitem(res.settings.rate_limits, "telegram:group", RateLimit(rate=100, burst=100))
    fake.set_limit("telegram", "group", 100, 100)
    set_tab(fake, SPREADSHEET_ID, "Каналы", CHANNELS)
    assert (await run_job("carsbot.sync_channels_task"))["success"]
    ad = "Продам Toyota Camry 2018 г.\nПробег 85 000 км\nЦена: 2 150 000 ₽\nг. Москва\n+7 (916) 123-45-67"
    await store_post(Ctx(res), {"message_id": 1, "chat": {"id": int(CHANNELS[1][0]), "type": "channel", "title": "c"},
                                "date": int(datetime(2026, 3, 1, 9, tzinfo=UTC).timestamp()), "text": ad})
    await run_queue("carsbot", "ai")
    await res.redis.delete("adolfd:carsbot:publishing")  # the pipeline's own publish job: this test runs it
    assert await res.db.fetchval("SELECT status FROM carsbot_posts WHERE id = 1") == "ready"
    fake.add_fault("telegram", "429", count=STORM, path="sendMessage", seconds=STORM_WAIT)
    since = len(fake.requests)
    out = await run_job("carsbot.publish_post_task", post_id=1)
    assert out["status"] == "complete" and out["success"], out                          # jobs lost: 0
    await run_queue("carsbot", "publishing")             # the deferred re-sends, as the worker runs them
    assert fake.faults == [] and fake.counter("faults", "telegram:429") == STORM
    sends = [r for r in list(fake.requests)[since:] if r.path.endswith("/sendMessage")]
    assert [r.status for r in sends] == [429] * STORM + [200], [(r.status, r.fault) for r in sends]
    for refused, following in zip(sends, sends[1:], strict=False):
        gap = (datetime.fromisoformat(following.at) - datetime.fromisoformat(refused.at)).total_seconds()
        assert gap >= STORM_WAIT - 0.1, (refused, following, gap)                       # waited as told
    [sent] = telegram_fake(fake).messages(CARSBOT_TARGET_CHANNEL)                        # effects twice: 0
    post = await res.db.fetchrow("SELECT status, published_message_ids FROM carsbot_posts WHERE id = 1")
    assert post["status"] == "published" and post["published_message_ids"] == [sent.message_id]


# -- LLM: reputation analysis and drafting ---------------------------------------------------------------------

@pytest.fixture
def llm_quick(quick, monkeypatch):
    """`quick`, the HTTP provider against the fake LLM, reputation jobs deferring on their first failure."""
    monkeypatch.setattr(quick.settings.llm, "provider", "http")
    for name in ("poll_wb_reviews", "analyze_item", "generate_response"):
        monkeypatch.setattr(resolve(f"reputation.{name}"), "retry", RetryPolicy(tries=1, delay=0.01))
    quick.llm = None
    yield quick
    quick.llm = None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stage", ["analyze", "generate"])
async def test_review_drafting_under_every_llm_fault(res, sandbox, run_job, run_queue, llm_quick, at, stage, mode):
    from adolfd.engine.enqueue import enqueue

    fake = sandbox.sandbox
    at(datetime.now(UTC).replace(microsecond=0))         # the stream stands still: what arrived is what is polled
    feedback_feed.configure(fake, "wb-feedbacks", backlog=1)
    expected = sum(len(feedback_feed.arrived(fake, "wb-feedbacks", "wb", b, "review")) for b in BRANDS)
    assert expected > 0
    if stage == "analyze":
        fake.add_fault("llm", mode, seconds=2 * TIMEOUT)                  # down until cleared
        await enqueue(res.redis, "reputation.poll_wb_reviews", {})
        await run_queue("reputation", "default")
    else:                      # one job at a time: the poll and every analysis get through, then it is down
        await enqueue(res.redis, "reputation.poll_wb_reviews", {})
        await run_queue("reputation", "default", max_jobs=1, max_burst_jobs=1 + expected)
        assert fake.counter("llm_completions", res.settings.llm.model) == expected
        fake.add_fault("llm", mode, seconds=2 * TIMEOUT)
        await run_queue("reputation", "default")

    async def items() -> list:
        return await res.db.fetch(
            "SELECT i.id, i.status, i.llm_deferrals, r.draft_text, r.generation FROM reputation_items i "
            "LEFT JOIN reputation_responses r ON r.item_id = i.id WHERE i.platform = 'wb' ORDER BY i.id")

    waiting = await items()
    assert len(waiting) == expected                                                      # stored, none lost
    status = "new" if stage == "analyze" else "analyzed"
    assert all(r["status"] == status and r["llm_deferrals"] == 1 and r["draft_text"] is None for r in waiting)
    assert fake.counter("faults", f"llm:{mode}") == expected                            # one try each, deferred
    assert await res.db.fetchval("SELECT count(*) FROM failed_jobs") == 0                # jobs lost: 0
    outage = await res.db.fetch("SELECT details FROM alerts WHERE alert_type = 'REPUTATION_LLM_OUTAGE' "
                                "AND resolved_at IS NULL")
    assert [a["details"]["stage"] for a in outage] == [stage]                           # one alert, not one each
    fake.clear_faults()                                  # the LLM is back; the next poll queues them again
    assert (await run_job("reputation.poll_wb_reviews", _job_id="after-outage"))["success"]
    done = await items()
    assert len(done) == expected                                                         # none invented
    assert all(r["status"] == "pending_review" and r["draft_text"] and r["generation"] == 1 for r in done)
    # each item analysed once and drafted once: the faulted calls never reached the model
    assert fake.counter("llm_completions", res.settings.llm.model) == 2 * expected      # effects twice: 0
    assert await res.db.fetchval("SELECT count(*) FROM alerts WHERE alert_type = 'REPUTATION_LLM_OUTAGE' "
                                 "AND resolved_at IS NULL") == 0
