"""Every error adolfd raises on purpose, and the one rule that decides whether a failed job is tried again.

The seeds give each job a retry policy (`max_retries`, `default_retry_delay`); a retry only helps when the
cause can go away by itself. This tree says which causes can:

    AdolfdError
     ├── BadConfiguration   a setting is malformed: the process refuses to start (exit 2), naming the variable
     ├── BadArguments       the arguments do not fit the job (unknown brand, marketplace, severity, a number
     │                       out of range, not JSON): refused at enqueue; never retried
     ├── UnknownJob         no job by that name: refused at enqueue
     ├── NotAllowed         not on the manual-run allow-list (seed 000 §8.9): refused at enqueue
     │    └── NotConfirmed      a manual run that deletes or cancels, without `--yes`
     ├── Permanent          no retry can fix it: fails at once into `failed_jobs`
     │    ├── UnknownBrand        a brand that is not configured
     │    ├── LegacyPickledJob    a job pickled by an earlier adolfd; re-enqueue it as JSON
     │    ├── AuthError *         401/403: credentials missing, wrong, expired or lacking a role
     │    ├── Rejected *          another 4xx: the API understood the request and refused it
     │    └── BadResponse *       a body we cannot read (malformed JSON, wrong shape)
     └── Transient          may pass by itself: retried by the job's policy
          ├── Unavailable *       5xx, timeouts, connection errors
          └── RateLimited *       429/420 after waiting as the API asked; `retry_after` when it said

    * also an ApiError (`api`, `status`): what every external-API client raises, so a caller that only
      cares "the marketplace call failed" catches ApiError, and the retry rule still sees which kind.

Exceptions outside the tree: timeouts and connection errors (`TimeoutError`, `OSError`, httpx transport
errors, Redis and PostgreSQL connection losses) are transient; anything else unknown is retried too — adolfd
does not know that it cannot succeed, and the policy bounds the tries.
"""
from __future__ import annotations


class AdolfdError(Exception):
    """Base of every error adolfd raises on purpose."""


class BadConfiguration(AdolfdError, ValueError):
    """A setting (environment, env file, systemd credential) is missing or malformed; the message names the
    variable, never its value."""


class BadArguments(AdolfdError, ValueError):
    """The arguments do not fit the job's signature or the configured values; never retried."""


class UnknownJob(AdolfdError, LookupError):
    """No job by that name (or the name is ambiguous between modules)."""


class NotAllowed(AdolfdError, PermissionError):
    """The job is not on the manual-run allow-list (seed 000 §8.9)."""


class NotConfirmed(NotAllowed):
    """A manual run of a job that deletes or cancels, without the operator's confirmation (`--yes`)."""


class Permanent(AdolfdError):
    """The same call fails the same way however often it is retried."""


class Transient(AdolfdError):
    """The cause may go away by itself (an outage, a rate limit); the job's retry policy applies."""


class UnknownBrand(Permanent, ValueError):
    """A brand id that settings do not configure (DOMAIN.md: `ohana_market`, `ohana_kids`, or `all`)."""


class LegacyPickledJob(Permanent, ValueError):
    """A job (or result) written with pickle by an adolfd before JSON jobs. It is never unpickled: whoever can
    write Redis could run code that way. `function` and `kwargs` are what could be read without unpickling."""

    def __init__(self, message: str, *, function: str | None = None,
                 kwargs: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.function = function
        self.kwargs = kwargs


class ApiError(AdolfdError):
    """An external API call failed; `api` names which one, `status` is the HTTP status if there was one.
    Raised only as one of its kinds below; a bare ApiError counts as permanent."""

    def __init__(self, message: str, *, api: str = "", status: int | None = None) -> None:
        super().__init__(f"{api}: {message}" if api else message)
        self.api = api
        self.status = status


class AuthError(Permanent, ApiError):
    """Credentials missing, wrong, expired or lacking a role (401/403)."""


class Rejected(Permanent, ApiError):
    """The API understood the request and refused it (4xx other than auth and rate limits)."""


class BadResponse(Permanent, ApiError):
    """The API answered something we cannot read (malformed JSON, wrong shape). Retrying will not fix it."""


class Unavailable(Transient, ApiError):
    """5xx, timeouts, connection errors: the API is down or overloaded; the job may retry later."""


class RateLimited(Transient, ApiError):
    """The API kept answering 429/420 after we waited as it asked."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


def is_retryable(exc: BaseException) -> bool:
    """The one rule: may a job that failed with `exc` succeed when tried again? (The tree above.)"""
    if isinstance(exc, Transient):
        return True
    return not isinstance(exc, AdolfdError)


__all__ = ["AdolfdError", "ApiError", "AuthError", "BadArguments", "BadConfiguration", "BadResponse",
           "LegacyPickledJob", "NotAllowed", "NotConfirmed", "Permanent", "RateLimited", "Rejected", "Transient",
           "Unavailable", "UnknownBrand", "UnknownJob", "is_retryable"]
