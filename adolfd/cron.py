"""The schedule: every periodic job of all five seeds in one table.

Each row keeps the seed's crontab expression verbatim, plus an exact second offset where a seed staggers
jobs with Celery's `countdown` (reputation polls). Modules not yet running are `enabled=False` and are
shown as such by `adolfd schedule`. `adolfd.engine.scheduler` turns the rows into `arq.cron.cron(...)` objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from adolfd.engine.retry import NO_RETRY, RetryPolicy
from adolfd.keys import QUEUE

MSK = ZoneInfo("Europe/Moscow")
UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class CronEntry:
    name: str                      # schedule name as the seed gives it (e.g. collect_stats_wb)
    module: str                    # logistic | watcher | marketing | reputation | carsbot
    queue: str                     # the module's queue (sync, brain, logic, high, default, ...)
    cron: str                      # 5-field crontab, minute hour day month weekday (0 = Sunday)
    job: str = ""                  # job function name; defaults to `name`
    kwargs: dict[str, Any] = field(default_factory=dict)
    second: int = 0                # exact second of the minute to fire at
    timeout: float = 300.0         # seconds: the hard limit (the job is cancelled)
    soft_timeout: float | None = None  # seconds: the job is told first (Celery's soft_time_limit)
    retry: RetryPolicy = NO_RETRY
    tz: ZoneInfo = MSK
    enabled: bool = True
    seed: str = ""                 # where the seed defines it, e.g. "000 §8.3"

    @property
    def job_name(self) -> str:
        return self.job or self.name

    @property
    def queue_name(self) -> str:
        return QUEUE.format(module=self.module, queue=self.queue)


# Seed 004 only says "automatic retry with exponential backoff" for every task: Celery's retry_backoff=True
# with its defaults (max_retries 3, 1 s doubling, capped at retry_backoff_max 600 s).
CARSBOT_RETRY = RetryPolicy(tries=3, delay=1.0, backoff=2.0, max_delay=600.0)


TABLE: tuple[CronEntry, ...] = (
    # -- logistic (seed 000 §8.3, §8.5) -------------------------------------------------------------
    CronEntry("sync_ozon_stocks",      "logistic", "sync",  "*/30 * * * *", retry=RetryPolicy(3, 120), seed="000 §8.3"),
    CronEntry("sync_ozon_analytics",   "logistic", "sync",  "0 5 * * *",    retry=RetryPolicy(2, 600), seed="000 §8.3"),
    CronEntry("sync_ozon_warehouses",  "logistic", "sync",  "0 2 * * 1",    retry=RetryPolicy(2, 180), seed="000 §8.3"),
    CronEntry("sync_brain_stocks",     "logistic", "brain", "30 6 * * *",   retry=RetryPolicy(2, 300), seed="000 §8.3"),
    CronEntry("check_brain_freshness", "logistic", "brain", "0 8 * * *",                               seed="000 §8.3"),
    CronEntry("cleanup_stock_history", "logistic", "brain", "0 3 1 * *",                               seed="000 §8.3"),
    CronEntry("generate_supply_tasks", "logistic", "logic", "0 7 * * *",    retry=RetryPolicy(1, 180), seed="000 §8.3"),
    CronEntry("auto_cancel_expired",   "logistic", "logic", "0 */6 * * *",                             seed="000 §8.3"),
    CronEntry("generate_alerts",       "logistic", "logic", "*/30 * * * *",                            seed="000 §8.3"),
    CronEntry("cleanup_old_data",      "logistic", "logic", "0 4 * * 0",                               seed="000 §8.3"),
    # -- watcher (seed 001 §7.2, §7.11; weekly rows from the §7.6 and §7.8 docstrings) --------------
    CronEntry("generate_daily_tasks",    "watcher", "default",  "30 20 * * *", retry=RetryPolicy(3, 300),
              timeout=600, seed="001 §7.2, §7.3"),
    CronEntry("check_alerts",            "watcher", "default",  "*/15 * * * *", retry=RetryPolicy(2, 60),
              timeout=300, seed="001 §7.2, §7.4"),
    CronEntry("sync_agent_status",       "watcher", "critical", "* * * * *",   retry=RetryPolicy(1, 180),
              timeout=50, seed="001 §7.2, §7.5"),
    CronEntry("consume_agent_events",    "watcher", "default",  "* * * * *",   timeout=58,
              kwargs={"seconds": 50.0}, seed="001 §7.5 (agent signals; docs/agents.md)"),
    CronEntry("cleanup_old_tasks",       "watcher", "default",  "0 3 * * *",   retry=RetryPolicy(2, 180),
              timeout=1800, seed="001 §7.2, §7.6"),
    CronEntry("cleanup_old_logs",        "watcher", "default",  "30 3 * * *",  retry=RetryPolicy(2, 180),
              timeout=1800, seed="001 §7.2, §7.6"),
    CronEntry("cleanup_resolved_alerts", "watcher", "default",  "45 3 * * 0",  timeout=1800,
              seed="001 §7.6 (weekly)"),
    CronEntry("cleanup_redis_keys",      "watcher", "default",  "15 4 * * *",  timeout=600,
              seed="001 §7.6 (no schedule given: daily after the night's clean-ups)"),
    CronEntry("calculate_priorities",    "watcher", "heavy",    "0 4 * * *",   retry=RetryPolicy(2, 180),
              timeout=2100, soft_timeout=1800, seed="001 §7.2, §7.7"),
    CronEntry("generate_daily_stats",    "watcher", "default",  "0 8 * * *",   seed="001 §7.2, §7.8"),
    CronEntry("generate_weekly_report",  "watcher", "default",  "0 9 * * 1",   seed="001 §7.8 (Mondays 09:00)"),
    CronEntry("check_cookies_validity",  "watcher", "critical", "30 19 * * *", seed="001 §7.2, §7.5"),
    CronEntry("office_heartbeat",        "watcher", "default",  "* * * * *",   timeout=50, seed="001 App. B.6"),
    # -- marketing (seed 002 §7.1) --------------------------------------------------------------------
    CronEntry("run_bid_cycle",      "marketing", "high",    "7,22,37,52 * * * *",  retry=RetryPolicy(2, 60),
              timeout=300, seed="002 §7.2.2"),
    CronEntry("collect_stats_wb",   "marketing", "default", "0,15,30,45 * * * *",  job="collect_stats",
              kwargs={"marketplace": "wb"},   retry=RetryPolicy(3, 60, 2.0), timeout=600,
              seed="002 §7.2.2"),
    CronEntry("collect_stats_ozon", "marketing", "default", "5,20,35,50 * * * *",  job="collect_stats",
              kwargs={"marketplace": "ozon"}, retry=RetryPolicy(3, 60, 2.0), timeout=600,
              seed="002 §7.2.2"),
    CronEntry("collect_stats_ym",   "marketing", "default", "10,25,40,55 * * * *", job="collect_stats",
              kwargs={"marketplace": "ym"},   retry=RetryPolicy(3, 60, 2.0), timeout=600,
              seed="002 §7.2.2"),
    CronEntry("check_budgets",      "marketing", "high",    "3,18,33,48 * * * *",  retry=RetryPolicy(2, 30),
              timeout=600, seed="002 §7.2.2, §7.6.1"),
    CronEntry("sync_campaigns",          "marketing", "default", "0 * * * *",   timeout=600,
              seed="002 §7.2.2"),
    CronEntry("check_api_health",        "marketing", "high",    "*/5 * * * *", timeout=120,
              seed="002 §7.2.2"),
    CronEntry("reconcile_bid_history",   "marketing", "default", "*/10 * * * *", second=30, timeout=300,
              seed="002 §7.3.1 bid history; adolfd sweep"),
    CronEntry("reconcile_bid_history_all", "marketing", "default", "40 4 * * *", job="reconcile_bid_history",
              kwargs={"whole_history": True}, timeout=1800,
              seed="002 §7.3.1 bid history; adolfd sweep of the whole history"),
    CronEntry("calculate_analytics",     "marketing", "low",     "0 1 * * *",   timeout=900,
              seed="002 §7.2.2"),
    CronEntry("aggregate_daily_stats",   "marketing", "low",     "30 0 * * *",  timeout=600,
              seed="002 §7.2.2"),
    CronEntry("aggregate_monthly_stats", "marketing", "low",     "0 2 1 * *",   timeout=600,
              seed="002 §7.2.2"),
    CronEntry("cleanup_old_stats",       "marketing", "low",     "0 3 * * *",   timeout=600,
              seed="002 §7.2.2"),
    # -- reputation (seed 003 §7.2) -------------------------------------------------------------------
    CronEntry("poll_wb_reviews",     "reputation", "default", "*/5 * * * *",    second=0,  retry=RetryPolicy(3, 60),
              timeout=600, seed="003 §7.2"),
    CronEntry("poll_wb_questions",   "reputation", "default", "*/5 * * * *",    second=50, retry=RetryPolicy(3, 60),
              timeout=600, seed="003 §7.2"),
    CronEntry("poll_ozon_reviews",   "reputation", "default", "1-56/5 * * * *", second=40, retry=RetryPolicy(3, 60),
              timeout=600, seed="003 §7.2"),
    CronEntry("poll_ozon_questions", "reputation", "default", "2-57/5 * * * *", second=30, retry=RetryPolicy(3, 60),
              timeout=600, seed="003 §7.2"),
    CronEntry("poll_ym_reviews",     "reputation", "default", "3-58/5 * * * *", second=20, retry=RetryPolicy(3, 60),
              timeout=600, seed="003 §7.2"),
    CronEntry("poll_ym_questions",   "reputation", "default", "4-59/5 * * * *", second=10, retry=RetryPolicy(3, 60),
              timeout=600, seed="003 §7.2"),
    CronEntry("retry_failed_publish",      "reputation", "default", "0 * * * *", timeout=600,
              seed="003 §7.2"),
    CronEntry("resume_stuck_items",        "reputation", "default", "*/2 * * * *", second=25, timeout=120,
              seed="003 §7.3 send_response; adolfd sweep"),
    CronEntry("calculate_daily_analytics", "reputation", "default", "0 1 * * *", timeout=600,
              seed="003 §7.2"),
    CronEntry("archive_old_items",         "reputation", "default", "0 2 * * *", timeout=600,
              seed="003 §7.2"),
    CronEntry("office_heartbeat",          "reputation", "default", "* * * * *", timeout=50,
              seed="003 App. B.5"),
    # -- carsbot (seed 004), UTC ----------------------------------------------------------------------
    CronEntry("sync_channels_task",       "carsbot", "sheets",     "* * * * *",    retry=CARSBOT_RETRY, timeout=1800,
              soft_timeout=1500, tz=UTC, seed="004 Периодические задачи"),
    CronEntry("sync_subscribers_task",    "carsbot", "sheets",     "*/5 * * * *",  retry=CARSBOT_RETRY, timeout=1800,
              soft_timeout=1500, tz=UTC, seed="004 Периодические задачи"),
    CronEntry("update_analytics_task",    "carsbot", "sheets",     "0 * * * *",    retry=CARSBOT_RETRY, timeout=1800,
              soft_timeout=1500, tz=UTC, seed="004 Периодические задачи"),
    CronEntry("check_subscriptions_task", "carsbot", "monitoring", "0 0 * * *",    retry=CARSBOT_RETRY, timeout=1800,
              soft_timeout=1500, tz=UTC, seed="004 Периодические задачи"),
    CronEntry("collect_stats_task",       "carsbot", "monitoring", "*/15 * * * *", retry=CARSBOT_RETRY, timeout=1800,
              soft_timeout=1500, tz=UTC, seed="004 Периодические задачи"),
    CronEntry("cleanup_old_results_task", "carsbot", "monitoring", "0 3 * * *",    retry=CARSBOT_RETRY, timeout=1800,
              soft_timeout=1500, tz=UTC, seed="004 Периодические задачи"),
)
