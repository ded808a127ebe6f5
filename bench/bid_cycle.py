"""How close the bid cycle gets to the marketplaces' rate limits (seed 002 §7.3.1).

One brand's account gets `--campaigns` campaigns of `--units` bid-able units on each chosen marketplace of the
sandbox, which runs as its own process (`adolfd sandbox`), as the marketplaces do. Every endpoint class the cycle
uses is limited to `--rate` requests a second: the sandbox enforces it (burst 2, so a few milliseconds of network
jitter between two paced requests is no refusal) and adolfd paces at it (burst 1, and part of that second
token to make up a send that left late, as the shipped ad limits: `settings.AD_CATCH_UP`) with its shared
limiter plus the advertising clients' local spacing (`adolfd.clients.pacing`). Campaigns are synced and their
stats collected first (not timed); strategies are set so that nearly every unit gets a new bid and no daily
limit pauses a campaign.
Then one `run_bid_cycle` is timed (`--repeat N`: N, one after another), and its figures printed per marketplace:

- requests the cycle sent, per endpoint class, and 429/420 refusals the sandbox answered;
- lower bound = the largest over the endpoint classes of (requests of that class ÷ its rate): every class has
  its own limit and the cycle can send to several classes at once (campaigns overlap), so no schedule beats the
  busiest class. The marketplaces run concurrently, so the cycle's lower bound is the largest of theirs;
- where the busiest class cannot start before another class's answer (WB's bids name the products of the
  campaign listing), the sandbox's own time to answer that request, and the bound and ratio with it added;
- wall time of the whole cycle and its ratio to the lower bound (target ≤ 1.1, zero refusals);
- 429/420 refusals of the whole run, set-up included: every job of the run (set-up and cycle) paces by one
  configuration (`pacing()`), the same table the sandbox is told to enforce before the first request.

Run: `.venv/bin/python bench/bid_cycle.py [--campaigns 20] [--units 500] [--rate 20|published] [--repeat 3]
[--marketplace all|ozon|wb|ym] [--event-loop auto|uvloop|asyncio] [--stats-days 7]` (the loop `adolfd worker`
chooses by default; the CPU that adolfd, its PostgreSQL sessions and the sandbox used during the cycle is printed
beside the wall; `--stats-days N`: a full window of N days of stats rows per unit)
(`--rate published`: each class at its marketplace's published limit, e.g. WB bids 5 a second, YM `bids/info` 500 a
minute, where the cycle is API-bound; the default 20 a second for every class makes adolfd's own work the limit)
(`--show-refusals` prints each refused request with the ones before it; `--timeline` when each endpoint class
was busy during the cycle, and each answer's time where a class has 30 or fewer). `--processes N` runs the timed
phase in N `adolfd worker marketing` processes on one Redis instead of in this process: the cycle in one of
them, a campaign sync (which reads through the cycle's own endpoint classes) in each of the others at the same
moment; the refusals then say whether the limiter holds across processes, and the wall is the whole phase's
(see `cycle_in_workers`).
Uses a scratch PostgreSQL database and a redis-server of its own, both gone afterwards.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adolfd.engine.context import Ctx  # noqa: E402
from adolfd.engine.enqueue import enqueue  # noqa: E402
from adolfd.engine.jobs import resolve  # noqa: E402
from adolfd.engine.serialization import SERIALIZERS  # noqa: E402
from adolfd.process.event_loop import run_loop  # noqa: E402
from adolfd.process.heap import freeze_startup_heap  # noqa: E402
from adolfd.process.resources import build_resources, close_resources  # noqa: E402
from adolfd.sandbox.environment import sandbox_env, sandbox_settings  # noqa: E402
from adolfd.settings import AD_CATCH_UP, RateLimit, Settings  # noqa: E402
from adolfd.workers.marketing.bid_cycle import run_bid_cycle  # noqa: E402
from adolfd.workers.marketing.campaign_sync import sync_campaigns  # noqa: E402
from adolfd.workers.marketing.stats import collect_stats  # noqa: E402
from arq.connections import RedisSettings, create_pool  # noqa: E402

from bench.common import free_port, private_redis, scratch, spawn_worker  # noqa: E402

BRAND = "ohana_market"
FAKE = {"wb": "wb-advert", "ozon": "ozon-performance", "ym": "ym"}
# endpoint classes the cycle uses: sandbox class → adolfd client class
CLASSES = {
    "wb": {"count": "count", "adverts": "adverts", "bids": "bids"},
    "ozon": {"default": "default"},
    "ym": {"bids_info": "bids_info", "offer_prices": "offer_prices", "bids": "bids"},
}
# a class whose first request has to wait for another class's answer: WB's bids name the products its campaign
# listing returned. The sandbox's own time to answer that listing is reported beside the bound.
WAITS_FOR = {("wb", "bids"): "adverts"}
API = {"wb": "wb_advert", "ozon": "ozon_performance", "ym": "ym"}
# classes used by the untimed set-up only (campaign sync, stats): (sandbox class, adolfd class, rate/s, burst)
SETUP_CLASSES = {"wb": [("fullstats", "fullstats", 50.0, 10), ("bids_min", "bids_min", 50.0, 10)], "ozon": [],
                 "ym": [("orders_stats", "orders_stats", 50.0, 10)]}
STRATEGY = {"wb": ("position", {"target_position": 1}), "ozon": ("drr", {"target_drr": 10}),
            "ym": ("cpo", {"target_cpo": 30})}


# `--rate published`: each class at the marketplace's published limit (docs/external-apis.md), or, where none is
# published per second, at the pace adolfd ships with (Ozon Performance: 100 000 a day; YM offer-prices: none)
PUBLISHED = {("wb", "count"): 5.0, ("wb", "adverts"): 5.0, ("wb", "bids"): 5.0,
             ("ozon", "default"): 5.0,
             ("ym", "bids_info"): 500 / 60, ("ym", "bids"): 500 / 60, ("ym", "offer_prices"): 8.0}


def pacing(chosen: tuple[str, ...], rate: float | None,
           margin: float) -> list[tuple[str, str, str, float, int, float]]:
    """One table for the whole run: (marketplace, sandbox class, adolfd class, enforced rate, enforced burst,
    adolfd's pace). The sandbox enforces it and adolfd paces by it, set-up and timed cycle alike. `rate` None:
    the published limits (PUBLISHED)."""
    rows = []
    for mp in chosen:
        for sandbox_cls, client_cls in CLASSES[mp].items():
            enforced = PUBLISHED[(mp, sandbox_cls)] if rate is None else rate
            rows.append((mp, sandbox_cls, client_cls, enforced, 2, enforced * (1 - margin)))
        for sandbox_cls, client_cls, setup_rate, burst in SETUP_CLASSES[mp]:
            rows.append((mp, sandbox_cls, client_cls, setup_rate, burst, setup_rate * (1 - margin)))
    return rows


def refusals_in(counters_before: dict, counters_after: dict) -> int:
    answers = Counter(counters_after.get("responses", {})) - Counter(counters_before.get("responses", {}))
    return sum(n for key, n in answers.items() if key.endswith((" 429", " 420")))


def sandbox_class(marketplace: str, method: str, path: str) -> str | None:
    """The sandbox endpoint class a request counted against (None: not rate limited)."""
    if marketplace == "ozon":
        return None if path.endswith(("/api/client/token", "/statistics/products/sku")) else "default"
    if marketplace == "wb":
        for suffix, cls in (("/promotion/count", "count"), ("/v2/adverts", "adverts"), ("/bids/min", "bids_min"),
                            ("/v1/bids", "bids"),
                            ("/auction/nms", "auction_nms"), ("/fullstats", "fullstats"), ("/pause", "pause")):
            if path.endswith(suffix):
                return cls
        return "other"
    for suffix, cls in (("/bids/info", "bids_info"), ("/offer-prices", "offer_prices"), ("/bids", "bids"),
                        ("/stats/orders", "orders_stats")):
        if path.endswith(suffix):
            return cls
    return "other"


async def cycle_in_workers(args: argparse.Namespace, database_url: str, redis_url: str, sandbox_url: str,
                           limits: dict[str, RateLimit], n: int = 0) -> tuple[dict, float]:
    """The timed phase in `--processes` `adolfd worker marketing` processes sharing one Redis and the same pacing
    table: one runs the bid cycle (its lock lets only one), each of the others a campaign sync at the same moment,
    which reads every campaign and unit through the cycle's own endpoint classes. Refusals are the sandbox's
    answer to all of them together: the limiter is shared only if there are none. Returns the cycle's result
    and the phase's wall time (enqueue to the last job's end)."""
    env = {**sandbox_env(sandbox_url), "ADOLFD_BRANDS": json.dumps([BRAND]), "ADOLFD_ENVIRONMENT": "test",
           "ADOLFD_RATE_LIMITS": json.dumps({k: v.model_dump() for k, v in limits.items()}),
           "ADOLFD_MARKETING__MAX_IN_FLIGHT": str(args.in_flight), "ADOLFD_MISSED_RUN_GRACE_HOURS": "0",
           "ADOLFD_MAX_JOBS": "1", "ADOLFD_LOG_LEVEL": "info",
           "ADOLFD_CRON": "false"}        # no row of the schedule (stats, syncs, another cycle) falls due mid-run
    logs = [Path(tempfile.gettempdir()) / f"adolfd-bench-bid-cycle-{os.getpid()}-{i}.log"
            for i in range(args.processes)]
    procs = [spawn_worker("marketing", database_url, redis_url, log, **env) for log in logs]
    pool = await create_pool(RedisSettings.from_dsn(redis_url), **SERIALIZERS)
    try:
        for _ in range(600):                        # every process up: each one logs its start
            if all(log.exists() and "worker_group_started" in log.read_text() for log in logs):
                break
            if any(p.poll() is not None for p in procs):
                raise RuntimeError(f"a worker exited; see {logs}")
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError(f"the workers did not start; see {logs}")
        marketplace = args.marketplace
        started = time.perf_counter()
        cycle = await enqueue(pool, "marketing.run_bid_cycle", {"marketplace": marketplace}, job_id=f"bench-cycle-{n}")
        syncs = [await enqueue(pool, "marketing.sync_campaigns", {}, job_id=f"bench-sync-{n}-{i}")
                 for i in range(args.processes - 1)]
        assert cycle is not None and all(syncs)
        result = await cycle.result(timeout=600)
        for job in syncs:
            assert job is not None
            await job.result(timeout=600)
        wall = time.perf_counter() - started
    finally:
        await pool.aclose()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)
    for i, log in enumerate(logs):
        ran = [json.loads(line[line.index("{"):]).get("job_id") for line in log.read_text().splitlines()
               if '"job_started"' in line]
        print(f"  process {i}: {', '.join(str(j) for j in ran) or 'no job'} ({log})")
    cycle_wall = datetime.fromisoformat(result["finished_at"]) - datetime.fromisoformat(result["started_at"])
    print(f"  the cycle itself took {cycle_wall.total_seconds():.2f} s; the wall below is from the enqueue to the "
          f"last job's end, against the bound of every job's requests")
    return result, wall


def print_timeline(rows: list[dict], started_at: datetime, chosen: tuple[str, ...]) -> None:
    """When each endpoint class was busy during the cycle (seconds from its start, as the sandbox logged each
    answer): where a class waits for another, or the cycle's tail runs after the busiest class is done."""
    spans: dict[tuple[str, str | None], list[float]] = {}
    for r in rows:
        at = (datetime.fromisoformat(r["at"]) - started_at).total_seconds()
        mp = next((m for m in chosen if FAKE[m] == r["api"]), None)
        if at >= 0 and mp is not None:
            spans.setdefault((mp, sandbox_class(mp, r["method"], r["path"])), []).append(at)
    for (mp, cls), times in sorted(spans.items(), key=lambda kv: min(kv[1])):
        print(f"  timeline {mp:5} {str(cls):14} {len(times):4d} answers, first {min(times):6.3f} s, "
              f"last {max(times):6.3f} s")
        if len(times) <= 30:           # few enough to show the pace between them
            print("    at " + " ".join(f"{t:.3f}" for t in sorted(times)))


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU the processes used so far (Linux /proc; 0 for one that has gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


class GcPauses:
    """Seconds this process spent in garbage collection (the event loop stopped) while counting."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._began = 0.0

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._began

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


@contextlib.asynccontextmanager
async def sandbox_process(port: int):
    """`adolfd sandbox` in its own process, as in production the marketplaces are not in our event loop."""
    proc = subprocess.Popen([sys.executable, "-m", "adolfd", "sandbox", "--port", str(port), "--no-seed-db"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as control:
            for _ in range(200):
                try:
                    if (await control.get("/_sandbox/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("the sandbox did not start")
            yield url, control, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def _widen_stats(res, marketplace: str, days: int) -> None:
    """Each unit's stats rows copied back to `days` days before today with zero figures: the page statement then
    reads a full window's rows per unit, as in a daemon that has collected for a week, and decides as before."""
    await res.db.execute(
        "INSERT INTO marketing_stats (campaign_id, keyword_id, marketplace, brand_id, stat_date, collected_at) "
        "SELECT s.campaign_id, s.keyword_id, s.marketplace, s.brand_id, s.stat_date - d, s.collected_at - d * "
        "interval '1 day' FROM marketing_stats s, generate_series(1, $1) AS d WHERE s.marketplace = $2 "
        "ON CONFLICT DO NOTHING", days - 1, marketplace)
    per_unit = await res.db.fetchval(
        "SELECT avg(n) FROM (SELECT count(*) AS n FROM marketing_stats WHERE marketplace = $1 "
        "AND keyword_id IS NOT NULL AND stat_date > current_date - $2::int GROUP BY keyword_id) AS c",
        marketplace, days)
    print(f"set-up: {marketplace} stats widened to {days} days, {float(per_unit or 0):.1f} rows a unit in the window",
          file=sys.stderr)


async def main(args: argparse.Namespace) -> int:
    logging.disable(logging.WARNING)
    chosen = ("wb", "ozon", "ym") if args.marketplace == "all" else (args.marketplace,)
    async with sandbox_process(free_port()) as (url, control, sandbox_pid), private_redis() as redis_base, \
            scratch(redis_base) as (database_url, redis_url):
        for mp in chosen:
            (await control.post(f"/{FAKE[mp]}/_sandbox/scale",
                                json={"campaigns": args.campaigns, "units": args.units})).raise_for_status()
        table = pacing(chosen, args.rate, args.margin)
        limits: dict[str, RateLimit] = {}
        for mp, sandbox_cls, client_cls, rate, burst, pace in table:
            (await control.post("/_sandbox/limits", json={"api": FAKE[mp], "endpoint_class": sandbox_cls,
                                                          "rate": rate, "burst": burst})).raise_for_status()
            key = f"{API[mp]}:{client_cls}"       # two sandbox classes may share one adolfd class: the slower wins
            paced = RateLimit(rate=pace, burst=1, catch_up=AD_CATCH_UP)   # sandbox burst 2: a token to spare
            limits[key] = min(limits.get(key, paced), paced, key=lambda lim: lim.rate)
        settings = Settings(database_url=database_url, redis_url=redis_url, brands=[BRAND], environment="test",
                            metrics_port=0, rate_limits=limits, **sandbox_settings(url))
        settings.marketing.max_in_flight = args.in_flight
        res = await build_resources(settings)
        freeze_startup_heap()        # as `adolfd worker` does once built: full collections skip the start-up heap
        try:
            run_start = (await control.get("/_sandbox/counters")).json()
            setup_started = time.perf_counter()
            await sync_campaigns(Ctx(res, job_id="bench-sync", spec=resolve("marketing.sync_campaigns")))
            print(f"set-up: campaigns synced in {time.perf_counter() - setup_started:.1f} s", file=sys.stderr)
            for mp in chosen:
                name, fields = STRATEGY[mp]
                sets = ", ".join(f"{k} = {v}" for k, v in fields.items())
                await res.db.execute(f"UPDATE marketing_campaigns SET strategy_type = '{name}', {sets}, "
                                     f"max_bid = 100000, daily_limit = NULL WHERE marketplace = $1", mp)
                await collect_stats(Ctx(res, job_id=f"bench-stats-{mp}",
                                                  spec=resolve("marketing.collect_stats")), marketplace=mp)
                print(f"set-up: {mp} stats collected at {time.perf_counter() - setup_started:.1f} s", file=sys.stderr)
                if args.stats_days > 1:
                    await _widen_stats(res, mp, args.stats_days)
            # the cycle's statements are planned as in a daemon that has run a while: autovacuum has analyzed
            # the tables the set-up just filled (without it, the first cycles hash whole tables)
            await res.db.execute("ANALYZE")
            cycles = []
            for n in range(args.repeat):
                cycles.append(await timed_cycle(args, res, control, sandbox_pid, database_url, redis_url, url,
                                                limits, n))
        finally:
            await close_resources(res)
    refusals_run = refusals_in(run_start, cycles[-1].after)
    kinds = Counter(cycles[-1].after.get("rate_limited", {})) - Counter(run_start.get("rate_limited", {}))
    if args.processes:
        print(f"{args.processes} `adolfd worker marketing` processes on one Redis: the bid cycle in one, "
              f"{args.processes - 1} campaign syncs in the others at the same time; figures below are of them all")
    print(f"bid cycle: {args.campaigns} campaigns × {args.units} units per marketplace; "
          f"sandbox limit {'the published one' if args.rate is None else f'{args.rate:g} req/s'} (burst 2) per "
          f"endpoint class; adolfd paces at it{f' less {args.margin:.0%}' if args.margin else ''} (burst 1, "
          f"catch-up {AD_CATCH_UP:g} of an interval), {args.in_flight} in flight")
    ratios = [report(args, chosen, table, c) for c in cycles]
    if len(cycles) > 1:
        walls = sorted(c.wall for c in cycles)
        print(f"{len(cycles)} cycles: wall median {statistics.median(walls):.2f} s (min {walls[0]:.2f}, max "
              f"{walls[-1]:.2f}), ratio median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max "
              f"{max(ratios):.3f})")
    print(f"429/420 in the whole run (set-up included): {refusals_run}")
    if kinds:
        print(f"  refused by (sandbox limit that answered): {dict(kinds)}")
    return 0 if all(c.result["status"] == "completed" for c in cycles) and refusals_run == 0 else 1


@dataclass
class Cycle:
    """One timed cycle's figures."""
    result: dict
    wall: float
    cpu: float                    # adolfd's (nan when the cycle ran in worker processes)
    gc_seconds: float
    sandbox_cpu: float
    postgres_cpu: float
    before: dict                  # the sandbox's counters around it
    after: dict
    started_at: datetime
    log_rows: list[dict]


async def timed_cycle(args: argparse.Namespace, res, control: httpx.AsyncClient, sandbox_pid: int,
                      database_url: str, redis_url: str, url: str, limits: dict[str, RateLimit], n: int) -> Cycle:
    """Cycle n, after a second for every bucket to fill again. Each has its own job id, hence its own slot: a
    repetition decides and sends every bid again (from the bids the previous one set), as the next cycle of a
    day would; the day's alerts are already recorded by then."""
    await asyncio.sleep(1.0)                       # every bucket full again, both sides
    before = (await control.get("/_sandbox/counters")).json()
    backends = [r["pid"] for r in await res.db.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")]
    others_cpu = cpu_seconds([sandbox_pid]), cpu_seconds(backends)
    started_at = datetime.now(UTC)
    gc_pauses = GcPauses()
    if args.processes:
        cpu = float("nan")
        result, wall = await cycle_in_workers(args, database_url, redis_url, url, limits, n)
    else:
        profile = cProfile.Profile() if args.profile and n == 0 else None
        started, cpu_started = time.perf_counter(), time.process_time()
        if profile:
            profile.enable()
        with gc_pauses:
            result = await run_bid_cycle(Ctx(res, job_id=f"bench-cycle-{n}", spec=resolve("marketing.run_bid_cycle")),
                                         marketplace=args.marketplace)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if profile:
            profile.disable()
            profile.dump_stats(args.profile)
    sandbox_cpu, postgres_cpu = cpu_seconds([sandbox_pid]) - others_cpu[0], cpu_seconds(backends) - others_cpu[1]
    after = (await control.get("/_sandbox/counters")).json()
    log_rows = (await control.get("/_sandbox/requests")).json()["requests"]
    return Cycle(result, wall, cpu, gc_pauses.seconds, sandbox_cpu, postgres_cpu, before, after, started_at,
                 [r for r in log_rows if datetime.fromisoformat(r["at"]) >= started_at])


def report(args: argparse.Namespace, chosen: tuple[str, ...], table: list, cycle: Cycle) -> float:
    """Print one cycle's figures; returns its ratio to the lower bound."""
    result, log_rows, wall = cycle.result, cycle.log_rows, cycle.wall
    sent = Counter(cycle.after.get("requests", {})) - Counter(cycle.before.get("requests", {}))
    refusals = refusals_in(cycle.before, cycle.after)
    for i, r in enumerate(log_rows):
        if r["status"] in (429, 420):
            same = [x for x in log_rows[max(0, i - 40):i + 1] if x["api"] == r["api"] and x["path"] == r["path"]]
            near = [f"{x['at'][17:26]} {x['status']} {x['duration_ms']:.0f}ms" for x in same[-5:]]
            print("refused:", r["api"], r["path"][-30:], "(answered at, status, time taken):", near)
    if args.show_refusals:
        for r in sorted(log_rows, key=lambda x: -x["duration_ms"])[:5]:      # what held the sandbox's loop longest
            print(f"slowest sandbox answers: {r['at'][11:23]} {r['api']} {r['path'][-30:]} {r['duration_ms']:.0f} ms")
    if args.timeline:
        print_timeline(log_rows, cycle.started_at, chosen)
    bounds = {}
    for mp in chosen:
        per_class: Counter[str | None] = Counter()
        for key, n in sent.items():
            api, method, path = key.split(" ", 2)
            if api == FAKE[mp]:
                per_class[sandbox_class(mp, method, path)] += n
        enforced = {sandbox_cls: rate for m, sandbox_cls, _, rate, _, _ in table if m == mp}
        per_class_bound = {cls: n / enforced[cls] for cls, n in per_class.items() if cls in enforced}
        bounds[mp] = max(per_class_bound.values(), default=0.0)
        busiest = max(per_class_bound, key=per_class_bound.__getitem__, default="-")
        done = result["marketplaces"].get(mp, {})
        print(f"  {mp:5} requests {sum(per_class.values()):5d} {dict(per_class)}  bids set "
              f"{done.get('bids_updated', 0):6d}  lower bound {bounds[mp]:6.2f} s (busiest class {busiest})")
        before = WAITS_FOR.get((mp, str(busiest)))
        served = [r["duration_ms"] / 1000 for r in log_rows if r["api"] == FAKE[mp]
                  and sandbox_class(mp, r["method"], r["path"]) == before]
        if served:         # no client can send the busiest class's first request before this answer
            waited = bounds[mp] + max(served)
            of_wall = f", the wall {wall / waited:.3f}× of it" if len(chosen) == 1 else ""
            print(f"  {mp:5} its {busiest} wait for {before}: the sandbox took {max(served) * 1000:.0f} ms to answer "
                  f"it; with that wait the bound is {waited:.2f} s{of_wall}")
    bound = max(bounds.values())
    cpu_note = (f" (CPU: the sandbox {cycle.sandbox_cpu:.2f} s)" if args.processes else
                f" (CPU: adolfd {cycle.cpu:.2f} s, {cycle.gc_seconds:.2f} s of it garbage collection, its "
                f"PostgreSQL sessions {cycle.postgres_cpu:.2f} s, the sandbox {cycle.sandbox_cpu:.2f} s)")
    print(f"  wall {wall:.2f} s{cpu_note}, lower bound {bound:.2f} s, ratio {wall / bound:.3f}, "
          f"429/420 in the cycle {refusals}, cycle {result['status']}, "
          f"bids updated {result['bids_updated']}, errors {result['errors']}")
    return wall / bound


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--campaigns", type=int, default=20)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--rate", type=lambda v: None if v == "published" else float(v), default=20.0,
                        help="requests per second per endpoint class, or `published`: each class at its "
                             "marketplace's published limit")
    parser.add_argument("--marketplace", choices=("ozon", "wb", "ym", "all"), default="all")
    parser.add_argument("--in-flight", type=int, default=16, help="concurrent requests per marketplace")
    parser.add_argument("--show-refusals", action="store_true", help="print each refused request and its neighbours")
    parser.add_argument("--processes", type=int, default=0,
                        help="run the timed phase in N `adolfd worker marketing` processes (see cycle_in_workers)")
    parser.add_argument("--timeline", action="store_true", help="print when each endpoint class was busy")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the timed cycle (one process only)")
    parser.add_argument("--stats-days", type=int, default=1,
                        help="rows per unit in the stats window, as a daemon that has collected that many days has "
                             "(7 = the default window); the extra days carry zero figures, so decisions stay the same")
    parser.add_argument("--repeat", type=int, default=1,
                        help="time this many cycles one after another, each a second after the last; the medians "
                             "are printed too")
    parser.add_argument("--margin", type=float, default=0.0, help="pace this share below the sandbox's limit")
    parser.add_argument("--event-loop", choices=("auto", "uvloop", "asyncio"), default="auto",
                        help="the timed process's loop, chosen as `adolfd worker` chooses it (auto: uvloop if "
                             "installed)")
    arguments = parser.parse_args()
    sys.exit(run_loop(main(arguments), arguments.event_loop))
