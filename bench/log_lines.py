"""What a job's two log lines (`job_started`, `job_finished`) cost: the process's own logging set-up, the job's
fields bound as `adolfd.engine.execution` binds them, the lines rendered and written to /dev/null.

Run: `.venv/bin/python bench/log_lines.py [--jobs 50000]` — prints µs per job (two lines), median of 5 runs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import structlog  # noqa: E402
from adolfd.process import logs  # noqa: E402


def one_run(jobs: int) -> float:
    log = structlog.get_logger("adolfd.job")
    with logs.job_fields(job="probe", module="operations", job_id="3f1c…", queue="adolfd:operations:default",
                         attempt=1):
        started = time.perf_counter()
        for _ in range(jobs):
            job_log = log.bind()
            job_log.info("job_started", args={"sleep_ms": 50}, fire_time=None)
            job_log.info("job_finished", duration=0.051, result=None)
        return (time.perf_counter() - started) / jobs * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=50_000)
    args = parser.parse_args()
    with open(os.devnull, "w") as sink:
        logs.configure("info", stream=sink)
        runs = [one_run(args.jobs) for _ in range(5)]
    print(f"{statistics.median(runs):.1f} µs per job (two lines), runs {', '.join(f'{r:.1f}' for r in runs)}")


if __name__ == "__main__":
    main()
