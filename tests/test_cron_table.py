"""The schedule table against the seeds: crontab syntax, queues, the seed-000 summary table, staggered polls."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from adolfd.cron import MSK, TABLE, UTC, CronEntry
from adolfd.engine.retry import RetryPolicy
from croniter import croniter

ALLOWED_QUEUES = {
    "logistic": {"sync", "brain", "logic"},
    "watcher": {"default", "critical", "heavy"},
    "marketing": {"high", "default", "low"},
    "reputation": {"default"},
    "carsbot": {"default", "ai", "publishing", "sheets", "monitoring"},
}

SEED_OF = {"logistic": "000", "watcher": "001", "marketing": "002", "reputation": "003", "carsbot": "004"}

# seed 000 §8.5, "Сводная таблица": name -> (cron, queue, retry); a retry count without a delay is Celery's 180 s
LOGISTIC_SUMMARY = {
    "sync_ozon_stocks": ("*/30 * * * *", "sync", RetryPolicy(3, 120)),
    "sync_ozon_analytics": ("0 5 * * *", "sync", RetryPolicy(2, 600)),
    "sync_ozon_warehouses": ("0 2 * * 1", "sync", RetryPolicy(2, 180)),
    "sync_brain_stocks": ("30 6 * * *", "brain", RetryPolicy(2, 300)),
    "check_brain_freshness": ("0 8 * * *", "brain", RetryPolicy()),
    "cleanup_stock_history": ("0 3 1 * *", "brain", RetryPolicy()),
    "generate_supply_tasks": ("0 7 * * *", "logic", RetryPolicy(1, 180)),
    "auto_cancel_expired": ("0 */6 * * *", "logic", RetryPolicy()),
    "generate_alerts": ("*/30 * * * *", "logic", RetryPolicy()),
    "cleanup_old_data": ("0 4 * * 0", "logic", RetryPolicy()),
}

# every beat entry of seeds 001-004 (001 §7.11, 002 §7.1, 003 §7.1, 004 "Периодические задачи")
EXPECTED_NAMES = {
    "watcher": {
        "generate_daily_tasks", "check_alerts", "sync_agent_status", "cleanup_old_tasks", "cleanup_old_logs",
        "calculate_priorities", "generate_daily_stats", "check_cookies_validity", "office_heartbeat",
        # given only in docstrings (§7.6 weekly, §7.8 Mondays 09:00), the clean-up §7.6 leaves unscheduled,
        # and the agents' event stream (docs/agents.md)
        "cleanup_resolved_alerts", "generate_weekly_report", "cleanup_redis_keys", "consume_agent_events",
    },
    "marketing": {
        "run_bid_cycle", "collect_stats_wb", "collect_stats_ozon", "collect_stats_ym", "check_budgets",
        "sync_campaigns", "check_api_health", "calculate_analytics", "aggregate_daily_stats",
        "aggregate_monthly_stats", "cleanup_old_stats",
        "reconcile_bid_history",       # adolfd's own: bid history settled from the marketplaces (last day)
        "reconcile_bid_history_all",   # … and nightly, the whole history
    },
    "reputation": {
        "poll_wb_reviews", "poll_wb_questions", "poll_ozon_reviews", "poll_ozon_questions", "poll_ym_reviews",
        "poll_ym_questions", "retry_failed_publish", "calculate_daily_analytics", "archive_old_items",
        "office_heartbeat",
        "resume_stuck_items",          # adolfd's own: items whose jobs were lost resume within minutes
    },
    "carsbot": {
        "sync_channels_task", "sync_subscribers_task", "update_analytics_task", "check_subscriptions_task",
        "collect_stats_task", "cleanup_old_results_task",
    },
}

POLLS = [e for e in TABLE if e.module == "reputation" and e.name.startswith("poll_")]


def _row(module: str, name: str) -> CronEntry:
    rows = [e for e in TABLE if e.module == module and e.name == name]
    assert len(rows) == 1, f"{module}/{name}: {len(rows)} rows"
    return rows[0]


def _fires(entry: CronEntry, start: datetime, count: int) -> list[datetime]:
    """The next `count` fire times after `start`, seconds offset included."""
    it = croniter(entry.cron, start.replace(tzinfo=entry.tz))
    return [it.get_next(datetime) + timedelta(seconds=entry.second) for _ in range(count)]


@pytest.mark.parametrize("entry", TABLE, ids=lambda e: f"{e.module}/{e.name}")
def test_cron_parses_with_five_fields(entry: CronEntry) -> None:
    assert len(entry.cron.split()) == 5
    assert croniter.is_valid(entry.cron)
    assert 0 <= entry.second < 60
    assert entry.timeout > 0
    assert entry.seed.startswith(SEED_OF[entry.module] + " ")
    _fires(entry, datetime(2026, 1, 1), 3)


def test_names_unique_per_module() -> None:
    counts = Counter((e.module, e.name) for e in TABLE)
    assert [key for key, n in counts.items() if n > 1] == []


def test_office_heartbeat_in_watcher_and_reputation_every_minute() -> None:
    for module in ("watcher", "reputation"):
        row = _row(module, "office_heartbeat")
        assert row.cron == "* * * * *" and row.second == 0 and row.queue == "default"


@pytest.mark.parametrize("entry", TABLE, ids=lambda e: f"{e.module}/{e.name}")
def test_module_and_queue_allowed(entry: CronEntry) -> None:
    assert entry.queue in ALLOWED_QUEUES[entry.module]
    assert entry.queue_name == f"adolfd:{entry.module}:{entry.queue}"


def test_seed_000_summary_table() -> None:
    logistic = {e.name: e for e in TABLE if e.module == "logistic"}
    assert set(logistic) == set(LOGISTIC_SUMMARY)
    for name, (cron, queue, retry) in LOGISTIC_SUMMARY.items():
        row = logistic[name]
        assert (row.cron, row.queue, row.retry) == (cron, queue, retry), name
        assert row.job_name == name and row.second == 0 and row.timeout == 300  # task_time_limit=300
        assert row.enabled and row.tz is MSK


def test_celery_weekday_numbering() -> None:
    # Celery day_of_week=1 is Monday, 0 is Sunday (Python weekday(): Monday 0, Sunday 6)
    assert {d.weekday() for d in _fires(_row("logistic", "sync_ozon_warehouses"), datetime(2026, 1, 1), 5)} == {0}
    assert {d.weekday() for d in _fires(_row("logistic", "cleanup_old_data"), datetime(2026, 1, 1), 5)} == {6}
    assert {d.day for d in _fires(_row("logistic", "cleanup_stock_history"), datetime(2026, 1, 1), 5)} == {1}


def test_every_beat_entry_of_seeds_001_to_004_present() -> None:
    for module, names in EXPECTED_NAMES.items():
        assert {e.name for e in TABLE if e.module == module} == names, module


def test_every_row_names_a_job_of_its_module_on_its_queue() -> None:
    from adolfd.engine.jobs import catalog

    jobs = {spec.key: spec for spec in catalog().all_jobs()}
    missing = [e.name for e in TABLE if f"{e.module}.{e.job_name}" not in jobs]
    assert missing == []
    wrong_queue = [e.name for e in TABLE if jobs[f"{e.module}.{e.job_name}"].queue != e.queue]
    assert wrong_queue == []


def test_every_row_of_all_five_modules_is_on() -> None:
    assert [e.name for e in TABLE if not e.enabled] == []


def test_reputation_polls_six_distinct_offsets() -> None:
    assert len(POLLS) == 6
    start = datetime(2026, 3, 2, 10, 0)
    period = 300
    offsets = {}
    for row in POLLS:
        fires = _fires(row, start - timedelta(seconds=1), 24)  # two hours
        gaps = {(b - a).total_seconds() for a, b in zip(fires, fires[1:], strict=False)}
        assert gaps == {period}, row.name
        base = start.replace(tzinfo=row.tz)
        phases = {int((f - base).total_seconds()) % period for f in fires}
        assert len(phases) == 1, row.name
        offsets[row.name] = phases.pop()
        assert row.retry == RetryPolicy(3, 60), row.name  # task.retry(exc=e, countdown=60), max_retries=3
    assert offsets == {
        "poll_wb_reviews": 0, "poll_wb_questions": 50, "poll_ozon_reviews": 100,
        "poll_ozon_questions": 150, "poll_ym_reviews": 200, "poll_ym_questions": 250,
    }


def test_marketing_collect_stats_per_marketplace() -> None:
    rows = [e for e in TABLE if e.job_name == "collect_stats"]
    assert {e.name: e.kwargs for e in rows} == {
        "collect_stats_wb": {"marketplace": "wb"},
        "collect_stats_ozon": {"marketplace": "ozon"},
        "collect_stats_ym": {"marketplace": "ym"},
    }
    minutes = [{f.minute for f in _fires(e, datetime(2026, 1, 1), 8)} for e in rows]
    assert minutes == [{0, 15, 30, 45}, {5, 20, 35, 50}, {10, 25, 40, 55}]
    assert all(e.retry.backoff == 2.0 and e.retry.tries == 3 for e in rows)


def test_timezones() -> None:
    for entry in TABLE:
        assert entry.tz is (UTC if entry.module == "carsbot" else MSK), f"{entry.module}/{entry.name}"


def test_a_job_scheduled_by_one_module_has_a_name_no_other_module_uses() -> None:
    """`adolfd run JOB` finds a scheduled job by its name through its cron row, loading that module alone."""
    from adolfd.engine.jobs import catalog

    owners: dict[str, set[str]] = {}
    for spec in catalog().all_jobs():
        owners.setdefault(spec.name, set()).add(spec.module)
    scheduled: dict[str, set[str]] = {}
    for entry in TABLE:
        scheduled.setdefault(entry.job_name, set()).add(entry.module)
    shared = {name: modules for name, modules in scheduled.items() if len(modules) == 1 and len(owners[name]) > 1}
    assert shared == {}
