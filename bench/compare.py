"""adolfd against Celery 5 (prefork c=2, threads c=50) and bare ARQ (tuned), side by side on one private
redis-server, with the same two jobs: `io` waits 50 ms and round-trips Redis; `noop` only round-trips Redis.

Rounds are interleaved (round 1: every system, then round 2, ...), so machine load hits all alike. Per run the
queue is filled first, then the worker process starts; the rate is (jobs − 1) ÷ (last completion − first
completion), read from each system's own result records (ARQ/adolfd `st`/`ft`, Celery `date_done`), and Redis
commands per job are the INFO commandstats delta over the worker's run (the bench's own polls subtracted).
Start it through bench/compare.sh (it builds Celery's virtual environment); directly:
`.venv/bin/python bench/compare.py --celery-python /var/tmp/adolfd-bench-celery/bin/python [--rounds 3]`.
Two versions of adolfd side by side: run `--systems adolfd-c200 --kinds io --rounds 1` alternately from a
directory without an `adolfd/` of its own, with `PYTHONPATH=<checkout>` naming each version (the worker process
imports adolfd from there).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis.asyncio as aioredis  # noqa: E402
from adolfd.engine.serialization import SERIALIZERS  # noqa: E402
from arq.connections import RedisSettings, create_pool  # noqa: E402

from bench.common import private_redis, scratch, spawn_worker, wait_for_health_key  # noqa: E402

BENCH = Path(__file__).resolve().parent
ADOLFD_QUEUE = "adolfd:operations:default"
ARQ_QUEUE = "bench:bare"
SYSTEMS = ("celery-prefork-c2", "celery-threads-c50", "arq-tuned-c200", "adolfd-c200")


async def commands(r: aioredis.Redis) -> int:
    stats = await r.info("commandstats")
    return sum(int(v["calls"]) for v in stats.values())


async def wait_until(check, poll: float = 0.1, timeout: float = 900) -> int:
    """Poll `check` until it is true; returns how many polls (their Redis commands are not the worker's)."""
    polls, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        polls += 1
        if await check():
            return polls
        await asyncio.sleep(poll)
    raise TimeoutError("the run did not finish")


async def arq_span(r: aioredis.Redis) -> tuple[int, float, float]:
    """(results, last − first completion in s, median start-to-finish of a job in ms) from ARQ result records
    (adolfd's JSON or ARQ's pickle). A 50 ms job's start-to-finish beyond 50 ms is its wait for the event loop."""
    finishes, in_job = [], []
    keys = [k async for k in r.scan_iter("arq:result:*", count=2000)]
    for i in range(0, len(keys), 1000):
        for raw in await r.mget(keys[i:i + 1000]):
            try:
                data = json.loads(raw)
            except (UnicodeDecodeError, ValueError):
                data = pickle.loads(raw)  # noqa: S301 — bare ARQ's own results in our private Redis
            finishes.append(data["ft"])
            in_job.append(data["ft"] - data["st"])
    return len(finishes), (max(finishes) - min(finishes)) / 1000, statistics.median(in_job)


async def celery_span(r: aioredis.Redis) -> tuple[int, float]:
    done = []
    keys = [k async for k in r.scan_iter("celery-task-meta-*", count=2000)]
    for i in range(0, len(keys), 1000):
        for raw in await r.mget(keys[i:i + 1000]):
            done.append(datetime.fromisoformat(json.loads(raw)["date_done"]).timestamp())
    return len(done), max(done) - min(done)


async def run_celery(url: str, python: str, pool: str, concurrency: int, kind: str, jobs: int) -> dict:
    env = {**os.environ, "BENCH_REDIS_URL": url, "PYTHONPATH": str(BENCH)}
    subprocess.run([python, str(BENCH / "celery_app.py"), kind, str(jobs)], env=env, check=True)
    r = aioredis.from_url(url)
    before = await commands(r)
    worker = subprocess.Popen([str(Path(python).parent / "celery"), "-A", "celery_app", "worker", "-P", pool,
                               "-c", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat",
                               "-l", "warning"], env=env, cwd=BENCH, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        async def finished() -> bool:
            return sum([1 async for _ in r.scan_iter("celery-task-meta-*", count=5000)]) >= jobs

        polls = await wait_until(finished, poll=0.5)
        used = await commands(r) - before - polls * (2 + jobs // 5000) - 1
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
    count, span = await celery_span(r)
    await r.flushdb()
    await r.aclose()
    return {"jobs": count, "span": span, "commands": used}


async def run_arq(url: str, kind: str, jobs: int) -> dict:
    pool = await create_pool(RedisSettings.from_dsn(url))
    sleep_ms = 50 if kind == "io" else 0
    for i in range(0, jobs, 500):
        await asyncio.gather(*[pool.enqueue_job("probe", _queue_name=ARQ_QUEUE, sleep_ms=sleep_ms)
                               for _ in range(i, min(i + 500, jobs))])
    before = await commands(pool)
    subprocess.run([sys.executable, str(BENCH / "bare_arq.py"), "--work-only", "--redis", url, "--jobs", str(jobs),
                    "--max-jobs", "200", "--poll-delay", "0.05", "--read-limit", "1000"], check=True,
                   stdout=subprocess.DEVNULL)
    used = await commands(pool) - before - 1
    count, span, in_job = await arq_span(pool)
    await pool.flushdb()
    await pool.aclose()
    return {"jobs": count, "span": span, "commands": used, "in_job_ms": in_job}


async def run_adolfd(url: str, db_url: str, kind: str, jobs: int) -> dict:
    pool = await create_pool(RedisSettings.from_dsn(url), **SERIALIZERS)
    sleep_ms = 50 if kind == "io" else 0
    for i in range(0, jobs, 500):
        await asyncio.gather(*[pool.enqueue_job("probe", _queue_name=ADOLFD_QUEUE, sleep_ms=sleep_ms)
                               for _ in range(i, min(i + 500, jobs))])
    before = await commands(pool)
    worker = spawn_worker("operations", db_url, url, None, ADOLFD_MAX_JOBS="200", ADOLFD_LOG_LEVEL="info")
    try:
        await wait_for_health_key(url, ADOLFD_QUEUE)

        async def finished() -> bool:
            return not await pool.zcard(ADOLFD_QUEUE)

        polls = await wait_until(finished, poll=0.1)
        used = await commands(pool) - before - polls - 1
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
    count, span, in_job = await arq_span(pool)
    await pool.flushdb()
    await pool.aclose()
    return {"jobs": count, "span": span, "commands": used, "in_job_ms": in_job}


async def main(args: argparse.Namespace) -> None:
    sizes = {("celery-prefork-c2", "io"): args.prefork_io_jobs, ("celery-threads-c50", "io"): args.threads_io_jobs,
             ("celery-prefork-c2", "noop"): args.prefork_noop_jobs}
    unknown = set(args.systems.split(",")) - set(SYSTEMS)
    if unknown:
        raise SystemExit(f"unknown systems {sorted(unknown)}; choose from {', '.join(SYSTEMS)}")
    runs: dict[tuple[str, str], list[dict]] = {}
    async with private_redis() as base, scratch(base) as (db_url, url):
        for round_no in range(1, args.rounds + 1):
            for kind in args.kinds.split(","):
                for system in args.systems.split(","):
                    jobs = sizes.get((system, kind), args.jobs)
                    if system == "celery-prefork-c2":
                        out = await run_celery(url, args.celery_python, "prefork", 2, kind, jobs)
                    elif system == "celery-threads-c50":
                        out = await run_celery(url, args.celery_python, "threads", 50, kind, jobs)
                    elif system == "arq-tuned-c200":
                        out = await run_arq(url, kind, jobs)
                    else:
                        out = await run_adolfd(url, db_url, kind, jobs)
                    out["rate"] = (out["jobs"] - 1) / out["span"]
                    runs.setdefault((system, kind), []).append(out)
                    in_job = f"  job start to finish, median {out['in_job_ms']:.0f} ms" if "in_job_ms" in out else ""
                    print(f"round {round_no} {kind:4} {system:20} {out['jobs']:6d} jobs {out['rate']:8.1f}/s "
                          f"{out['commands'] / out['jobs']:5.1f} Redis commands/job{in_job}", file=sys.stderr,
                          flush=True)
    print(f"\n| job | system | jobs/s (median of {args.rounds}) | all rounds | × Celery prefork | × bare ARQ "
          "| Redis commands/job |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for kind in args.kinds.split(","):
        medians = {s: statistics.median(r["rate"] for r in runs[(s, kind)]) for s in SYSTEMS if (s, kind) in runs}
        for system, median in medians.items():
            rates = ", ".join(f"{r['rate']:.0f}" for r in runs[(system, kind)])
            per_job = statistics.median(r["commands"] / r["jobs"] for r in runs[(system, kind)])
            vs_prefork = f"{median / medians['celery-prefork-c2']:.1f}×" if "celery-prefork-c2" in medians else "—"
            vs_arq = f"{median / medians['arq-tuned-c200']:.2f}×" if "arq-tuned-c200" in medians else "—"
            print(f"| {kind} | {system} | {median:.0f} | {rates} | {vs_prefork} | {vs_arq} | {per_job:.1f} |")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--celery-python", default="/var/tmp/adolfd-bench-celery/bin/python")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--jobs", type=int, default=20000, help="jobs a run (ARQ, adolfd, Celery threads no-op)")
    p.add_argument("--prefork-io-jobs", type=int, default=400, help="Celery prefork's 50 ms runs (~40/s)")
    p.add_argument("--threads-io-jobs", type=int, default=4000, help="Celery threads' 50 ms runs")
    p.add_argument("--prefork-noop-jobs", type=int, default=4000, help="Celery prefork's no-op runs")
    p.add_argument("--kinds", default="io,noop")
    p.add_argument("--systems", default=",".join(SYSTEMS), help=f"a comma-separated subset of {','.join(SYSTEMS)}")
    asyncio.run(main(p.parse_args()))
