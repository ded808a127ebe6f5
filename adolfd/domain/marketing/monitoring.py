"""Seed 002 §7.4.2's alert thresholds: which monitoring figures are out of bounds right now.

| metric | threshold |
| bid_cycle_duration | > 5 min |   bid_cycle_errors | > 0 |   stats_collection_lag | > 20 min |
| api_errors_rate | > 5 % |        queue_length | > 100 |     worker_status | offline |

Each breach has a stable key (one open alert per key; the alert is resolved when the key is no longer breached).
A figure adolfd has not measured yet (no cycle, no stats run, no health check) raises nothing."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MonitoringRules:
    bid_cycle_max_seconds: float = 300.0
    bid_cycle_max_errors: int = 0
    stats_max_lag_minutes: float = 20.0
    api_max_error_percent: float = 5.0
    queue_max_length: int = 100


@dataclass(frozen=True)
class MonitoringSnapshot:
    bid_cycle_seconds: float | None = None
    bid_cycle_errors: int | None = None
    stats_lag_minutes: Mapping[str, float | None] = field(default_factory=dict)      # per marketplace
    api_error_percent: Mapping[str, float | None] = field(default_factory=dict)     # per marketplace
    queue_lengths: Mapping[str, int] = field(default_factory=dict)                  # per queue
    workers_alive: Mapping[str, bool] = field(default_factory=dict)                 # per queue


@dataclass(frozen=True)
class Breach:
    key: str                      # e.g. `stats_collection_lag:wb`
    metric: str
    severity: str
    message: str


def possible_keys(snapshot: MonitoringSnapshot) -> set[str]:
    """Every key this snapshot could breach: the ones not breached now are resolved."""
    return ({"bid_cycle_duration", "bid_cycle_errors"}
            | {f"stats_collection_lag:{m}" for m in snapshot.stats_lag_minutes}
            | {f"api_errors_rate:{m}" for m in snapshot.api_error_percent}
            | {f"queue_length:{q}" for q in snapshot.queue_lengths}
            | {f"worker_status:{q}" for q in snapshot.workers_alive})


def breaches(s: MonitoringSnapshot, rules: MonitoringRules = MonitoringRules()) -> list[Breach]:
    out: list[Breach] = []
    if s.bid_cycle_seconds is not None and s.bid_cycle_seconds > rules.bid_cycle_max_seconds:
        out.append(Breach("bid_cycle_duration", "bid_cycle_duration", "warning",
                          f"Bid cycle took {s.bid_cycle_seconds / 60:.1f} min (threshold "
                          f"{rules.bid_cycle_max_seconds / 60:g} min)"))
    if s.bid_cycle_errors is not None and s.bid_cycle_errors > rules.bid_cycle_max_errors:
        out.append(Breach("bid_cycle_errors", "bid_cycle_errors", "warning",
                          f"Last bid cycle had {s.bid_cycle_errors} errors"))
    for mp, lag in sorted(s.stats_lag_minutes.items()):
        if lag is not None and lag > rules.stats_max_lag_minutes:
            out.append(Breach(f"stats_collection_lag:{mp}", "stats_collection_lag", "warning",
                              f"Stats of {mp} last collected {lag:.0f} min ago (threshold "
                              f"{rules.stats_max_lag_minutes:g} min)"))
    for mp, rate in sorted(s.api_error_percent.items()):
        if rate is not None and rate > rules.api_max_error_percent:
            out.append(Breach(f"api_errors_rate:{mp}", "api_errors_rate", "warning",
                              f"{mp} API errors {rate:.1f} % of health checks in the last hour (threshold "
                              f"{rules.api_max_error_percent:g} %)"))
    for queue, length in sorted(s.queue_lengths.items()):
        if length > rules.queue_max_length:
            out.append(Breach(f"queue_length:{queue}", "queue_length", "warning",
                              f"Queue {queue} holds {length} jobs (threshold {rules.queue_max_length})"))
    for queue, alive in sorted(s.workers_alive.items()):
        if not alive:
            out.append(Breach(f"worker_status:{queue}", "worker_status", "critical",
                              f"No marketing worker is serving queue {queue}"))
    return out
