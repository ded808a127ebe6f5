"""Shared bits of the benchmarks: a scratch database and Redis DB, spawning `adolfd worker`, reading RSS."""
from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis

PG_ADMIN = os.environ.get("ADOLFD_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("ADOLFD_BENCH_REDIS", "redis://127.0.0.1:6379").rstrip("/")
REDIS_DB = int(os.environ.get("ADOLFD_BENCH_REDIS_DB", "9"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def private_redis(port: int = 0):
    """A redis-server of our own (on a free port unless one is given), so command counts are not mixed with
    anyone else's traffic and no other Redis user is disturbed."""
    port = port or free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}"
    r = aioredis.from_url(url)
    for _ in range(100):
        try:
            await r.ping()
            break
        except Exception:  # noqa: BLE001
            await asyncio.sleep(0.05)
    await r.aclose()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@asynccontextmanager
async def scratch(redis_base: str | None = None):
    """(database_url, redis_url) of a fresh database and a flushed Redis DB, dropped afterwards."""
    from adolfd.process.db import migrate

    name = f"adolfd_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    conn = await asyncpg.connect(url)
    await migrate(conn)
    await conn.close()
    redis_url = f"{redis_base or REDIS_BASE}/{REDIS_DB}"
    r = aioredis.from_url(redis_url)
    await r.flushdb()
    await r.aclose()
    try:
        yield url, redis_url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def spawn_worker(group: str, database_url: str, redis_url: str, log: Path | None = None, **env: str):
    full = {**os.environ, "ADOLFD_DATABASE_URL": database_url, "ADOLFD_REDIS_URL": redis_url,
            "ADOLFD_METRICS_PORT": "0", **env}
    out = open(log, "w") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "adolfd", "worker", group], env=full, stdout=out,
                            stderr=subprocess.STDOUT)


def log_events(log: Path, *names: str) -> Iterator[dict]:
    """The events named `names` in a worker's log (`<N>{json}` lines), in order."""
    for line in log.read_text().splitlines():
        if "{" in line and any(f'"{name}"' in line for name in names):
            event = json.loads(line[line.index("{"):])
            if event.get("event") in names:
                yield event


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_for_health_key(redis_url: str, queue: str, timeout: float = 30) -> None:
    r = aioredis.from_url(redis_url)
    try:
        for _ in range(int(timeout * 20)):
            if await r.exists(queue + ":health-check"):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no worker came up on {queue}")
    finally:
        await r.aclose()


async def redis_commands(redis_url: str) -> int:
    r = aioredis.from_url(redis_url)
    try:
        return int((await r.info("stats"))["total_commands_processed"])
    finally:
        await r.aclose()
