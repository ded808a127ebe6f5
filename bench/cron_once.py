"""Cron rows fire once across several worker processes: N `adolfd worker watcher` processes (its rows include
three every-minute ones) run side by side for `--minutes`; every cron start in their logs is counted by fire
(`cron:<row>:<fire ms>`, first attempt). A fire started by two processes is a duplicate (must be 0); an
every-minute row should fire once a minute.

Run: `.venv/bin/python bench/cron_once.py [--minutes 10] [--processes 3]` (scratch database, private Redis).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log_events, private_redis, scratch, spawn_worker, wait_for_health_key  # noqa: E402


def cron_starts(logs: list[Path]) -> Counter[tuple[str, int]]:
    """(cron job id, attempt) → how many processes started it."""
    starts: Counter[tuple[str, int]] = Counter()
    for log in logs:
        for event in log_events(log, "job_started"):
            if event["job_id"].startswith("cron:"):
                starts[(event["job_id"], event.get("attempt", 1))] += 1
    return starts


def summary(starts: Counter[tuple[str, int]], minutes: float) -> dict:
    fires = {job_id for job_id, attempt in starts if attempt == 1}
    per_row = Counter(job_id.split(":")[1] for job_id in fires)
    return {"minutes": minutes, "fires": len(fires), "fires_started_twice": sum(1 for n in starts.values() if n > 1),
            "fires_per_row": dict(sorted(per_row.items()))}


async def main(minutes: float, processes: int) -> dict:
    async with private_redis() as base, scratch(base) as (db_url, redis_url):
        logs = [Path(tempfile.mkstemp(prefix="adolfd-cron-once-", suffix=".log")[1]) for _ in range(processes)]
        procs = [spawn_worker("watcher", db_url, redis_url, log, ADOLFD_DRAIN_SECONDS="5") for log in logs]
        try:
            await wait_for_health_key(redis_url, "adolfd:watcher:default")
            await asyncio.sleep(minutes * 60)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(60)
    return {"processes": processes, **summary(cron_starts(logs), minutes)}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--processes", type=int, default=3)
    a = p.parse_args()
    print(json.dumps(asyncio.run(main(a.minutes, a.processes)), indent=1))
