"""How close the bid cycle gets to the marketplaces' rate limits (seed 002 §7.3.1).

One brand's account gets `--campaigns` campaigns of `--units` bid-able units on each chosen marketplace of
the in-process sandbox. Every endpoint class the cycle uses is limited to `--rate` requests a second: the
sandbox enforces it (burst 2, so a few milliseconds of network jitter between two paced requests is no
refusal) and adolfd's shared limiter paces at it (burst 1). Campaigns are synced and their stats collected
first (not timed); strategies are set so that nearly every unit gets a new bid. Then one `run_bid_cycle` is
timed, and the figures printed per marketplace:

- requests the cycle sent, per endpoint class, and 429/420 refusals the sandbox answered;
- lower bound = Σ over the cycle's phases of requests ÷ rate (the phases — list campaigns, read units and
  bids, send bids — depend on each other; within a phase all requests share one limit). The marketplaces run
  concurrently, so the cycle's lower bound is the largest of theirs;
- wall time of the whole cycle and its ratio to the lower bound (target ≤ 1.1, zero refusals).

Run: `.venv/bin/python bench/bid_cycle.py [--campaigns 20] [--units 500] [--rate 20] [--marketplace ozon|wb|ym|all]`.
Uses a scratch PostgreSQL database and Redis DB `ADOLFD_BENCH_REDIS_DB` (default 9), dropped afterwards.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adolfd.context import Ctx  # noqa: E402
from adolfd.registry import resolve  # noqa: E402
from adolfd.resources import build_resources, close_resources  # noqa: E402
from adolfd.sandbox import ads, start_sandbox  # noqa: E402
from adolfd.sandbox.environment import sandbox_settings  # noqa: E402
from adolfd.settings import RateLimit, Settings  # noqa: E402
from adolfd.workers import marketing  # noqa: E402
from bench.common import scratch  # noqa: E402

BRAND = "ohana_market"
FAKE = {"wb": "wb-advert", "ozon": "ozon-performance", "ym": "ym"}
# endpoint classes the cycle uses: sandbox class → adolfd client class
CLASSES = {
    "wb": {"count": "count", "adverts": "adverts", "bids": "bids"},
    "ozon": {"default": "default"},
    "ym": {"bids_info": "bids", "offer_prices": "offer_prices", "bids": "bids"},
}
API = {"wb": "wb_advert", "ozon": "ozon_performance", "ym": "ym"}
STRATEGY = {"wb": ("position", {"target_position": 1}), "ozon": ("drr", {"target_drr": 10}),
            "ym": ("cpo", {"target_cpo": 30})}


def sandbox_class(marketplace: str, method: str, path: str) -> str | None:
    """The sandbox endpoint class a request counted against (None: not rate limited)."""
    if marketplace == "ozon":
        return None if path.endswith(("/api/client/token", "/statistics/products/sku")) else "default"
    if marketplace == "wb":
        for suffix, cls in (("/promotion/count", "count"), ("/v2/adverts", "adverts"), ("/v1/bids", "bids"),
                            ("/auction/nms", "auction_nms"), ("/fullstats", "fullstats"), ("/pause", "pause")):
            if path.endswith(suffix):
                return cls
        return "other"
    for suffix, cls in (("/bids/info", "bids_info"), ("/offer-prices", "offer_prices"), ("/bids", "bids"),
                        ("/stats/orders", "orders_stats")):
        if path.endswith(suffix):
            return cls
    return "other"


async def main(args: argparse.Namespace) -> int:
    logging.disable(logging.WARNING)
    chosen = ("wb", "ozon", "ym") if args.marketplace == "all" else (args.marketplace,)
    running = await start_sandbox(port=0)
    sb = running.sandbox
    scale = ads.Scale(campaigns=args.campaigns, units=args.units)
    for mp in chosen:
        ads.set_scale(sb, "ym-bids" if mp == "ym" else FAKE[mp], scale)
    async with scratch() as (database_url, redis_url):
        limits = {f"{API[mp]}:{client}": RateLimit(rate=args.rate, burst=1)
                  for mp in chosen for client in CLASSES[mp].values()}
        limits["wb_advert:fullstats"] = RateLimit(rate=50, burst=10)          # untimed set-up only
        settings = Settings(database_url=database_url, redis_url=redis_url, brands=[BRAND], environment="test",
                            metrics_port=0, rate_limits=limits, **sandbox_settings(running.url))
        settings.marketing.max_in_flight = args.in_flight
        res = await build_resources(settings)
        try:
            sb.set_limit("wb-advert", "fullstats", 50, 10)
            sync = resolve("marketing.sync_campaigns")
            await marketing.sync_campaigns(Ctx(res, job_id="bench-sync", spec=sync))
            for mp in chosen:
                name, fields = STRATEGY[mp]
                sets = ", ".join(f"{k} = {v}" for k, v in fields.items())
                await res.db.execute(f"UPDATE marketing_campaigns SET strategy_type = '{name}', {sets}, "
                                     f"max_bid = 100000 WHERE marketplace = $1", mp)
                await marketing.collect_stats(Ctx(res, job_id=f"bench-stats-{mp}",
                                                  spec=resolve("marketing.collect_stats")), marketplace=mp)
            for mp in chosen:
                for cls in CLASSES[mp]:
                    sb.set_limit(FAKE[mp], cls, args.rate, 2)
            await asyncio.sleep(1.0)                       # every bucket full again, both sides
            sb.requests.clear()
            refused_before = dict(sb.counters.get("rate_limited", {}))
            started = time.perf_counter()
            result = await marketing.run_bid_cycle(Ctx(res, job_id="bench-cycle",
                                                       spec=resolve("marketing.run_bid_cycle")))
            wall = time.perf_counter() - started
        finally:
            await close_resources(res)
            await running.close()
    refused = sum(v - refused_before.get(k, 0) for k, v in sb.counters.get("rate_limited", {}).items())
    refusals = sum(1 for r in sb.requests if r.status in (429, 420))
    print(f"bid cycle: {args.campaigns} campaigns × {args.units} units per marketplace, rate {args.rate:g} req/s "
          f"per endpoint class, {args.in_flight} in flight")
    bounds = {}
    for mp in chosen:
        per_class = Counter(sandbox_class(mp, r.method, r.path) for r in sb.requests if r.api == FAKE[mp])
        limited = {cls: n for cls, n in per_class.items() if cls in CLASSES[mp]}
        bounds[mp] = sum(limited.values()) / args.rate
        mp_result = result["marketplaces"].get(mp, {})
        print(f"  {mp:5} requests {sum(per_class.values()):5d} {dict(per_class)}  bids set {mp_result.get('bids_updated', 0):6d}"
              f"  lower bound {bounds[mp]:6.2f} s")
    bound = max(bounds.values())
    print(f"  wall {wall:.2f} s, lower bound {bound:.2f} s, ratio {wall / bound:.3f}, "
          f"429/420 received {refusals} (sandbox refusals counted {refused}), cycle status {result['status']}, "
          f"bids updated {result['bids_updated']}, errors {result['errors']}")
    return 0 if result["status"] == "completed" else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--campaigns", type=int, default=20)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second per endpoint class")
    parser.add_argument("--marketplace", choices=("ozon", "wb", "ym", "all"), default="all")
    parser.add_argument("--in-flight", type=int, default=16, help="concurrent requests per marketplace")
    sys.exit(asyncio.run(main(parser.parse_args())))
