"""Bot replies rendered from status data: problems first, healthy parts folded, always within Telegram's limit."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from adolfd.admin.bot.replies import MAX_REPLY, render_job, render_status, split_reply

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def status(**sections) -> dict:
    base = {
        "time": NOW.isoformat(),
        "queues": [
            {"queue": "adolfd:logistic:sync", "depth": 0, "ready": 0, "worker_alive": True, "running": 1,
             "complete": 5, "failed": 0},
            {"queue": "adolfd:marketing:high", "depth": 4, "ready": 4, "worker_alive": False, "running": 0,
             "complete": 0, "failed": 0},
            {"queue": "adolfd:carsbot:ai", "depth": 0, "ready": 0, "worker_alive": False, "running": 0,
             "complete": 0, "failed": 0},
        ],
        "cron": [
            {"module": "logistic", "job": "sync_ozon_stocks", "enabled": True, "overdue": True, "outcome": "success",
             "last_started": (NOW - timedelta(hours=2)).isoformat()},
            {"module": "logistic", "job": "generate_alerts", "enabled": True, "overdue": False, "outcome": "failed",
             "last_started": (NOW - timedelta(minutes=5)).isoformat()},
            {"module": "carsbot", "job": "sync_channels_task", "enabled": False, "overdue": False, "outcome": None,
             "last_started": None},
        ],
        "failed_jobs": {"open": 0, "newest": None},
    }
    return {**base, **sections}


def test_problems_are_named_and_idle_modules_are_not_noise() -> None:
    text = render_status(status(), MSK)
    assert "workers up on 1/3 queues · 1 running · 4 queued" in text
    assert "no worker for marketing (high 4)" in text
    assert "carsbot" not in text                          # no schedules, nothing queued: not a problem
    assert "⏰ logistic.sync_ozon_stocks overdue (last 2h ago)" in text
    assert "❌ logistic.generate_alerts last run failed" in text
    assert "✅ failed jobs: none" in text


def test_schedules_that_never_ran_are_not_called_on_time() -> None:
    cron = [{"module": "reputation", "job": "poll_wb_reviews", "enabled": True, "overdue": False,
             "outcome": "success", "last_started": (NOW - timedelta(minutes=3)).isoformat(), "never_run": False},
            {"module": "marketing", "job": "run_bid_cycle", "enabled": True, "overdue": False, "outcome": None,
             "last_started": None, "never_run": True}]
    text = render_status(status(cron=cron), MSK)
    assert "✅ schedules: 1 on time · 1 never run" in text
    assert "⏳ never run: marketing.run_bid_cycle" in text


def test_kill_switch_breakers_marketing_and_alerts() -> None:
    text = render_status(status(
        alerts={"last_pass": (NOW - timedelta(seconds=20)).isoformat(), "undelivered": 2, "last_24h": 9,
                "severe_24h": 1, "failing_chats": [{"chat_id": -100, "waiting": 2, "attempts": 3,
                                                    "error": "TelegramForbiddenError: bot was blocked"}]},
        bids={"bid_cycle": "PAUSED", "by": "telegram:ops", "since": NOW.isoformat(), "reason": "audit <wb>"},
        breakers=[{"breaker": "wb:review", "state": "open", "failures": 5, "retry_at": NOW.isoformat(),
                   "last_error": "HTTP 503"},
                  {"breaker": "ozon:review", "state": "closed", "failures": 0}],
        marketing={"bid_cycle_running": False, "bids_paused": None,
                   "last_bid_cycle": {"started_at": NOW.isoformat(), "status": "skipped", "reason": "kill_switch"},
                   "api_status": {"wb": {"status": "ok"}, "ozon": {"status": "error"}, "ym": {}}},
    ), MSK)
    assert "⚠️ alerts 24h: 9 (1 severe) · 2 waiting · bot delivered 20s ago" in text
    assert "chat -100: 2 waiting, TelegramForbiddenError: bot was blocked" in text
    assert "⏸ bid cycle PAUSED by telegram:ops since 10.03 12:00 — audit &lt;wb&gt; → /resume_bids" in text
    assert "⚠️ breakers:\n  🔴 wb:review: <b>open</b>, 5 failures, retry 10.03 12:00" in text
    assert "ozon:review" not in text                      # closed breakers are /breakers' business
    assert "⏸ bid cycle: last 10.03 12:00 skipped (kill_switch)" in text
    assert "⚠️ ad APIs: wb ok · ozon error" in text


def test_job_reply_shows_outcome() -> None:
    text = render_job({"job_id": "cron:x:1", "status": "complete", "function": "sync_ozon_stocks",
                       "queue": "adolfd:logistic:sync", "success": False, "tries": 3, "args": {},
                       "started": NOW, "finished": NOW, "result": "TimeoutError('exceeded 300s')"}, MSK)
    assert text.startswith("❌ <b>sync_ozon_stocks</b> · complete") and "try: 3" in text
    assert "logistic:sync" in text and "TimeoutError" in text


def test_split_reply_keeps_lines_and_the_limit() -> None:
    lines = [f"line {n} " + "x" * 90 for n in range(200)]
    parts = split_reply("\n".join(lines))
    assert len(parts) > 1 and all(len(p) <= MAX_REPLY for p in parts)
    assert "\n".join(parts).split("\n") == lines          # nothing lost, no line cut
    [cut] = split_reply("y" * (MAX_REPLY + 10))[:1]
    assert len(cut) == MAX_REPLY


def test_a_completed_bid_cycle_reads_as_healthy():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from adolfd.admin.bot.replies import render_marketing

    now = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    ok = render_marketing({"last_bid_cycle": {"status": "completed", "started_at": now.isoformat(),
                                               "bids_updated": 12, "errors": 0}}, now, ZoneInfo("Europe/Moscow"))
    failed = render_marketing({"last_bid_cycle": {"status": "failed", "started_at": now.isoformat()}}, now,
                              ZoneInfo("Europe/Moscow"))
    assert ok[0].startswith("✅") and "12 bids" in ok[0]
    assert failed[0].startswith("⚠️")
