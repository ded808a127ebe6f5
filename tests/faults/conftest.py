"""Fault tests: real `adolfd` processes against a private, restartable redis-server with append-only persistence."""
from __future__ import annotations

import shutil
import signal

import pytest
from adolfd.testing import RedisServer


@pytest.fixture
async def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (./dev.sh test installs it)")
    server = RedisServer(tmp_path / "redis")
    await server.start()
    yield server
    server.kill()


@pytest.fixture
def worker_env(settings, redis_server):
    return {"ADOLFD_DATABASE_URL": settings.database_url, "ADOLFD_REDIS_URL": f"{redis_server.url}/0",
            "ADOLFD_METRICS_PORT": "0"}


@pytest.fixture
def live_env(settings, sandbox):
    """A worker process against the test PostgreSQL, the test Redis DB and the sandbox (the `res` fixture of the
    test sees the same state)."""
    from adolfd.sandbox.environment import sandbox_env

    return {**sandbox_env(sandbox.url), "ADOLFD_DATABASE_URL": settings.database_url,
            "ADOLFD_REDIS_URL": settings.redis_url, "ADOLFD_METRICS_PORT": "0", "ADOLFD_ENVIRONMENT": "test"}


@pytest.fixture
async def workers():
    """Start `adolfd worker GROUP` processes; every one still running at the end is SIGKILLed."""
    from adolfd.testing import AdolfdProcess

    started: list[AdolfdProcess] = []

    async def start(group: str, env: dict[str, str]) -> AdolfdProcess:
        proc = await AdolfdProcess.start("worker", group, env=env, timeout=60)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.running:
            await proc.stop(signal.SIGKILL)
