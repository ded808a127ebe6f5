"""Fault tests: real `adolfd` processes against a private, restartable redis-server with append-only persistence."""
from __future__ import annotations

import shutil

import pytest
from adolfd.testing import RedisServer, service_env


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
    return {**service_env(settings), "ADOLFD_REDIS_URL": f"{redis_server.url}/0",
            "ADOLFD_METRICS_PORT": "0"}
