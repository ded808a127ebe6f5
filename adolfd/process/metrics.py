"""Prometheus figures of seed 000 §8.7, generalised to every module (label `module`), served on `/metrics`."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

JOB_RUNS = Counter("adolfd_job_runs_total", "Job runs by outcome", ["module", "job", "status"])
JOB_DURATION = Histogram(
    "adolfd_job_duration_seconds", "Job execution time", ["module", "job"],
    buckets=(0.01, 0.1, 1, 5, 10, 30, 60, 120, 300),
)
ACTIVE_JOBS = Gauge("adolfd_active_jobs", "Currently running jobs", ["module", "job"])
API_CALLS = Counter("adolfd_api_calls_total", "External API calls", ["api", "endpoint", "status"])
API_SECONDS = Histogram("adolfd_api_call_seconds", "External API call time", ["api", "endpoint"],
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
QUEUE_DEPTH = Gauge("adolfd_queue_depth", "Jobs waiting per queue", ["queue"])
CRON_LATENESS = Histogram("adolfd_cron_start_lateness_seconds", "Cron job start minus its fire time",
                          ["module"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5))
WORKER_UP = Gauge("adolfd_worker_up", "1 while the worker group runs", ["group"])

# seed 000 §8.7 specifics
SUPPLY_TASKS_GENERATED = Counter("adolfd_logistic_supply_tasks_generated_total", "Supply tasks by priority",
                                 ["priority"])
BRAIN_SYNC_RECORDS = Counter("adolfd_logistic_brain_sync_records_total", "brain_stock_balance rows by outcome",
                             ["status"])
BRAIN_FRESHNESS = Gauge("adolfd_logistic_brain_freshness_hours", "Hours since last brain_* load", ["table"])
BREAKER_OPEN = Gauge("adolfd_breaker_open", "1 while a circuit breaker is open", ["breaker"])


@dataclass(frozen=True)
class JobSeries:
    """One job's labelled series."""

    active: Gauge
    duration: Histogram
    succeeded: Counter
    retried: Counter
    failed: Counter


@functools.cache
def job_series(module: str, job: str) -> JobSeries:
    """Looked up once per job: `labels()` takes a lock and checks its values on every call, a few per cent of a
    short job's CPU when it ran four times a job."""
    return JobSeries(ACTIVE_JOBS.labels(module, job), JOB_DURATION.labels(module, job),
                     JOB_RUNS.labels(module, job, "success"), JOB_RUNS.labels(module, job, "retry"),
                     JOB_RUNS.labels(module, job, "failed"))


def api_call(api: str, endpoint: str, status: str, seconds: float) -> None:
    API_CALLS.labels(api, endpoint, status).inc()
    API_SECONDS.labels(api, endpoint).observe(seconds)
