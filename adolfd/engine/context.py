"""What a job receives: a typed view of ARQ's ctx over resources built once per worker process.

`Resources` holds the asyncpg pool, Redis, the rate limiter, one httpx client per external API, the clock and
settings; `Ctx` adds the job's identity and small conveniences. Jobs never open their own connections.
"""
from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, overload

import asyncpg
import httpx
import structlog
from arq.connections import ArqRedis

from adolfd.admin.alerts import raise_alert
from adolfd.clients.pacing import PacedLimiter
from adolfd.clients.ratelimit import RateLimiter
from adolfd.process.clock import Clock
from adolfd.settings import Settings

if TYPE_CHECKING:
    from aiogram import Bot

    from adolfd.clients.bot_api import BotApi
    from adolfd.clients.http import ApiClient
    from adolfd.clients.llm import LLMProvider
    from adolfd.clients.sheets import SheetsClient
    from adolfd.engine.jobs import JobSpec

C = TypeVar("C", bound="ApiClient")

@dataclass
class Resources:
    settings: Settings
    db: asyncpg.Pool
    redis: ArqRedis
    clock: Clock = field(default_factory=Clock)
    http: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    # Built on first use by their owners (adolfd.clients.llm, .telegram, .sheets), once per process:
    llm: LLMProvider | None = None
    bots: dict[str, Bot] = field(default_factory=dict)          # aiogram Bots of the bot processes ("admin")
    bot_apis: dict[str, BotApi] = field(default_factory=dict)   # workers' Bot API senders ("carsbot")
    sheets: SheetsClient | None = None
    # set when the process begins its drain (SIGTERM): a job that loops for a while by design ends its loop
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _clients: dict[tuple[type[ApiClient], str], ApiClient] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.redis)
        self.paced = PacedLimiter(self.limiter)     # every advertising client of the process shares its pacing

    def http_for(self, api: str, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
        """One shared client (connection pool) per API, created on first use."""
        if api not in self.http:
            self.http[api] = httpx.AsyncClient(
                base_url=getattr(self.settings.api_urls, api),
                timeout=self.settings.http.timeout,
                transport=transport,
                headers={"User-Agent": "adolfd/0.1"},
            )
        return self.http[api]

    @overload
    def client(self, api: type[C], brand: str) -> C: ...

    @overload
    def client(self, api: str, brand: str) -> ApiClient: ...

    def client(self, api: type[ApiClient] | str, brand: str) -> ApiClient:
        """The client for one brand's account on one API, built once; credentials from settings. Given the client
        class (`ctx.client(OzonSellerClient, brand)`) it is typed as that class; given a name, the class is the
        one a module's spec declares under it (`clients=lambda: {"ozon_seller": OzonSellerClient}`)."""
        if isinstance(api, str):
            from adolfd.modules import client_class

            api = client_class(api)
        key = (api, brand)
        if key not in self._clients:
            self._clients[key] = api.for_brand(self, brand)
        return self._clients[key]

    async def close(self) -> None:
        """Everything built for this process, closed once: bots' sessions, the sheets client, HTTP pools."""
        for bot in self.bots.values():
            await bot.session.close()
        self.bots.clear()
        self.bot_apis.clear()           # they share the httpx clients closed below
        if self.sheets is not None:
            await self.sheets.close()
            self.sheets = None
        for http in self.http.values():
            await http.aclose()
        self.http.clear()
        self._clients.clear()
        self.llm = None


class Ctx:
    """The job's view: `ctx.db`, `ctx.redis`, `ctx.settings`, `ctx.now()`, `ctx.brands()`, `ctx.client()`,
    `ctx.enqueue()`, `ctx.alert()`, `ctx.log`."""

    def __init__(self, res: Resources, *, job_id: str = "", job_try: int = 1, spec: JobSpec | None = None,
                 fire_time: datetime | None = None) -> None:
        self.res = res
        self.job_id = job_id
        self.job_try = job_try
        self.spec = spec
        self.fire_time = fire_time
        self.log = structlog.get_logger(f"adolfd.{spec.module}" if spec else "adolfd")
        self.soft_limit = asyncio.Event()    # set at the job's soft time limit (adolfd.engine.execution)
        self._background: set[asyncio.Task[Any]] = set()

    def background(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A task that lives no longer than the job: whatever way the job ends (returned, failed, timed out,
        cancelled), it is cancelled then, so work started ahead of the job's need never outlives it."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def end_background(self) -> None:
        """Cancel the job's background tasks that are still running (adolfd.engine.execution, at the job's end)."""
        for task in list(self._background):
            task.cancel()

    @property
    def past_soft_limit(self) -> bool:
        """True once the job's soft time limit has passed (Celery's SoftTimeLimitExceeded, asked for instead of
        raised): a long job checks it between chunks, saves what it has and returns before the hard limit."""
        return self.soft_limit.is_set()

    @property
    def stopping(self) -> bool:
        """True once this process has begun to stop (SIGTERM, drain): a job that reads or waits for a window of
        its own choosing (an event consumer's minute) ends it now and returns what it has, rather than hold the
        stop until the window ends or the drain hands it back."""
        return self.res.stopping.is_set()

    @property
    def settings(self) -> Settings:
        return self.res.settings

    @property
    def db(self) -> asyncpg.Pool:
        return self.res.db

    @property
    def redis(self) -> ArqRedis:
        return self.res.redis

    @property
    def limiter(self) -> RateLimiter:
        return self.res.limiter

    def now(self) -> datetime:
        """Aware 'now' in the configured timezone (Moscow by default)."""
        return self.res.clock.now().astimezone(self.settings.tz)

    def brands(self, brand_id: str = "all") -> list[str]:
        return self.settings.resolve_brands(brand_id)

    @overload
    def client(self, api: type[C], brand: str) -> C: ...

    @overload
    def client(self, api: str, brand: str) -> ApiClient: ...

    def client(self, api: type[ApiClient] | str, brand: str) -> ApiClient:
        return self.res.client(api, brand)

    async def enqueue(self, job: str, *, _job_id: str | None = None, _defer_by: float | None = None,
                      **kwargs: Any) -> str | None:
        """Enqueue another job (validated); a `_job_id` makes it happen once however often this is called."""
        from adolfd.engine.enqueue import enqueue

        queued = await enqueue(self.redis, job, kwargs, job_id=_job_id, defer_by=_defer_by,
                               brands=self.settings.brands)
        return queued.job_id if queued else None

    async def alert(self, alert_type: str, severity: str, message: str, *, brand_id: str | None = None,
                    dedup_key: str | None = None, **details: Any) -> int | None:
        return await raise_alert(self.db, module=self.spec.module if self.spec else "platform",
                                 alert_type=alert_type, severity=severity, message=message,
                                 brand_id=brand_id, details=details, dedup_key=dedup_key)

    async def last_success(self, job_key: str) -> datetime | None:
        """When `module.job` last finished successfully (any host), from the run book in Redis."""
        from adolfd.engine.runbook import last_success

        return await last_success(self.redis, job_key)
