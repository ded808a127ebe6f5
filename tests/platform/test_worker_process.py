"""`adolfd worker` as a real process: SIGTERM drains running jobs; what cannot finish goes back to the queue."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

from adolfd.engine.enqueue import enqueue
from adolfd.engine.serialization import arq_job
from adolfd.testing import service_env
from arq.jobs import JobStatus


def _env(settings, **extra: str) -> dict[str, str]:
    return {**os.environ, **service_env(settings),
            "ADOLFD_METRICS_PORT": "0", **extra}


async def _start_worker(settings, group: str = "operations", **extra: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adolfd", "worker", group, env=_env(settings, **extra),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    await _wait_for_line(proc, "worker_group_started")
    return proc


async def _wait_for_line(proc, event: str, timeout: float = 15) -> dict:
    async def read() -> dict:
        while True:
            line = await proc.stdout.readline()
            if not line:
                raise AssertionError(f"worker exited before {event}")
            text = line.decode()
            if text.startswith("<") and f'"{event}"' in text:
                return json.loads(text[text.index(">") + 1:])
    return await asyncio.wait_for(read(), timeout)


async def test_sigterm_lets_a_running_job_finish(res, settings):
    proc = await _start_worker(settings)
    queued = await enqueue(res.redis, "probe", {"sleep_ms": 1500})
    await _wait_for_line(proc, "job_started")
    proc.send_signal(signal.SIGTERM)
    finished = await _wait_for_line(proc, "job_finished")
    assert finished["job_id"] == queued.job_id
    assert await asyncio.wait_for(proc.wait(), 15) == 0
    assert await arq_job(res.redis, queued.job_id).status() == JobStatus.complete


async def test_a_job_longer_than_the_drain_is_handed_back_and_run_again(res, settings, run_queue):
    proc = await _start_worker(settings, ADOLFD_DRAIN_SECONDS="0.5")
    queued = await enqueue(res.redis, "probe", {"sleep_ms": 4000})
    await _wait_for_line(proc, "job_started")
    proc.send_signal(signal.SIGTERM)
    await _wait_for_line(proc, "job_interrupted")
    assert await asyncio.wait_for(proc.wait(), 15) == 0
    job = arq_job(res.redis, queued.job_id, "adolfd:operations:default")
    assert await job.status() == JobStatus.queued          # not lost: back on its queue
    await run_queue("operations", "default")
    info = await job.result_info()
    assert info.success and info.job_try == 2


async def test_sigterm_ends_an_event_consumers_window_at_once(res, settings):
    """The watcher's consumer reads for most of each minute by design; at SIGTERM it returns what it applied
    within a second instead of holding the stop for the rest of its window (or until the drain hands it back)."""
    proc = await _start_worker(settings, "watcher", ADOLFD_CRON="false")
    queued = await enqueue(res.redis, "watcher.consume_agent_events", {"seconds": 50})
    await _wait_for_line(proc, "job_started")
    await asyncio.sleep(0.3)                       # inside its reading loop
    stop_sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    finished = await _wait_for_line(proc, "job_finished")
    assert await asyncio.wait_for(proc.wait(), 15) == 0
    assert time.monotonic() - stop_sent < 5        # not the 50 s window, not the 300 s drain
    assert finished["job_id"] == queued.job_id
    info = await arq_job(res.redis, queued.job_id).result_info()
    assert info.success and info.job_try == 1      # finished, not handed back to run again
    assert info.result["status"] == "stopped_early"


async def test_the_plain_arq_cli_runs_a_queue(res, settings):
    """`arq adolfd.workers.operations.DefaultSettings` works on each queue's settings class."""
    queued = await enqueue(res.redis, "probe", {"sleep_ms": 1})
    proc = await asyncio.create_subprocess_exec(
        os.path.join(os.path.dirname(sys.executable), "arq"), "adolfd.workers.operations.DefaultSettings",
        "--burst", env=_env(settings), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode()[-2000:]
    info = await arq_job(res.redis, queued.job_id).result_info()
    assert info is not None and info.success and info.result["status"] == "success"
