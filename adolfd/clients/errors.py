"""The small exception hierarchy every external-API client raises."""
from __future__ import annotations


class ApiError(Exception):
    """An external API call failed; `api` names which one, `status` is the HTTP status if there was one."""

    retryable = False

    def __init__(self, message: str, *, api: str = "", status: int | None = None) -> None:
        super().__init__(f"{api}: {message}" if api else message)
        self.api = api
        self.status = status


class RateLimited(ApiError):
    """The API kept answering 429/420 after we waited as it asked."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class Unavailable(ApiError):
    """5xx, timeouts, connection errors: the API is down or overloaded; the job may retry later."""

    retryable = True


class BadResponse(ApiError):
    """The API answered something we cannot read (malformed JSON, wrong shape). Retrying will not fix it."""


class AuthError(ApiError):
    """Credentials missing, wrong, expired or lacking a role (401/403)."""


class Rejected(ApiError):
    """The API understood the request and refused it (4xx other than auth and rate limits)."""
