"""Base of every external-API client: one shared httpx client per API, the Redis rate limiter, 429 handling
and retries in one place (STYLE.md), errors mapped to `adolfd.clients.errors`.

A subclass sets `api`, adds its auth headers and its rate-limit reply parsing where the API differs, and offers
typed methods returning pydantic models.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

import httpx
import structlog
from pydantic import BaseModel, ValidationError

from adolfd.clients import json_wire
from adolfd.clients.errors import ApiError, AuthError, BadResponse, RateLimited, Rejected, Unavailable
from adolfd.clients.ratelimit import Limiter
from adolfd.process import metrics
from adolfd.settings import HttpSettings, RateLimit

if TYPE_CHECKING:
    from adolfd.engine.context import Resources

M = TypeVar("M", bound=BaseModel)
log = structlog.get_logger(__name__)

RATE_LIMIT_STATUSES = frozenset({429, 420})   # Yandex Market answers 420 "Enhance Your Calm"


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait a rate-limited reply asks for, from whichever header this API uses."""
    for header in ("Retry-After", "X-Ratelimit-Retry", "X-RateLimit-Retry"):
        value = response.headers.get(header)
        if not value:
            continue
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
            except (TypeError, ValueError):
                continue
    until = response.headers.get("X-RateLimit-Resource-Until")
    if until and response.status_code in RATE_LIMIT_STATUSES:
        try:
            return max(parsedate_to_datetime(until).timestamp() - time.time(), 0.0)
        except (TypeError, ValueError):
            return None
    return None


class PageBudget:
    """At most `http.max_pages` pages of one listing: `turn()` before each request, and one page too many is a
    BadResponse, so a server that repeats its cursor or never sends a short page cannot keep a job reading forever."""

    def __init__(self, api: str, what: str, max_pages: int) -> None:
        self.api, self.what, self.max_pages, self.pages = api, what, max_pages, 0

    def turn(self) -> None:
        self.pages += 1
        if self.pages > self.max_pages:
            log.warning("api_pages_exceeded", api=self.api, what=self.what, max_pages=self.max_pages)
            raise BadResponse(f"{self.what}: more than {self.max_pages} pages (ADOLFD_HTTP__MAX_PAGES); the server "
                              f"may be repeating its cursor", api=self.api)


class ApiClient:
    api: ClassVar[str] = ""

    def __init__(
        self,
        http: httpx.AsyncClient,
        limiter: Limiter,
        *,
        account: str,
        limits: Callable[[str], RateLimit],
        settings: HttpSettings | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.limiter = limiter
        self.account = account
        self._limits = limits
        self.settings = settings or HttpSettings()
        self._sleep = sleep

    # -- hooks for subclasses ---------------------------------------------------------------------------
    @classmethod
    def for_brand(cls, res: Resources, brand: str) -> Self:
        """The client of one brand's account, credentials from settings (`ctx.client`); LookupError if the brand
        has none. Each API's class says which credentials it needs."""
        raise LookupError(f"{cls.__name__} is not built from a brand's credentials")

    async def auth_headers(self) -> dict[str, str]:
        return {}

    async def on_auth_failure(self) -> bool:
        """Called on 401; return True if credentials were refreshed and the call may be repeated once."""
        return False

    def error_message(self, response: httpx.Response) -> str:
        text = response.text[:300]
        return f"HTTP {response.status_code}: {text}"

    # -- the one request path -------------------------------------------------------------------------
    def bucket(self, endpoint_class: str) -> str:
        return f"{self.api}:{self.account}:{endpoint_class}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        endpoint_class: str = "default",
        idempotent: bool = True,
        json_body: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        ok: Iterable[int] = (200, 201, 202, 204),
    ) -> httpx.Response:
        """Send under the shared rate limit; wait and repeat on 429/420; repeat idempotent calls on 5xx and
        timeouts with backoff. A non-idempotent call that timed out is NOT repeated: it may have happened."""
        ok = frozenset(ok)
        limit = self._limits(endpoint_class)
        bucket = self.bucket(endpoint_class)
        attempts = max(self.settings.attempts, 1)
        refreshed = False
        last_error: ApiError | None = None
        content = None if json_body is None else json_wire.encode(json_body)
        body_headers = {} if content is None else {"Content-Type": json_wire.CONTENT_TYPE}
        for attempt in range(1, attempts + 1):
            # built before the slot: between the limiter's stamp and the write, nothing but the send itself
            request = self.http.build_request(method, path, content=content, params=params,
                                              headers={**body_headers, **(await self.auth_headers()),
                                                       **(headers or {})})
            started = time.perf_counter()
            try:
                async with self.sending(bucket, limit):
                    started = time.perf_counter()
                    response = await self._send(request)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                metrics.api_call(self.api, endpoint_class, "transport_error", time.perf_counter() - started)
                last_error = Unavailable(f"{type(exc).__name__} on {method} {path}", api=self.api)
                if not idempotent and not isinstance(exc, httpx.ConnectError):
                    raise last_error from exc
                await self._backoff(attempt, attempts)
                continue
            metrics.api_call(self.api, endpoint_class, str(response.status_code), time.perf_counter() - started)
            status = response.status_code
            if status in ok:
                return response
            if status in RATE_LIMIT_STATUSES:
                wait = retry_after_seconds(response)
                wait = wait if wait is not None else self.settings.backoff * 2 ** (attempt - 1)
                last_error = RateLimited(self.error_message(response), api=self.api, status=status,
                                         retry_after=wait)
                log.warning("api_rate_limited", api=self.api, path=path, status=status, retry_after=wait)
                if wait > self.settings.max_retry_after or attempt == attempts:
                    raise last_error
                await self.limiter.penalise(bucket, wait, limit)
                continue
            if status == 401 and not refreshed and await self.on_auth_failure():
                refreshed = True
                continue
            if status in (401, 403):
                raise AuthError(self.error_message(response), api=self.api, status=status)
            if status >= 500:
                last_error = Unavailable(self.error_message(response), api=self.api, status=status)
                if not idempotent:
                    raise last_error
                await self._backoff(attempt, attempts)
                continue
            raise Rejected(self.error_message(response), api=self.api, status=status)
        assert last_error is not None
        raise last_error

    def page_budget(self, what: str) -> PageBudget:
        """Counts the pages of one listing; see PageBudget."""
        return PageBudget(self.api, what, self.settings.max_pages)

    @contextlib.asynccontextmanager
    async def sending(self, bucket: str, limit: RateLimit) -> AsyncIterator[None]:
        """One send's rate-limit slot, taken before it; a client with more to hold around a send (YM's requests
        in progress) wraps it."""
        await self.limiter.acquire(bucket, limit)
        yield

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """Send and read the body, at most `http.max_body_bytes` of it: a reply larger than any real page (a
        broken or hostile server) fails as BadResponse instead of filling the worker's memory."""
        cap = self.settings.max_body_bytes
        response = await self.http.send(request, stream=True)
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > cap:
                raise self._too_large(request, f"declares {int(declared)} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > cap:
                    raise self._too_large(request, f"went past {cap} bytes")
            response._content = bytes(body)      # what Response.aread() would have set: the body, read once
        finally:
            await response.aclose()
        return response

    def _too_large(self, request: httpx.Request, how: str) -> BadResponse:
        log.warning("api_response_too_large", api=self.api, path=request.url.path, cap=self.settings.max_body_bytes)
        return BadResponse(f"reply to {request.method} {request.url.path} {how}; the cap is "
                           f"{self.settings.max_body_bytes} bytes (ADOLFD_HTTP__MAX_BODY_BYTES)", api=self.api)

    async def _backoff(self, attempt: int, attempts: int) -> None:
        if attempt < attempts:
            await self._sleep(self.settings.backoff * 2 ** (attempt - 1))

    async def request_json(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.request(method, path, **kw)
        return self.decode(response)

    def decode(self, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return json_wire.decode(response.content)
        except ValueError as exc:
            raise BadResponse(
                f"malformed JSON from {response.request.method} {response.request.url.path}: "
                f"{response.text[:120]!r}", api=self.api, status=response.status_code,
            ) from exc

    async def parse_items(self, model: type[M], items: Any, *, what: str) -> list[M]:
        """`parse` each item of a listing, letting the event loop turn between items. Validation holds the GIL
        (a thread would not help): a campaign listing of 10 000 products validated at once stood the loop still
        for ~0.1 s, and paced requests of other jobs whose slots passed meanwhile left together."""
        if not isinstance(items, list):
            raise BadResponse(f"{what}: expected a list, got {type(items).__name__}", api=self.api)
        parsed = []
        for item in items:
            parsed.append(self.parse(model, item, what=what))
            await asyncio.sleep(0)
        return parsed

    def parse(self, model: type[M], data: Any, *, what: str = "") -> M:
        """Validate a reply against the model of what we read; a wrong shape is a BadResponse, never a KeyError."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise BadResponse(f"unexpected {what or model.__name__} shape at {where or '<root>'}: {first['msg']}",
                              api=self.api) from exc


__all__ = ["ApiClient", "ApiError", "AuthError", "BadResponse", "RateLimited", "Rejected", "Unavailable",
           "retry_after_seconds"]
