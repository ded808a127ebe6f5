"""I/O-bound job throughput and memory of one `adolfd worker` process.

Each job is `operations.probe`: it awaits 50 ms (an API call's worth of waiting) and round-trips Redis, going
through adolfd's whole job path (validation, structured logs, metrics, run book, result kept 24 h).
`--processes N` runs N worker processes on the one queue (scale-out) and reports jobs started more than once
(from every process's log; must be 0) and how the jobs split between the processes.
The reference figure is Celery 5 with the seeds' pattern on this kind of machine: 38 jobs/s at ~125 MiB per
worker process.
Run: `.venv/bin/python bench/throughput.py [--jobs 20000] [--max-jobs 200] [--sleep-ms 50] [--processes 1]`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adolfd.engine.serialization import SERIALIZERS  # noqa: E402
from arq.connections import RedisSettings, create_pool  # noqa: E402

from bench.common import private_redis, redis_commands, rss_mib, scratch, spawn_worker, wait_for_health_key  # noqa: E402

QUEUE = "adolfd:operations:default"
CELERY_JOBS_PER_S = 38


def _log_span(logs: list[Path]) -> tuple[int, float, int, list[int]]:
    """(jobs finished, seconds from the first job_started to the last job_finished, jobs started more than once,
    jobs started by each process) from the workers' logs."""
    first, last, finished = None, None, 0
    started: Counter[str] = Counter()
    per_process = []
    for log in logs:
        mine = 0
        for line in log.read_text().splitlines():
            if '"job_started"' in line or '"job_finished"' in line:
                event = json.loads(line[line.index("{"):])
                ts = datetime.fromisoformat(event["timestamp"])
                first = ts if first is None or ts < first else first
                if '"job_finished"' in line:
                    finished += 1
                    last = ts if last is None or ts > last else last
                else:
                    started[event["job_id"]] += 1
                    mine += 1
        per_process.append(mine)
    return finished, (last - first).total_seconds(), sum(1 for n in started.values() if n > 1), per_process


async def main(jobs: int, max_jobs: int, read_limit: int, sleep_ms: int, processes: int) -> dict:
    async with private_redis() as base, scratch(base) as (db_url, redis_url):
        redis = await create_pool(RedisSettings.from_dsn(redis_url), **SERIALIZERS)   # JSON, as the workers read
        for i in range(0, jobs, 500):
            await asyncio.gather(*[redis.enqueue_job("probe", _queue_name=QUEUE, sleep_ms=sleep_ms)
                                   for _ in range(i, min(i + 500, jobs))])
        logs = [Path(tempfile.mkstemp(prefix="adolfd-bench-", suffix=".log")[1]) for _ in range(processes)]
        commands_before = await redis_commands(redis_url)
        procs = [spawn_worker("operations", db_url, redis_url, log, ADOLFD_MAX_JOBS=str(max_jobs),
                              ADOLFD_QUEUE_READ_LIMIT=str(read_limit)) for log in logs]
        peak_rss = 0.0
        try:
            await wait_for_health_key(redis_url, QUEUE)
            while await redis.zcard(QUEUE):
                peak_rss = max(peak_rss, max(rss_mib(p.pid) for p in procs))
                await asyncio.sleep(0.05)
            commands = await redis_commands(redis_url) - commands_before
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(30)
            await redis.aclose()
        finished, span, twice, per_process = _log_span(logs)
        rate = finished / span
        return {"jobs": jobs, "finished": finished, "ran_twice": twice, "jobs_per_process": per_process,
                "processes": processes, "max_jobs": max_jobs,
                "queue_read_limit": read_limit, "job_sleep_ms": sleep_ms, "span_s": round(span, 2),
                "jobs_per_s": round(rate), "vs_celery": round(rate / CELERY_JOBS_PER_S, 1),
                "redis_commands_per_job": round(commands / jobs, 1), "rss_peak_mib_per_process": round(peak_rss, 1)}


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=20000)
    p.add_argument("--max-jobs", type=int, default=200)
    p.add_argument("--read-limit", type=int, default=500)
    p.add_argument("--sleep-ms", type=int, default=50)
    p.add_argument("--processes", type=int, default=1)
    a = p.parse_args()
    print(json.dumps(asyncio.run(main(a.jobs, a.max_jobs, a.read_limit, a.sleep_ms, a.processes)), indent=1))
