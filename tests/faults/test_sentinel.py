"""Redis through Sentinel: a worker given a `redis+sentinel://` URL finds the master through the sentinel, and
when the sentinel promotes the replica while jobs run, the worker follows the new master and every queued job
runs (append-only persistence as docs/operations.md recommends; every job was on the replica before the
promotion). Jobs the old master ran between the promotion and its own demotion run again on the new master (their
finishes are lost when the old master resyncs): every job is idempotent, and the test prints how many re-ran.
The claims those lost finishes left on the new master name the living worker; its sweep frees them within
seconds, so the queue drains well before the claims' TTL (the queue's longest job timeout plus 10 s)."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter

import pytest
import redis.asyncio as aioredis
from adolfd.engine.serialization import SERIALIZERS
from adolfd.process.resources import parse_redis_url
from adolfd.testing import AdolfdProcess, RedisServer, free_port
from arq.connections import create_pool
from arq.constants import result_key_prefix

pytestmark = [pytest.mark.slow, pytest.mark.faults]
QUEUE = "adolfd:operations:default"
JOBS = 1500


def test_the_sentinel_url_names_the_sentinels_the_master_and_the_database() -> None:
    conf = parse_redis_url("redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26380/adolfd/3")
    assert conf.sentinel and conf.host == [("10.0.0.1", 26379), ("10.0.0.2", 26380)]
    assert (conf.sentinel_master, conf.database, conf.password) == ("adolfd", 3, "s3cret")
    assert parse_redis_url("redis+sentinel://sentinel/adolfd").host == [("sentinel", 26379)]
    assert not parse_redis_url("redis://127.0.0.1:6379/2").sentinel
    for bad in ("redis+sentinel://h:26379", "redis+sentinel://h:26379/m/x", "redis+sentinel://h:port/m"):
        with pytest.raises(ValueError, match="redis\\+sentinel URL"):
            parse_redis_url(bad)


async def _start_sentinel(tmp_path, master_port: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                    f"sentinel monitor adolfd 127.0.0.1 {master_port} 1\n"
                    "sentinel down-after-milliseconds adolfd 1000\nsentinel failover-timeout adolfd 10000\n")
    proc = subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    client = aioredis.from_url(f"redis://127.0.0.1:{port}")
    try:
        async with asyncio.timeout(15):
            while True:
                try:
                    replicas = await client.execute_command("SENTINEL", "REPLICAS", "adolfd")
                    if replicas:
                        return proc, port
                except Exception:  # noqa: BLE001 — starting
                    pass
                await asyncio.sleep(0.1)
    finally:
        await client.aclose()


async def test_workers_follow_a_promoted_replica_and_no_queued_job_is_lost(tmp_path, settings):
    master = RedisServer(tmp_path / "master")
    await master.start()
    replica_port = free_port()
    replica = subprocess.Popen(
        ["redis-server", "--port", str(replica_port), "--bind", "127.0.0.1", "--save", "", "--dir",
         str(tmp_path), "--appendonly", "yes", "--appendfsync", "everysec",
         "--replicaof", "127.0.0.1", str(master.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sentinel, sentinel_port = await _start_sentinel(tmp_path, master.port)
    url = f"redis+sentinel://127.0.0.1:{sentinel_port}/adolfd/0"
    pool = await create_pool(parse_redis_url(url), **SERIALIZERS)
    worker = await AdolfdProcess.start("worker", "operations", env={
        "ADOLFD_DATABASE_URL": settings.database_url.get_secret_value(), "ADOLFD_REDIS_URL": url,
        "ADOLFD_METRICS_PORT": "0", "ADOLFD_MAX_JOBS": "20"})
    sentinel_client = aioredis.from_url(f"redis://127.0.0.1:{sentinel_port}")
    try:
        ids = [f"failover:{n}" for n in range(JOBS)]
        for job_id in ids:
            await pool.enqueue_job("probe", _queue_name=QUEUE, _job_id=job_id, sleep_ms=200)
        assert await pool.execute_command("WAIT", 1, 5000) == 1        # every job is on the replica too
        await worker.wait_for("job_finished", timeout=20)
        await sentinel_client.execute_command("SENTINEL", "FAILOVER", "adolfd")
        promoted_at = time.monotonic()
        waiting_at_promotion = await pool.zcard(QUEUE)
        assert waiting_at_promotion > 200, "jobs were still queued and running when the replica was promoted"
        async with asyncio.timeout(60):
            while (await sentinel_client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "adolfd"))[1] \
                    != str(replica_port).encode():
                await asyncio.sleep(0.1)
        new_master = aioredis.from_url(f"redis://127.0.0.1:{replica_port}")
        try:
            async with asyncio.timeout(60):
                while await new_master.zcard(QUEUE):
                    await asyncio.sleep(0.2)
            assert await new_master.exists(*(result_key_prefix + job_id for job_id in ids)) == JOBS
        finally:
            await new_master.aclose()
        assert worker.running, "the worker rode out the promotion"
        started = {e["job_id"] for e in worker.events("job_started")}
        assert started == set(ids)
        assert time.monotonic() - promoted_at < 60
        runs = Counter(e["job_id"] for e in worker.events("job_started"))
        print(f"runs {sum(runs.values())} of {JOBS} jobs, {time.monotonic() - promoted_at:.1f}s after the promotion",
              file=sys.stderr)
    finally:
        await sentinel_client.aclose()
        await worker.stop(timeout=20)
        await pool.aclose()
        for proc in (sentinel, replica):
            proc.terminate()
            proc.wait(10)
        master.kill()
