"""Circuit breaker for marketplace polling (seed 003 §7.3 `_poll_items`; DOMAIN.md "Reputation").

One breaker per (platform, item type). Closed: every poll goes through. Five consecutive failures open it.
Open: polls return `circuit_open` without calling the API until the cool-down (5 minutes) has passed.
Half-open: exactly one poll (the probe) goes through; its success closes the breaker, its failure opens it
again for a fresh cool-down. Further polls while the probe runs are refused like an open breaker.

A probe whose worker died never reports back; after `probe_timeout` the next poll may probe instead, so a
killed worker cannot wedge the breaker half-open forever.

Pure: the state is a frozen value, every transition takes `now` and returns a new state. Where the state is
kept (Redis, shared by every worker and host) is the caller's business.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = 5
    cooldown: timedelta = timedelta(minutes=5)
    probe_timeout: timedelta = timedelta(minutes=10)  # a poll's own time limit is 5 min (seed 003 §7.4)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if self.cooldown <= timedelta(0) or self.probe_timeout <= timedelta(0):
            raise ValueError("cooldown and probe_timeout must be positive")


@dataclass(frozen=True)
class Breaker:
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0                      # consecutive failures
    opened_at: datetime | None = None      # when it last opened
    probe_started_at: datetime | None = None
    last_error: str = ""
    last_change: datetime | None = None

    def retry_at(self, policy: BreakerPolicy) -> datetime | None:
        """When an open breaker lets its probe through (for `adolfd status`)."""
        if self.state is BreakerState.OPEN and self.opened_at is not None:
            return self.opened_at + policy.cooldown
        return None

    # -- storage as a flat string mapping (a Redis hash) --------------------------------------------------
    def to_mapping(self) -> dict[str, str]:
        return {
            "state": self.state.value,
            "failures": str(self.failures),
            "opened_at": _iso(self.opened_at),
            "probe_started_at": _iso(self.probe_started_at),
            "last_error": self.last_error,
            "last_change": _iso(self.last_change),
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str | bytes, str | bytes]) -> Breaker:
        """Read a stored hash; an empty one is a fresh closed breaker."""
        d = {_text(k): _text(v) for k, v in data.items()}
        if not d:
            return cls()
        try:
            return cls(
                state=BreakerState(d.get("state") or "closed"),
                failures=int(d.get("failures") or 0),
                opened_at=_parse(d.get("opened_at")),
                probe_started_at=_parse(d.get("probe_started_at")),
                last_error=d.get("last_error", ""),
                last_change=_parse(d.get("last_change")),
            )
        except ValueError as exc:
            raise ValueError(f"stored circuit breaker state is unreadable: {d!r}") from exc


@dataclass(frozen=True)
class Admission:
    allowed: bool
    breaker: Breaker
    probe: bool = False  # this call is the half-open probe


def current_state(b: Breaker, now: datetime, policy: BreakerPolicy = BreakerPolicy()) -> BreakerState:
    """The state a reader should show: an open breaker past its cool-down is half-open."""
    if b.state is BreakerState.OPEN and b.opened_at is not None and now >= b.opened_at + policy.cooldown:
        return BreakerState.HALF_OPEN
    return b.state


def admit(b: Breaker, now: datetime, policy: BreakerPolicy = BreakerPolicy()) -> Admission:
    """May a poll call the API now? Moves open → half-open and claims the single probe."""
    if b.state is BreakerState.CLOSED:
        return Admission(True, b)
    if b.state is BreakerState.OPEN:
        if b.opened_at is not None and now < b.opened_at + policy.cooldown:
            return Admission(False, b)
        probing = replace(b, state=BreakerState.HALF_OPEN, probe_started_at=now, last_change=now)
        return Admission(True, probing, probe=True)
    # half-open: one probe at a time, unless the running probe is presumed dead
    if b.probe_started_at is None or now >= b.probe_started_at + policy.probe_timeout:
        return Admission(True, replace(b, probe_started_at=now, last_change=now), probe=True)
    return Admission(False, b)


def record_success(b: Breaker, now: datetime) -> Breaker:
    """Any success closes the breaker and forgets the failure streak."""
    if b.state is BreakerState.CLOSED and b.failures == 0:
        return b
    return Breaker(state=BreakerState.CLOSED, failures=0, last_error="", last_change=now)


def record_failure(b: Breaker, now: datetime, error: str, policy: BreakerPolicy = BreakerPolicy()) -> Breaker:
    """Closed: count; the threshold-th consecutive failure opens. Half-open: the probe failed, open again.

    A failure reported while open (a poll that started before the breaker opened) is counted but does not
    extend the cool-down.
    """
    error = error[:500]
    failures = b.failures + 1
    if b.state is BreakerState.HALF_OPEN:
        return Breaker(BreakerState.OPEN, failures, opened_at=now, last_error=error, last_change=now)
    if b.state is BreakerState.OPEN:
        return replace(b, failures=failures, last_error=error)
    if failures >= policy.failure_threshold:
        return Breaker(BreakerState.OPEN, failures, opened_at=now, last_error=error, last_change=now)
    return replace(b, failures=failures, last_error=error)


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
