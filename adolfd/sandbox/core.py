"""The sandbox core: one aiohttp server faking every external API adolfd calls.

Each API lives in its own sub-application mounted at `/{api}` (`/ozon-seller`, ...), so pointing adolfd
at the sandbox is only a matter of base URLs. The core owns what every fake shares: a settable clock,
fault injection (5xx, 4xx refusals, timeouts, malformed bodies, 429 storms), per-(api, account, endpoint
class) token buckets with the real limits, counters of requests, responses and side effects (so a test can
prove nothing happened twice), and the `/_sandbox/*` control endpoints used by tests and the demo.

Every route of a fake is built with `endpoint(sandbox, api, handler, auth=..., limit=...)`: authentication
in the API's words, the account recorded in the request log, fault injection, the rate limit with the API's
own 429/420 — in one place, so no fake writes its own. A fake only supplies its `Auth`, its `RateLimit`
(usually `token_gate`) and handlers that raise `ApiError` (or a subclass) for refusals.
"""
from __future__ import annotations

import asyncio
import json
import math
import signal
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web

log = structlog.get_logger(__name__)

MSK = ZoneInfo("Europe/Moscow")

FAULT_MODES = ("5xx", "timeout", "malformed_json", "wrong_shape", "4xx", "429")
DEFAULT_TIMEOUT_HOLD = 30.0           # seconds a `timeout` fault holds a request: longer than any client timeout
DEFAULT_STORM_WAIT = 1.0              # seconds a `429` fault asks the client to wait


def request_key(name: str) -> Any:
    """A key for per-request storage: a typed `web.RequestKey` on aiohttp ≥ 3.13, the plain name before."""
    key_type = getattr(web, "RequestKey", None)
    return key_type(name, str) if key_type else name


ACCOUNT_KEY = request_key("sandbox_account")    # set by `endpoint`: the account the request is for
FAULT_KEY = request_key("sandbox_fault")        # the fault mode injected into the request
STORM_KEY = request_key("sandbox_storm")        # a `429` fault's wait, until the endpoint's rate gate refuses

# Builds an API's own error body for a status and message (Ozon: {code, message, details}).
ErrorBody = Callable[[int, str], Any]


def default_error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": message, "status": status}


class SandboxInputError(ValueError):
    """A control request (fault, limit, clock) that cannot be applied."""


class ApiError(Exception):
    """A refusal in the API's own words; `endpoint` answers it with the API's error body.

    `body` replaces the API's error body where one answer has its own shape (a 429 with `parameters`, an
    OAuth grant error); `headers` and `content_type` go with the answer as they are.
    """

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None, body: Any = None,
                 content_type: str = "application/json") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.body = body
        self.content_type = content_type


@dataclass(frozen=True)
class Caller:
    """Who a request is for, as an API's auth found it: the account the request log records and the rate
    gates count (a Client-Id, a business id, a bot id), and the sandbox brand owning it, if any."""

    account: str
    brand: str | None = None


# An API's authentication: the caller of a request, or an ApiError in the API's words.
Auth = Callable[[web.Request], Awaitable[Caller]]
# An endpoint's rate limit: takes the caller's tokens or raises the API's 429/420 ApiError; the context yields
# the headers every answer of the endpoint carries, and may hold state (requests in flight) until it exits.
RateLimit = Callable[[Caller, web.Request], AbstractAsyncContextManager[dict[str, str]]]
# The part of an endpoint that is the API's own: request and caller in, answer out (or an ApiError).
Handler = Callable[[web.Request, Caller], Awaitable[web.StreamResponse]]


# -- clock -------------------------------------------------------------------------------------------

class Clock:
    """Wall clock with an offset (and optional freeze) that tests set or advance.

    Rate gates run on `monotonic()`, which moves with every set/advance, so advancing the clock refills
    buckets without sleeping. It is kept near `time.monotonic()`'s small magnitude (not epoch seconds) so
    that a 0.1 s advance refills exactly 5 tokens of a 50 rps bucket.
    """

    def __init__(self) -> None:
        self._offset = 0.0                          # wall clock = time.time() + offset
        self._mono_offset = 0.0                     # monotonic = time.monotonic() + mono offset
        self._frozen_at: float | None = None        # epoch seconds while frozen
        self._frozen_mono: float | None = None

    def _epoch(self) -> float:
        if self._frozen_at is not None:
            return self._frozen_at
        return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._epoch(), tz=UTC)

    def monotonic(self) -> float:
        if self._frozen_mono is not None:
            return self._frozen_mono
        return time.monotonic() + self._mono_offset

    def set(self, when: datetime, *, frozen: bool = False) -> None:
        if when.tzinfo is None:
            raise SandboxInputError("clock time must carry a timezone")
        target = when.timestamp()
        mono = self.monotonic() + (target - self._epoch())
        self._offset = target - time.time()
        self._mono_offset = mono - time.monotonic()
        self._frozen_at = target if frozen else None
        self._frozen_mono = mono if frozen else None

    def advance(self, seconds: float) -> None:
        self._offset += seconds
        self._mono_offset += seconds
        if self._frozen_at is not None and self._frozen_mono is not None:
            self._frozen_at += seconds
            self._frozen_mono += seconds

    def reset(self) -> None:
        self._offset = self._mono_offset = 0.0
        self._frozen_at = self._frozen_mono = None

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None


# -- faults ------------------------------------------------------------------------------------------

@dataclass
class Fault:
    """An injected failure for the next `remaining` requests of `api` (None = until cleared), once the first `after`
    matching requests have been served as usual (a failure in the middle of a paged read).

    `path` limits it to request paths containing that substring. A `timeout` holds the request for
    `seconds`, then answers 504 — or, with `process=True`, serves it normally (the call reached the
    marketplace but the client had already given up: the case that tests duplicate side effects).
    A `429` is the endpoint's own rate-limit refusal (429, or Yandex Market's 420, with the API's headers)
    asking the client to wait `seconds`; the request spends no token and does nothing.
    """

    id: int
    api: str                       # an API name, or "*" for all
    mode: str                      # 5xx | timeout | malformed_json | wrong_shape | 4xx (a definitive 400) | 429
    remaining: int | None = None
    path: str | None = None
    seconds: float = DEFAULT_TIMEOUT_HOLD
    process: bool = False
    after: int = 0

    def matches(self, api: str, path: str) -> bool:
        if self.api not in ("*", api):
            return False
        return self.path is None or self.path in path


# -- rate gates --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limit:
    """Token bucket: `rate` requests per second refilled, at most `burst` stored."""

    rate: float
    burst: float


_TOKEN_EPSILON = 1e-9


@dataclass
class _Bucket:
    tokens: float
    last: float


# -- the sandbox -------------------------------------------------------------------------------------

@dataclass
class RequestRecord:
    at: str
    api: str
    method: str
    path: str
    query: str
    status: int
    account: str | None
    duration_ms: float
    fault: str | None = None


class Sandbox:
    """State shared by every fake API of one sandbox server."""

    def __init__(self, seed: int = 42, *, request_log_size: int = 10_000) -> None:
        self.seed = seed
        self.clock = Clock()
        self.faults: list[Fault] = []
        self._fault_ids = 0
        self.counters: dict[str, Counter[str]] = {}
        self.requests: deque[RequestRecord] = deque(maxlen=request_log_size)
        self._default_limits: dict[tuple[str, str], Limit] = {}
        self.limits: dict[tuple[str, str], Limit] = {}
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self._subapps: dict[str, web.Application] = {}
        self._error_bodies: dict[str, ErrorBody] = {}
        self._auths: dict[str, Auth] = {}
        self._states: dict[str, dict[str, Any]] = {}
        self._reset_hooks: list[Callable[[], None]] = []
        self.built = False

    # clock
    def now(self) -> datetime:
        """Current sandbox time, aware UTC."""
        return self.clock.now()

    def today(self) -> date:
        """The current Moscow calendar day: the marketplaces' reporting day and the catalogue's `day`."""
        return self.now().astimezone(MSK).date()

    def set_now(self, when: datetime, *, frozen: bool = False) -> None:
        self.clock.set(when, frozen=frozen)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    # counters
    def count(self, kind: str, key: str, n: int = 1) -> None:
        """Count an event, e.g. `count("bids_set", "ozon-performance:123:456")`."""
        self.counters.setdefault(kind, Counter())[key] += n

    def counter(self, kind: str, key: str) -> int:
        return self.counters.get(kind, Counter()).get(key, 0)

    def counters_snapshot(self) -> dict[str, dict[str, int]]:
        return {kind: dict(c) for kind, c in self.counters.items()}

    # faults
    def add_fault(
        self,
        api: str,
        mode: str,
        count: int | None = None,
        path: str | None = None,
        seconds: float | None = None,
        process: bool = False,
        after: int = 0,
    ) -> Fault:
        if mode == "malformed":
            mode = "malformed_json"
        if mode not in FAULT_MODES:
            raise SandboxInputError(f"unknown fault mode {mode!r}; expected one of {', '.join(FAULT_MODES)}")
        if api != "*" and api not in self._subapps:
            raise SandboxInputError(f"unknown api {api!r}; known: {', '.join(sorted(self._subapps)) or 'none'}")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise SandboxInputError("count must be a positive integer or null (until cleared)")
        if seconds is not None and (not isinstance(seconds, (int, float)) or seconds < 0):
            raise SandboxInputError("seconds must be a non-negative number")
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise SandboxInputError("after must be a non-negative integer")
        self._fault_ids += 1
        fault = Fault(
            id=self._fault_ids, api=api, mode=mode, remaining=count, path=path or None,
            seconds=float(seconds) if seconds is not None else
            DEFAULT_STORM_WAIT if mode == "429" else DEFAULT_TIMEOUT_HOLD,
            process=bool(process), after=after,
        )
        self.faults.append(fault)
        return fault

    def clear_faults(self, api: str | None = None) -> int:
        before = len(self.faults)
        self.faults = [f for f in self.faults if api is not None and f.api != api]
        return before - len(self.faults)

    def take_fault(self, api: str, path: str) -> Fault | None:
        """The first active fault for this request, consuming one of its uses."""
        for fault in self.faults:
            if fault.matches(api, path):
                if fault.after > 0:          # served as usual; a later fault may still match
                    fault.after -= 1
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    # rate gates
    def define_limit(self, api: str, endpoint_class: str, rate: float, burst: float) -> None:
        """Register the real default limit of an endpoint class (done by the API module's `install`)."""
        limit = _checked_limit(rate, burst)
        self._default_limits[(api, endpoint_class)] = limit
        self.limits[(api, endpoint_class)] = limit

    def set_limit(self, api: str, endpoint_class: str, rate: float | None, burst: float | None = None) -> Limit | None:
        """Change a limit at runtime; `rate=None` removes it (unlimited). Existing buckets restart full."""
        key = (api, endpoint_class)
        if rate is None:
            self.limits.pop(key, None)
            limit = None
        else:
            _checked_limit(rate, 1.0)
            limit = _checked_limit(rate, burst if burst is not None else max(1.0, rate))
            self.limits[key] = limit
        for bucket_key in [k for k in self._buckets if k[0] == api and k[2] == endpoint_class]:
            del self._buckets[bucket_key]
        return limit

    def gate(self, api: str, account: str, endpoint_class: str) -> float | None:
        """Take one token for (api, account, endpoint_class): None if allowed, else seconds to wait.

        A refusal is counted under `rate_limited` as `{api}:{endpoint_class}`; the API module turns it into
        its own 429/420 response.
        """
        limit = self.limits.get((api, endpoint_class))
        if limit is None:
            return None
        now = self.clock.monotonic()
        key = (api, account, endpoint_class)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=limit.burst, last=now)
        elapsed = now - bucket.last
        if elapsed > 0:
            bucket.tokens = min(limit.burst, bucket.tokens + elapsed * limit.rate)
        bucket.last = now
        if bucket.tokens >= 1.0 - _TOKEN_EPSILON:          # float rounding of the refill
            bucket.tokens = max(0.0, bucket.tokens - 1.0)
            return None
        self.count("rate_limited", f"{api}:{endpoint_class}")
        return (1.0 - bucket.tokens) / limit.rate

    # API registration
    def subapp(self, api: str, *, error_body: ErrorBody | None = None, auth: Auth | None = None) -> web.Application:
        """The sub-application mounted at `/{api}`, created once with the request-log middleware.

        `error_body` gives the API's own error JSON (refusals, injected 5xx, unknown paths); `auth` is how the
        API authenticates: the default of its `endpoint`s, also asked for the account of a request to an
        unknown path (the real gateways authenticate before routing).
        """
        if error_body is not None:
            self._error_bodies[api] = error_body
        if auth is not None:
            self._auths[api] = auth
        app = self._subapps.get(api)
        if app is None:
            if self.built:
                raise RuntimeError(f"sandbox app already built; cannot add api {api!r}")
            app = web.Application(middlewares=[_request_log_middleware(self, api)])
            self._subapps[api] = app
        return app

    def auth(self, api: str) -> Auth:
        """The API's authentication as given to `subapp`."""
        try:
            return self._auths[api]
        except KeyError:
            raise RuntimeError(f"api {api!r} has no auth; give one to subapp() or endpoint()") from None

    @property
    def apis(self) -> list[str]:
        return sorted(self._subapps)

    def error_body(self, api: str, status: int, message: str) -> Any:
        return self._error_bodies.get(api, default_error_body)(status, message)

    def error_response(self, api: str, status: int, message: str,
                       headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response(self.error_body(api, status, message), status=status, headers=headers)

    def refusal(self, api: str, error: ApiError) -> web.Response:
        """An ApiError as the API answers it: its own body unless the error brings one."""
        body = error.body if error.body is not None else self.error_body(api, error.status, error.message)
        return web.Response(status=error.status, text=json.dumps(body, ensure_ascii=False),
                            content_type=error.content_type, headers=error.headers)

    def state(self, api: str) -> dict[str, Any]:
        """Mutable per-API state (bids set, replies published …), emptied by `reset()`."""
        return self._states.setdefault(api, {})

    def on_reset(self, hook: Callable[[], None]) -> None:
        self._reset_hooks.append(hook)

    def reset(self) -> None:
        """Back to the start: clock, faults, counters, request log, buckets, limits, per-API state."""
        self.clock.reset()
        self.faults.clear()
        self.counters.clear()
        self.requests.clear()
        self._buckets.clear()
        self.limits = dict(self._default_limits)
        for api_state in self._states.values():
            api_state.clear()
        for hook in self._reset_hooks:
            hook()


SANDBOX_KEY = web.AppKey("sandbox", Sandbox)


def _checked_limit(rate: Any, burst: Any) -> Limit:
    for name, value in (("rate", rate), ("burst", burst)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise SandboxInputError(f"{name} must be a positive number")
    if burst < 1:
        raise SandboxInputError("burst must be at least 1")
    return Limit(rate=float(rate), burst=float(burst))


# -- middlewares -------------------------------------------------------------------------------------

def api_path(api: str, request: web.Request) -> str:
    """The request path as the real API sees it (without the sandbox's `/{api}` prefix)."""
    prefix = f"/{api}"
    path = request.path
    return (path[len(prefix):] or "/") if path.startswith(prefix) else path


def _request_log_middleware(sandbox: Sandbox, api: str) -> Any:
    """Every request of the API is counted and logged, unknown paths and dropped connections included."""

    @web.middleware
    async def request_log(request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                response = await _unrouted(sandbox, api, request, exc)
            status = response.status
            return response
        except asyncio.CancelledError:
            status = 499                  # the client went away before an answer
            raise
        finally:
            sandbox.count("requests", f"{api} {request.method} {api_path(api, request)}")
            sandbox.count("responses", f"{api} {status}")
            sandbox.requests.append(RequestRecord(
                at=sandbox.now().isoformat(),
                api=api,
                method=request.method,
                path=api_path(api, request),
                query=request.query_string,
                status=status,
                account=request.get(ACCOUNT_KEY),
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                fault=request.get(FAULT_KEY),
            ))
    return request_log


async def _unrouted(sandbox: Sandbox, api: str, request: web.Request, exc: web.HTTPException) -> web.Response:
    """An unknown path or method: the API's auth still runs first, then its own error body, not aiohttp's page."""
    auth = sandbox._auths.get(api)
    if auth is not None and not request.path.startswith(f"/{api}/_sandbox/"):
        try:
            request[ACCOUNT_KEY] = (await auth(request)).account
        except ApiError as refused:
            sandbox.count("auth_failed", api)
            return sandbox.refusal(api, refused)
    return sandbox.error_response(api, exc.status, exc.reason)


# -- the endpoint wrapper --------------------------------------------------------------------------------

@asynccontextmanager
async def _unlimited(caller: Caller, request: web.Request) -> AsyncIterator[dict[str, str]]:
    yield {}


def endpoint(sandbox: Sandbox, api: str, handler: Handler, *, auth: Auth | None = None,
             limit: RateLimit | None = None) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """One route of a fake API, wrapped in what every fake shares, in the order the real gateways apply it.

    1. `auth` (default: the API's, from `subapp`): the caller, recorded as the request's account, so the
       request log names the account of every authenticated request, faulted ones included; a refusal is
       counted under `auth_failed` and answered in the API's words.
    2. An injected fault, if one matches (before the rate limit: a held request spends no token). A `429`
       fault goes on to the limit, which refuses it as it refuses a caller out of tokens.
    3. `limit`: the caller's tokens, or the API's own 429/420 with its headers (a plain 429 with
       Retry-After where the endpoint has no token gate).
    4. `handler`; an ApiError it raises is answered with the API's error body. The limit's headers go on
       every answer.
    """

    async def served(request: web.Request, caller: Caller) -> web.StreamResponse:
        try:
            async with (limit or _unlimited)(caller, request) as headers:
                storm = request.pop(STORM_KEY, None)
                if storm is not None:             # a `429` fault on an endpoint without a token gate
                    raise ApiError(429, "Too Many Requests", headers={"Retry-After": retry_after_header(storm)})
                try:
                    response = await handler(request, caller)
                except ApiError as exc:
                    response = sandbox.refusal(api, exc)
                for name, value in headers.items():
                    response.headers.setdefault(name, value)
                return response
        except ApiError as refused:
            return sandbox.refusal(api, refused)

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            caller = await (auth or sandbox.auth(api))(request)
        except ApiError as refused:
            sandbox.count("auth_failed", api)
            return sandbox.refusal(api, refused)
        request[ACCOUNT_KEY] = caller.account
        fault = sandbox.take_fault(api, api_path(api, request))
        if fault is None:
            return await served(request, caller)
        if fault.mode == "429":
            request[FAULT_KEY] = fault.mode
            sandbox.count("faults", f"{api}:{fault.mode}")
            request[STORM_KEY] = fault.seconds
            return await served(request, caller)
        return await _faulted(sandbox, api, fault, request, lambda: served(request, caller))

    return handle


async def _faulted(sandbox: Sandbox, api: str, fault: Fault, request: web.Request,
                   serve_normally: Callable[[], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    request[FAULT_KEY] = fault.mode
    sandbox.count("faults", f"{api}:{fault.mode}")
    if fault.mode == "5xx":
        return sandbox.error_response(api, 503, "Internal error")
    if fault.mode == "4xx":
        # the marketplace refuses the request outright and does nothing with it
        return sandbox.error_response(api, 400, "Bad Request: refused by the sandbox")
    if fault.mode == "timeout":
        if fault.process:
            # the marketplace acts at once; only the answer is late, after the client has given up
            served = asyncio.ensure_future(serve_normally())
            response = await asyncio.shield(served)
            await asyncio.sleep(fault.seconds)
            return response
        await asyncio.sleep(fault.seconds)
        return sandbox.error_response(api, 504, "Gateway Timeout")
    if fault.mode == "malformed_json":
        return web.Response(status=200, text='{"result": {"items": [{"sku": 1, ', content_type="application/json")
    # wrong_shape: valid JSON no client model accepts (a list of strings where objects are expected)
    return web.json_response(["sandbox", "wrong_shape"], status=200)


def token_gate(sandbox: Sandbox, api: str, *classes: str,
               refuse: Callable[[str, float], ApiError],
               headers: Callable[[Caller, str], dict[str, str]] | None = None) -> RateLimit:
    """A RateLimit over the token buckets `classes`, taken in order (Ozon: the 50 rps gate, then the method's).

    `refuse(endpoint_class, wait)` words the refusal; `headers(caller, endpoint_class)` gives the headers of
    every answer (taken after the tokens, so "remaining" counts this request). A `429` fault on the request is
    refused by `refuse` as if the first limited class were out of tokens, waiting the fault's `seconds`.
    """

    @asynccontextmanager
    async def gate(caller: Caller, request: web.Request) -> AsyncIterator[dict[str, str]]:
        if STORM_KEY in request:
            limited = next((c for c in classes if (api, c) in sandbox.limits), None)
            if limited is not None:
                raise refuse(limited, request.pop(STORM_KEY))
        for endpoint_class in classes:
            wait = sandbox.gate(api, caller.account, endpoint_class)
            if wait is not None:
                raise refuse(endpoint_class, wait)
        yield headers(caller, classes[-1]) if headers and classes else {}

    return gate


def bearer_token(request: web.Request) -> str:
    """The token of an `Authorization` header, with or without the `Bearer ` prefix."""
    value = request.headers.get("Authorization", "").strip()
    return value[7:].strip() if value.lower().startswith("bearer ") else value


# -- control endpoints -------------------------------------------------------------------------------

async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise SandboxInputError(f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise SandboxInputError("body must be a JSON object")
    return body


def _control_error(exc: Exception) -> web.Response:
    return web.json_response({"error": str(exc)}, status=400)


def _control_routes(sandbox: Sandbox) -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get("/_sandbox/health")
    async def health(request: web.Request) -> web.Response:
        return web.json_response({
            "status": "ok", "seed": sandbox.seed, "now": sandbox.now().isoformat(), "apis": sandbox.apis,
        })

    @routes.get("/_sandbox/faults")
    async def list_faults(request: web.Request) -> web.Response:
        return web.json_response({"faults": [asdict(f) for f in sandbox.faults]})

    @routes.post("/_sandbox/faults")
    async def add_fault(request: web.Request) -> web.Response:
        try:
            body = await _json_body(request)
            unknown = set(body) - {"api", "mode", "count", "path", "seconds", "process", "after"}
            if unknown:
                raise SandboxInputError(f"unknown fields: {', '.join(sorted(unknown))}")
            if not isinstance(body.get("api"), str) or not isinstance(body.get("mode"), str):
                raise SandboxInputError("api and mode are required strings")
            fault = sandbox.add_fault(
                body["api"], body["mode"], count=body.get("count"), path=body.get("path"),
                seconds=body.get("seconds"), process=bool(body.get("process", False)),
                after=body.get("after", 0),
            )
        except SandboxInputError as exc:
            return _control_error(exc)
        return web.json_response({"fault": asdict(fault)})

    @routes.delete("/_sandbox/faults")
    async def clear_faults(request: web.Request) -> web.Response:
        return web.json_response({"cleared": sandbox.clear_faults(request.query.get("api"))})

    @routes.get("/_sandbox/counters")
    async def counters(request: web.Request) -> web.Response:
        return web.json_response(sandbox.counters_snapshot())

    @routes.get("/_sandbox/requests")
    async def requests(request: web.Request) -> web.Response:
        api = request.query.get("api")
        rows = [asdict(r) for r in sandbox.requests if api is None or r.api == api]
        return web.json_response({"requests": rows})

    @routes.post("/_sandbox/reset")
    async def reset(request: web.Request) -> web.Response:
        sandbox.reset()
        return web.json_response({"status": "reset", "now": sandbox.now().isoformat()})

    @routes.get("/_sandbox/limits")
    async def list_limits(request: web.Request) -> web.Response:
        return web.json_response({"limits": [
            {"api": api, "endpoint_class": cls, "rate": lim.rate, "burst": lim.burst}
            for (api, cls), lim in sorted(sandbox.limits.items())
        ]})

    @routes.post("/_sandbox/limits")
    async def set_limit(request: web.Request) -> web.Response:
        try:
            body = await _json_body(request)
            api, cls = body.get("api"), body.get("endpoint_class")
            if not isinstance(api, str) or not isinstance(cls, str):
                raise SandboxInputError("api and endpoint_class are required strings")
            if api not in sandbox.apis:
                raise SandboxInputError(f"unknown api {api!r}")
            if "rate" not in body:
                raise SandboxInputError("rate is required (requests per second, or null for unlimited)")
            limit = sandbox.set_limit(api, cls, body["rate"], body.get("burst"))
        except SandboxInputError as exc:
            return _control_error(exc)
        return web.json_response({
            "api": api, "endpoint_class": cls,
            "rate": limit.rate if limit else None, "burst": limit.burst if limit else None,
        })

    @routes.get("/_sandbox/clock")
    async def get_clock(request: web.Request) -> web.Response:
        return web.json_response({"now": sandbox.now().isoformat(), "frozen": sandbox.clock.frozen})

    @routes.post("/_sandbox/clock")
    async def set_clock(request: web.Request) -> web.Response:
        try:
            body = await _json_body(request)
            if "now" in body:
                try:
                    when = datetime.fromisoformat(str(body["now"]).replace("Z", "+00:00"))
                except ValueError as exc:
                    raise SandboxInputError(f"now is not an ISO 8601 time: {exc}") from exc
                sandbox.set_now(when, frozen=bool(body.get("frozen", False)))
            elif "advance_seconds" in body:
                seconds = body["advance_seconds"]
                if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                    raise SandboxInputError("advance_seconds must be a number")
                sandbox.advance(float(seconds))
            else:
                raise SandboxInputError("give now (ISO 8601 with offset) or advance_seconds")
        except SandboxInputError as exc:
            return _control_error(exc)
        return web.json_response({"now": sandbox.now().isoformat(), "frozen": sandbox.clock.frozen})

    return routes


def build_root_app(sandbox: Sandbox, modules: Iterable[Any]) -> web.Application:
    """Install every API module into `sandbox` and mount their sub-applications under one root app."""
    if sandbox.built:
        raise RuntimeError("this Sandbox already has an app; create a new Sandbox")
    modules = list(modules)
    for module in modules:
        module.install(sandbox)
    sandbox.built = True
    app = web.Application()
    app.add_routes(_control_routes(sandbox))
    for module in modules:       # a fake without an HTTP API (e.g. the watcher's agents) adds controls only
        if hasattr(module, "control_routes"):
            app.add_routes(module.control_routes(sandbox))
    for api in sandbox.apis:
        app.add_subapp(f"/{api}", sandbox._subapps[api])
    app[SANDBOX_KEY] = sandbox
    return app


# -- running -----------------------------------------------------------------------------------------

@dataclass
class RunningSandbox:
    """A sandbox server listening on `url`; `api_url("ozon-seller")` is the base URL for adolfd's settings."""

    url: str
    sandbox: Sandbox
    runner: web.AppRunner = field(repr=False)

    def api_url(self, api: str) -> str:
        return f"{self.url}/{api}"

    async def close(self) -> None:
        await self.runner.cleanup()

    async def __aenter__(self) -> RunningSandbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def start_sandbox(host: str = "127.0.0.1", port: int = 0, seed: int = 42) -> RunningSandbox:
    """Start the sandbox on host:port (0 = any free port) and return once it accepts connections."""
    from adolfd.sandbox import build_app

    sandbox = Sandbox(seed=seed)
    app = build_app(sandbox)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    return RunningSandbox(url=f"http://{url_host}:{bound_port}", sandbox=sandbox, runner=runner)


def serve(host: str = "127.0.0.1", port: int = 8900, seed: int = 42, *, database_url: str | None = None,
          settings: Any = None) -> None:
    """`adolfd sandbox`: serve until SIGINT/SIGTERM.

    With `database_url`, it also stands in for the 1C extractor: writes the `brain_*` extract at start and
    again each day at 06:00 Moscow time by the sandbox clock (seed 000 §8.5). With adolfd's `settings`, what
    runs beside the fakes runs too (`adolfd.sandbox.run_companions`: the watcher's agent fleet on its Redis).
    """
    from adolfd.process.event_loop import run_loop

    run_loop(_serve(host, port, seed, database_url, settings), getattr(settings, "event_loop", "auto"))


async def _serve(host: str, port: int, seed: int, database_url: str | None, settings: Any = None) -> None:
    from adolfd.process.heap import freeze_startup_heap
    from adolfd.sandbox import run_companions

    if database_url:
        from adolfd.sandbox.database import claim_database_url

        await claim_database_url(database_url)     # a sandbox database only (adolfd.sandbox.database)
    running = await start_sandbox(host, port, seed)
    companions = asyncio.create_task(run_companions(running.sandbox, settings)) if settings is not None else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    extractor = None
    if database_url:
        from adolfd.sandbox.brain import run_extractor

        extractor = asyncio.create_task(run_extractor(running.sandbox, database_url))
    freeze_startup_heap()      # the catalogue and accounts live as long as the process: no full collection walks them
    log.info("sandbox_started", url=running.url, seed=seed, apis=running.sandbox.apis,
             brain_extractor=database_url is not None)
    try:
        await stop.wait()
    finally:
        for task in (extractor, companions):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await running.close()
        log.info("sandbox_stopped", url=running.url)


def retry_after_header(seconds: float) -> str:
    """Whole seconds to wait, never 0 (a client sleeping 0 s would hammer the gate)."""
    return str(max(1, math.ceil(seconds)))


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
