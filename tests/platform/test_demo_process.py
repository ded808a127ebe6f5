"""`adolfd demo` as a real process: after SIGTERM or Ctrl-C it drains its workers and exits within the drain
time, even while its warm-up syncs are still waiting for results."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from adolfd.testing import service_env

DRAIN_SECONDS = 1.0
MARGIN_SECONDS = 8.0


async def _wait_for_event(log: Path, proc: asyncio.subprocess.Process, event: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if f'"event": "{event}"' in log.read_text(errors="replace"):
            return
        if proc.returncode is not None:
            raise AssertionError(f"demo exited ({proc.returncode}) before {event}:\n{log.read_text()[-3000:]}")
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {event} within {timeout} s:\n{log.read_text()[-3000:]}")


async def _channel_post(log: Path, proc: asyncio.subprocess.Process) -> None:
    """The demo's carsbot bot takes a post from the sandbox Bot API (stored, or ignored until the channels sheet
    has synced: either way it went through the bot)."""
    import httpx

    ready = json.loads(next(line for line in log.read_text().splitlines() if line.startswith('{"sandbox"')))
    async with httpx.AsyncClient(timeout=5) as client:
        r = await client.post(f"{ready['sandbox']}/telegram/_sandbox/channel_posts",
                              json={"chat_id": -1001000000001, "text": "Продам Lada Vesta 2020, 950 тыс, Самара"})
    r.raise_for_status()
    deadline = time.monotonic() + 30
    while not any(f'"event": "{e}"' in log.read_text(errors="replace")
                  for e in ("carsbot_post_received", "carsbot_post_ignored")):
        assert proc.returncode is None and time.monotonic() < deadline, log.read_text()[-3000:]
        await asyncio.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_demo_exits_within_the_drain_time(res, settings, empty_database, tmp_path, sig):
    env = {**os.environ, **service_env(settings), "ADOLFD_DATABASE_URL": empty_database,
           "ADOLFD_METRICS_PORT": "0", "ADOLFD_DRAIN_SECONDS": str(DRAIN_SECONDS)}
    log = tmp_path / "demo.log"
    with log.open("wb") as out:   # a file, not a pipe: the demo must never block on a reader that stopped
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adolfd", "demo", "--port", "0", "--env-file", str(tmp_path / "sandbox.env"),
            env=env, stdout=out, stderr=asyncio.subprocess.STDOUT)
    try:
        await _wait_for_event(log, proc, "worker_group_started")
        await _wait_for_event(log, proc, "job_started")   # a warm-up sync is running and being waited for
        await _wait_for_event(log, proc, "carsbot_bot_started")
        await _channel_post(log, proc)
        proc.send_signal(sig)
        started = time.monotonic()
        code = await asyncio.wait_for(proc.wait(), DRAIN_SECONDS + MARGIN_SECONDS)
        took = time.monotonic() - started
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = log.read_text(errors="replace")
    assert code == 0, text[-3000:]
    assert took <= DRAIN_SECONDS + MARGIN_SECONDS
    assert '"event": "worker_group_stopped"' in text
    ready = json.loads(next(line for line in text.splitlines() if line.startswith('{"sandbox"')))
    assert ready["sandbox"].startswith("http://127.0.0.1:")
