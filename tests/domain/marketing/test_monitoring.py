"""Seed 002 §7.4.2 thresholds."""
from __future__ import annotations

from adolfd.domain.marketing.monitoring import MonitoringSnapshot, breaches, possible_keys


def test_everything_within_bounds_breaches_nothing() -> None:
    calm = MonitoringSnapshot(299.0, 0, {"wb": 20.0}, {"wb": 5.0}, {"high": 100}, {"high": True})
    assert breaches(calm) == []
    assert breaches(MonitoringSnapshot(None, None, {"wb": None}, {"wb": None})) == []    # nothing measured yet


def test_each_threshold_just_over_the_line() -> None:
    s = MonitoringSnapshot(301.0, 1, {"wb": 20.5, "ozon": 3.0}, {"ym": 5.1}, {"default": 101, "high": 0},
                           {"low": False, "high": True})
    found = {b.key: b for b in breaches(s)}
    assert set(found) == {"bid_cycle_duration", "bid_cycle_errors", "stats_collection_lag:wb", "api_errors_rate:ym",
                          "queue_length:default", "worker_status:low"}
    assert found["worker_status:low"].severity == "critical" and "queue low" in found["worker_status:low"].message
    assert "101 jobs" in found["queue_length:default"].message
    assert possible_keys(s) >= set(found) | {"stats_collection_lag:ozon", "queue_length:high", "worker_status:high"}
