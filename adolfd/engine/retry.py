"""Retry policies as the seeds state them (`max_retries`, `default_retry_delay`, exponential backoff)."""
from __future__ import annotations

from dataclasses import dataclass

from adolfd.errors import RateLimited, is_retryable


@dataclass(frozen=True)
class RetryPolicy:
    """`tries` is the number of retries after the first attempt (Celery's max_retries)."""

    tries: int = 0
    delay: float = 60.0
    backoff: float = 1.0
    max_delay: float = 3600.0

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt` (2 = first retry)."""
        retry_no = max(attempt - 1, 1)
        return min(self.delay * self.backoff ** (retry_no - 1), self.max_delay)

    def allows(self, attempt: int) -> bool:
        """Whether a failure on attempt `attempt` (1-based) may be retried."""
        return attempt <= self.tries

    def retries(self, exc: BaseException, attempt: int) -> bool:
        """Whether a failure with `exc` on attempt `attempt` is tried again: only a cause a retry can fix
        (adolfd.errors.is_retryable), and only while the policy has tries left."""
        return is_retryable(exc) and self.allows(attempt)

    def delay_after(self, exc: BaseException, attempt: int) -> float:
        """Seconds before the next attempt; never sooner than a rate-limited API asked."""
        delay = self.delay_before(attempt + 1)
        if isinstance(exc, RateLimited) and exc.retry_after:
            delay = max(delay, exc.retry_after)
        return delay

    def describe(self) -> str:
        if not self.tries:
            return "—"
        text = f"{self.tries} × {self.delay:g}s"
        return text + (f" ×{self.backoff:g}" if self.backoff != 1 else "")


NO_RETRY = RetryPolicy()
