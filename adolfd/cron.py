"""The schedule: every periodic job of all five seeds in one table.

Each row keeps the seed's crontab expression verbatim, plus an exact second offset where a seed staggers
jobs with Celery's `countdown` (reputation polls). Modules not yet running are `enabled=False` and are
shown as such by `adolfd schedule`. `adolfd.scheduler` turns the rows into `arq.cron.cron(...)` objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from adolfd.retry import NO_RETRY, RetryPolicy

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
    timeout: float = 300.0         # seconds
    retry: RetryPolicy = NO_RETRY
    tz: ZoneInfo = MSK
    enabled: bool = True
    seed: str = ""                 # where the seed defines it, e.g. "000 §8.3"

    @property
    def job_name(self) -> str:
        return self.job or self.name

    @property
    def queue_name(self) -> str:
        return f"adolfd:{self.module}:{self.queue}"


TABLE: tuple[CronEntry, ...] = (
    # -- logistic (seed 000 §8.3, §8.5) -------------------------------------------------------------
    # -- watcher (seed 001) ---------------------------------------------------------------------------
    # -- marketing (seed 002 §7.1) --------------------------------------------------------------------
    # -- reputation (seed 003 §7.2) -------------------------------------------------------------------
    # -- carsbot (seed 004), UTC ----------------------------------------------------------------------
)
