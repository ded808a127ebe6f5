"""A simulated fleet of watcher parsing agents speaking the Redis protocol of docs/agents.md.

Prices are deterministic (a hash of the SKU), with scripted behaviour per SKU: `drop` (the competitor's price
falls 20 % on the second parse), `dumping` (the competitor sells 20 % below our base price), `out_of_stock`
(in stock on the first parse, then not). Each agent has switches for the faults adolfd must survive:
`silent` (takes a task, reports it started, then never speaks again), `panic` (PANIC with its IP on the next
task), `cookies_invalid`, `slow` (seconds per task), `malformed` (sends a broken event first), `duplicate`
(sends every event twice with the same id), `unknown_task` (reports a task that does not exist) and
`fail_until_third` (a task fails on its first two tries).

Tests drive agents step by step (`await agent.work_one()`). `adolfd sandbox` and `adolfd demo` run a fleet of
`settings.watcher.sandbox_agents_per_marketplace` agents per marketplace as loops (`run_alongside`), each with its
own task, on the demo's scripted catalogue (`DEMO_*`, seeded by `seed_demo_catalogue`). Its switches are set
in the running sandbox: `GET /_sandbox/watcher-agents` lists the agents, `POST /_sandbox/watcher-agents`
with `{"agent": "ozon-1", "panic": true}` sets switches (`"revive": true` brings a silent or panicked agent
back); `POST /_sandbox/reset` turns every switch off.
"""
from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from adolfd.keys import WATCHER_CLAIMED as CLAIMED
from adolfd.keys import WATCHER_EVENTS as EVENTS
from adolfd.keys import WATCHER_IP_BLOCKED as IP_BLOCKED
from adolfd.keys import WATCHER_TASK_PAYLOAD as TASK_PAYLOAD
from adolfd.keys import WATCHER_TASK_QUEUE as TASK_QUEUE

MARKETS = ("wildberries", "ozon", "yandex_market")
log = structlog.get_logger("adolfd.sandbox")


def base_price(sku: str) -> Decimal:
    """A stable price between 500 and 5000 ₽ for a SKU."""
    digest = int(hashlib.sha256(sku.encode()).hexdigest()[:8], 16)
    return Decimal(500 + digest % 4500)


@dataclass
class PriceScript:
    """Scripted competitor behaviour by competitor SKU; `ours` maps a competitor SKU to our base price."""

    drop: set[str] = field(default_factory=set)
    dumping: dict[str, Decimal] = field(default_factory=dict)     # competitor sku -> our price
    out_of_stock: set[str] = field(default_factory=set)
    parses: dict[str, int] = field(default_factory=dict)
    changes_from: int = 2         # the parse from which a drop or a stock-out shows (1: at once, demo)

    def regular_price(self, sku: str) -> Decimal:
        """The price before any scripted change: the SKU's own, or 20 % under ours for a dumping competitor."""
        if sku in self.dumping:
            return (self.dumping[sku] * Decimal("0.80")).quantize(Decimal("0.01"))
        return base_price(sku)

    def quote(self, sku: str) -> dict[str, Any]:
        n = self.parses[sku] = self.parses.get(sku, 0) + 1
        price = self.regular_price(sku)
        if sku in self.drop and n >= self.changes_from:
            price = (price * Decimal("0.80")).quantize(Decimal("0.01"))
        if sku in self.out_of_stock and n >= self.changes_from:
            return {"in_stock": False}
        return {"in_stock": True, "price": float(price), "old_price": float(price * Decimal("1.25")),
                "discount_percent": 20}


@dataclass
class Switches:
    silent: bool = False
    panic: bool = False
    cookies_invalid: bool = False
    slow: float = 0.0
    malformed: bool = False
    duplicate: bool = False
    unknown_task: bool = False
    fail_until_third: bool = False


class SimAgent:
    def __init__(self, redis: Redis, name: str, market: str, script: PriceScript, *, ip: str = "198.51.100.1",
                 now: Callable[[], datetime] | None = None) -> None:
        self.redis = redis
        self.name = name
        self.market = market
        self.script = script
        self.ip = ip
        self.now = now or (lambda: datetime.now(UTC))
        self.switches = Switches()
        self.dead = False
        self._ids = itertools.count(1)
        self._tries: dict[int, int] = {}

    async def send(self, kind: str, **fields: Any) -> str:
        event_id = f"{self.name}:{next(self._ids):06d}"
        body = json.dumps({"type": kind, "event_id": event_id, "agent": self.name, "ts": self.now().isoformat(),
                           **fields})
        for _ in range(2 if self.switches.duplicate else 1):
            await self.redis.xadd(EVENTS, {"event": body})
        return event_id

    async def heartbeat(self) -> None:
        if not self.dead:
            await self.send("heartbeat", marketplace=self.market, ip=self.ip)

    async def work_one(self) -> int | None:
        """Take one task and report it, as the switches say; returns the task id (None: queue empty or dead)."""
        if self.dead:
            return None
        s = self.switches
        if s.malformed:
            s.malformed = False
            await self.redis.xadd(EVENTS, {"event": b'{"type": "price_result", "event_id": '})
        if s.unknown_task:
            s.unknown_task = False
            await self.send("task_started", task_id=987654321)
        if s.cookies_invalid:
            s.cookies_invalid = False
            await self.send("cookies_invalid", reason="session expired")
        raw = await self.redis.lmove(TASK_QUEUE.format(marketplace=self.market), CLAIMED.format(agent=self.name),
                                     "LEFT", "RIGHT")
        if raw is None:
            return None
        task_id = int(raw)
        payload = await self.redis.hgetall(TASK_PAYLOAD.format(task_id=task_id))  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
        if s.panic:
            self.dead = True
            await self.send("panic", reason="captcha", ip=self.ip, message="captcha on every page")
            return task_id
        await self.send("task_started", task_id=task_id)
        if s.silent:
            self.dead = True            # gone mid-task: no result, no heartbeat ever again
            return task_id
        if s.slow:
            await asyncio.sleep(s.slow)
        tries = self._tries[task_id] = self._tries.get(task_id, 0) + 1
        if s.fail_until_third and tries < 3:
            await self.send("task_failed", task_id=task_id, error=f"timeout loading page (try {tries})")
            return task_id
        await self.send("price_result", task_id=task_id, **self.script.quote(payload[b"sku"].decode()))
        return task_id


class Fleet:
    """N agents per marketplace, named `{market}-{i}`."""

    def __init__(self, redis: Redis, per_market: int = 2, script: PriceScript | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.script = script or PriceScript()
        self.agents = [SimAgent(redis, f"{m}-{i}", m, self.script, ip=f"198.51.100.{10 * k + i}", now=now)
                       for k, m in enumerate(MARKETS, 1) for i in range(1, per_market + 1)]

    def agent(self, name: str) -> SimAgent:
        return next(a for a in self.agents if a.name == name)

    async def heartbeat(self) -> None:
        for agent in self.agents:
            await agent.heartbeat()

    async def work_all(self) -> int:
        """Round-robin until every live agent finds its queue empty; returns tasks taken."""
        taken = 0
        while True:
            round_taken = 0
            for agent in self.agents:
                if await agent.work_one() is not None:
                    round_taken += 1
            taken += round_taken
            if not round_taken:
                return taken


async def agent_loop(agent: SimAgent, *, heartbeat_every: float = 30.0, idle_wait: float = 1.0) -> None:
    """One agent as a real one runs: a heartbeat every `heartbeat_every` s, a task whenever one waits, never
    from a blocked IP (docs/agents.md §1); silent or panicked it does nothing until revived."""
    loop = asyncio.get_running_loop()
    next_beat = 0.0
    while True:
        if agent.dead:
            next_beat = 0.0
            await asyncio.sleep(idle_wait)
            continue
        try:
            if loop.time() >= next_beat:
                await agent.heartbeat()
                next_beat = loop.time() + heartbeat_every
            if await agent.redis.exists(IP_BLOCKED.format(ip=agent.ip)) or await agent.work_one() is None:
                await asyncio.sleep(idle_wait)
        except (RedisConnectionError, OSError) as exc:       # Redis restarting: wait, as a real agent would
            log.warning("watcher_sim_agent_redis_error", agent=agent.name, error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(max(idle_wait, 1.0) * 5)


async def run_fleet(fleet: Fleet, *, heartbeat_every: float = 30.0, idle_wait: float = 1.0) -> None:
    """Every agent of the fleet in its own loop (a slow agent holds up no other) until cancelled."""
    loops = [asyncio.create_task(agent_loop(a, heartbeat_every=heartbeat_every, idle_wait=idle_wait))
             for a in fleet.agents]
    try:
        await asyncio.gather(*loops)
    finally:
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)


# -- the demo's catalogue: one product per marketplace, each scripted behaviour once ----------------------------
DEMO_BRAND = "ohana_market"
DEMO_PRODUCTS = (("DEMO-OM-1", "ozon"), ("DEMO-WB-1", "wb"), ("DEMO-YM-1", "ym"))
# (our sku, marketplace, competitor sku, priority); the competitor SKU names the script it follows
DEMO_COMPETITORS = (("DEMO-OM-1", "ozon", "DEMO-C-DROP", 90), ("DEMO-OM-1", "ozon", "DEMO-C-DUMP", 80),
                    ("DEMO-OM-1", "ozon", "DEMO-C-OOS", 60), ("DEMO-OM-1", "ozon", "DEMO-C-STEADY", 40),
                    ("DEMO-WB-1", "wb", "DEMO-C-WB", 50), ("DEMO-YM-1", "ym", "DEMO-C-YM", 50))


def demo_script() -> PriceScript:
    """What the demo's fleet answers: a 20 % drop and a stock-out at the first parse (against the previous
    day's price `seed_demo_catalogue` writes), dumping at 20 % below our DEMO-OM-1; everything else steady."""
    return PriceScript(drop={"DEMO-C-DROP"}, dumping={"DEMO-C-DUMP": base_price("DEMO-OM-1")},
                       out_of_stock={"DEMO-C-OOS"}, changes_from=1)


async def seed_demo_catalogue(conn: Any, now: datetime) -> dict[str, int]:
    """The demo's products and competitors, and a price from the day before for each competitor that has none
    (what the agents would have parsed then). Safe to run at every demo start: existing rows are kept."""
    script = demo_script()
    products = await conn.fetch(
        "INSERT INTO watcher_products (sku, marketplace, brand_id, name) SELECT sku, mp, $3, 'demo' "
        "FROM unnest($1::text[], $2::text[]) AS d(sku, mp) ON CONFLICT (sku, marketplace) DO NOTHING RETURNING id",
        [p[0] for p in DEMO_PRODUCTS], [p[1] for p in DEMO_PRODUCTS], DEMO_BRAND)
    competitors = await conn.fetch(
        "INSERT INTO watcher_competitors (our_sku, marketplace, competitor_sku, priority, name) "
        "SELECT s, mp, c, p, 'demo' FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS d(s, mp, c, p) "
        "ON CONFLICT (marketplace, our_sku, competitor_sku) DO NOTHING RETURNING id",
        *[[c[i] for c in DEMO_COMPETITORS] for i in range(4)])
    history = await conn.fetch(
        "INSERT INTO watcher_price_history (sku, marketplace, competitor_id, current_price, in_stock, parsed_at) "
        "SELECT c.our_sku, c.marketplace, c.id, d.price, true, $3 FROM watcher_competitors c "
        "JOIN unnest($1::text[], $2::numeric[]) AS d(sku, price) ON d.sku = c.competitor_sku "
        "WHERE NOT EXISTS (SELECT 1 FROM watcher_price_history h WHERE h.competitor_id = c.id) RETURNING id",
        [c[2] for c in DEMO_COMPETITORS], [script.regular_price(c[2]) for c in DEMO_COMPETITORS],
        now - timedelta(days=1))
    return {"products": len(products), "competitors": len(competitors), "prices": len(history)}


# -- in the running sandbox ----------------------------------------------------------------------------------------
SWITCHES = {f.name: f.type for f in fields(Switches)}


class FleetHolder:
    """The fleet a running sandbox drives (none until `run_alongside` starts it)."""

    def __init__(self) -> None:
        self.fleet: Fleet | None = None

    def reset(self) -> None:
        for agent in self.fleet.agents if self.fleet else []:
            agent.switches = Switches()
            agent.dead = False

    def describe(self) -> list[dict[str, Any]]:
        return [{"agent": a.name, "marketplace": a.market, "ip": a.ip, "dead": a.dead, **asdict(a.switches)}
                for a in (self.fleet.agents if self.fleet else [])]

    def set_switches(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.fleet is None:
            raise ValueError("no agent fleet runs in this sandbox (it starts with Redis, from `adolfd sandbox`)")
        names = [a.name for a in self.fleet.agents]
        if body.get("agent") not in names:
            raise ValueError(f"unknown agent {body.get('agent')!r}; agents: {', '.join(names)}")
        agent = self.fleet.agent(body["agent"])
        values = {k: v for k, v in body.items() if k not in ("agent", "revive")}
        unknown = sorted(set(values) - set(SWITCHES))
        if unknown:
            raise ValueError(f"unknown switches {', '.join(unknown)}; switches: {', '.join(SWITCHES)}, revive")
        for name, value in values.items():
            seconds = name == "slow"
            fits = (isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0) if seconds \
                else isinstance(value, bool)
            if not fits:
                raise ValueError(f"switch {name} takes {'seconds ≥ 0' if seconds else 'true or false'}, got {value!r}")
        for name, value in values.items():
            setattr(agent.switches, name, float(value) if name == "slow" else value)
        if body.get("revive"):
            agent.dead = False
        return next(a for a in self.describe() if a["agent"] == agent.name)


_HOLDERS: weakref.WeakKeyDictionary[Any, FleetHolder] = weakref.WeakKeyDictionary()


def install(sandbox: Any) -> None:
    """No HTTP API (the agents speak Redis): a holder for the fleet, its switches off at every reset."""
    holder = _HOLDERS[sandbox] = FleetHolder()
    sandbox.on_reset(holder.reset)


def control_routes(sandbox: Any) -> web.RouteTableDef:
    holder = _HOLDERS[sandbox]
    routes = web.RouteTableDef()

    @routes.get("/_sandbox/watcher-agents")
    async def agents(request: web.Request) -> web.Response:
        return web.json_response({"agents": holder.describe()})

    @routes.post("/_sandbox/watcher-agents")
    async def switches(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("give a JSON object: {\"agent\": NAME, SWITCH: VALUE, …}")
            return web.json_response({"agent": holder.set_switches(body)})
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)

    return routes


async def run_alongside(sandbox: Any, settings: Any) -> None:
    """`adolfd sandbox` / `adolfd demo`: the fleet on adolfd's Redis until cancelled. Not on a production
    Redis unless asked for by name: simulated prices there would reach the real price history and alerts."""
    per_market = settings.watcher.sandbox_agents_per_marketplace
    if per_market <= 0:
        return
    if settings.environment == "production" and "sandbox_agents_per_marketplace" not in \
            settings.watcher.model_fields_set:
        log.warning("watcher_fleet_not_started", reason="ADOLFD_ENVIRONMENT is production: simulated agents "
                    "would parse into the real price history",
                    hint="set ADOLFD_ENVIRONMENT=demo, or ADOLFD_WATCHER__SANDBOX_AGENTS_PER_MARKETPLACE")
        return
    redis = Redis.from_url(settings.redis_url.get_secret_value())
    fleet = Fleet(redis, per_market, script=demo_script())
    holder = _HOLDERS[sandbox]
    holder.fleet = fleet
    log.info("watcher_fleet_started", agents=[a.name for a in fleet.agents], redis_db=redis.connection_pool
             .connection_kwargs.get("db", 0))
    try:
        await run_fleet(fleet, heartbeat_every=settings.watcher.sandbox_heartbeat_seconds)
    finally:
        holder.fleet = None
        await redis.aclose()
