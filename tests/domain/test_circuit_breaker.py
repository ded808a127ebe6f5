"""Circuit breaker state machine (DOMAIN.md "Reputation"): closed → open → half-open → closed / open."""
from datetime import UTC, datetime, timedelta

import pytest
from adolfd.domain.circuit_breaker import (
    Breaker,
    BreakerPolicy,
    BreakerState,
    admit,
    current_state,
    record_failure,
    record_success,
)

T0 = datetime(2026, 2, 14, 10, 0, tzinfo=UTC)
POLICY = BreakerPolicy()


def fail(b: Breaker, times: int, at: datetime = T0) -> Breaker:
    for _ in range(times):
        b = record_failure(b, at, "HTTP 503")
    return b


def test_four_failures_keep_it_closed_and_fifth_opens():
    b = fail(Breaker(), 4)
    assert b.state is BreakerState.CLOSED and b.failures == 4
    assert admit(b, T0).allowed
    b = fail(b, 1)
    assert b.state is BreakerState.OPEN and b.opened_at == T0
    assert b.last_error == "HTTP 503"


def test_a_success_resets_the_streak():
    b = record_success(fail(Breaker(), 4), T0)
    b = fail(b, 4)
    assert b.state is BreakerState.CLOSED


def test_open_refuses_until_cooldown_then_admits_exactly_one_probe():
    b = fail(Breaker(), 5)
    just_before = T0 + timedelta(minutes=5) - timedelta(microseconds=1)
    assert not admit(b, just_before).allowed
    assert current_state(b, just_before) is BreakerState.OPEN
    at = T0 + timedelta(minutes=5)
    assert current_state(b, at) is BreakerState.HALF_OPEN
    first = admit(b, at)
    assert first.allowed and first.probe and first.breaker.state is BreakerState.HALF_OPEN
    second = admit(first.breaker, at + timedelta(seconds=1))
    assert not second.allowed


def test_probe_success_closes():
    probe = admit(fail(Breaker(), 5), T0 + timedelta(minutes=6)).breaker
    closed = record_success(probe, T0 + timedelta(minutes=6, seconds=2))
    assert closed.state is BreakerState.CLOSED and closed.failures == 0
    assert admit(closed, T0 + timedelta(minutes=6, seconds=3)).allowed


def test_probe_failure_reopens_for_a_fresh_cooldown():
    at = T0 + timedelta(minutes=6)
    probe = admit(fail(Breaker(), 5), at).breaker
    reopened = record_failure(probe, at + timedelta(seconds=2), "timeout")
    assert reopened.state is BreakerState.OPEN
    assert reopened.opened_at == at + timedelta(seconds=2)
    assert not admit(reopened, at + timedelta(minutes=5)).allowed
    assert admit(reopened, at + timedelta(minutes=5, seconds=2)).allowed


def test_a_dead_probe_is_replaced_after_probe_timeout():
    at = T0 + timedelta(minutes=5)
    probing = admit(fail(Breaker(), 5), at).breaker
    assert not admit(probing, at + POLICY.probe_timeout - timedelta(seconds=1)).allowed
    again = admit(probing, at + POLICY.probe_timeout)
    assert again.allowed and again.probe


def test_late_failure_while_open_does_not_extend_cooldown():
    b = fail(Breaker(), 5)
    later = record_failure(b, T0 + timedelta(minutes=3), "late")
    assert later.state is BreakerState.OPEN and later.opened_at == T0 and later.failures == 6


def test_custom_policy_threshold_and_cooldown():
    policy = BreakerPolicy(failure_threshold=2, cooldown=timedelta(seconds=30))
    b = record_failure(record_failure(Breaker(), T0, "x", policy), T0, "x", policy)
    assert b.state is BreakerState.OPEN
    assert admit(b, T0 + timedelta(seconds=30), policy).allowed
    assert b.retry_at(policy) == T0 + timedelta(seconds=30)


@pytest.mark.parametrize("threshold", [0, -1])
def test_policy_rejects_nonsense(threshold):
    with pytest.raises(ValueError):
        BreakerPolicy(failure_threshold=threshold)


def test_mapping_round_trip_and_empty_hash_is_closed():
    b = admit(fail(Breaker(), 5), T0 + timedelta(minutes=5)).breaker
    stored = {k.encode(): v.encode() for k, v in b.to_mapping().items()}  # as redis returns it
    assert Breaker.from_mapping(stored) == b
    assert Breaker.from_mapping({}) == Breaker()


def test_unreadable_mapping_is_a_clear_error():
    with pytest.raises(ValueError, match="unreadable"):
        Breaker.from_mapping({"state": "sideways"})


def test_long_errors_are_truncated():
    assert len(record_failure(Breaker(), T0, "x" * 5000).last_error) == 500
