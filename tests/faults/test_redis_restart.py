"""A Redis restart (graceful or SIGKILL, busy or idle) never stops a worker: it reconnects by itself, finishes what
was running, and every job queued before the restart (persisted by the append-only file) or after it runs once."""
from __future__ import annotations

import asyncio
import time

import pytest
from adolfd.cron import MSK, CronEntry
from adolfd.engine.enqueue import enqueue
from adolfd.engine.execution import arq_function
from adolfd.engine.jobs import job, resolve
from adolfd.engine.runtime import WorkerGroup
from adolfd.engine.scheduler import Scheduled, arq_cron
from adolfd.engine.serialization import SERIALIZERS, arq_job
from adolfd.process.resources import build_resources, close_resources
from adolfd.settings import SecretUrl
from adolfd.testing import AdolfdProcess, with_jobs
from arq.connections import ArqRedis, RedisSettings, create_pool

pytestmark = [pytest.mark.slow, pytest.mark.faults]
QUEUE = "adolfd:operations:default"


async def _pool(url: str) -> ArqRedis:
    return await create_pool(RedisSettings.from_dsn(f"{url}/0"), **SERIALIZERS)


async def _enqueue_probes(redis: ArqRedis, count: int, sleep_ms: int) -> list[str]:
    jobs = [await enqueue(redis, "probe", {"sleep_ms": sleep_ms}) for _ in range(count)]
    return [job.job_id for job in jobs]


async def _wait_complete(url: str, job_ids: list[str], timeout: float) -> dict[str, int]:
    """job id → job_try once every job has a result (fails on timeout with the statuses)."""
    async with asyncio.timeout(timeout):
        while True:
            redis = await _pool(url)
            try:
                infos = [await arq_job(redis, j, QUEUE).result_info() for j in job_ids]
                if all(info is not None for info in infos):
                    assert all(info.success for info in infos), [i.result for i in infos if not i.success]
                    return {j: info.job_try for j, info in zip(job_ids, infos, strict=True)}
            except (ConnectionError, OSError):
                pass
            finally:
                await redis.aclose()
            await asyncio.sleep(0.2)


@pytest.mark.parametrize("hard", [True, False], ids=["sigkill", "graceful"])
async def test_busy_worker_rides_out_a_redis_restart(redis_server, worker_env, hard):
    worker = await AdolfdProcess.start("worker", "operations", env=worker_env)
    redis = await _pool(redis_server.url)
    before = await _enqueue_probes(redis, 60, sleep_ms=200)
    await redis.aclose()
    await worker.wait_for("job_started")
    await asyncio.sleep(1.5)                # the append-only file is fsynced every second
    await redis_server.restart(hard=hard, down_for=0.5)
    await worker.wait_for("redis_reconnected", timeout=20)
    assert worker.running

    redis = await _pool(redis_server.url)
    after = await _enqueue_probes(redis, 20, sleep_ms=10)
    await redis.aclose()
    tries = await _wait_complete(redis_server.url, before + after, timeout=60)
    assert len(tries) == 80
    assert worker.running
    assert worker.events("worker_component_crashed") == []
    assert await worker.stop() == 0


async def test_idle_worker_comes_back_after_a_short_restart(redis_server, worker_env):
    worker = await AdolfdProcess.start("worker", "operations", env=worker_env)
    await asyncio.sleep(0.5)
    await redis_server.restart(hard=True, down_for=0.02)
    await asyncio.sleep(2)
    assert worker.running
    redis = await _pool(redis_server.url)
    job_ids = await _enqueue_probes(redis, 5, sleep_ms=1)
    await redis.aclose()
    await _wait_complete(redis_server.url, job_ids, timeout=20)
    assert await worker.stop() == 0


async def test_a_worker_outlives_a_long_outage(redis_server, worker_env):
    """Redis gone for longer than every backoff step: the loops keep waiting, nothing exits."""
    worker = await AdolfdProcess.start("worker", "operations", env=worker_env)
    redis_server.kill()
    await worker.wait_for("redis_unavailable", timeout=20)
    await asyncio.sleep(8)
    assert worker.running
    await redis_server.start()
    await worker.wait_for("redis_reconnected", timeout=20)
    redis = await _pool(redis_server.url)
    job_ids = await _enqueue_probes(redis, 3, sleep_ms=1)
    await redis.aclose()
    await _wait_complete(redis_server.url, job_ids, timeout=20)
    assert await worker.stop() == 0


async def test_a_component_that_ends_by_itself_means_a_non_zero_exit(res):
    """What no reconnect fixes ends the process with status 1, so systemd's Restart=on-failure restarts it."""
    group = WorkerGroup("operations", res)
    group.build()
    worker = group.workers[QUEUE]

    async def broken_loop() -> None:
        raise RuntimeError("a bug in the poll loop")

    worker.main = broken_loop  # type: ignore[method-assign]
    await asyncio.wait_for(group.run(), 30)
    assert group.crashed


FIRES: list[float] = []


@job(queue="default", timeout=10)
async def every_second_for_tests(ctx) -> dict:
    FIRES.append(time.time())
    return {"status": "success"}


async def test_cron_keeps_firing_across_a_redis_restart(redis_server, settings, monkeypatch):
    """A worker group's scheduler rides out a Redis SIGKILL and restart: the rows that fall due after it fire
    once each, with no crashed component."""
    with_jobs(monkeypatch, "operations", every_second_for_tests)
    spec = resolve("operations.every_second_for_tests")
    rows = [CronEntry(name=f"second_{s:02d}", module="operations", queue="default", cron="* * * * *",
                      job="every_second_for_tests", second=s, timeout=10, tz=MSK) for s in range(60)]
    private = settings.model_copy(update={"redis_url": SecretUrl(f"{redis_server.url}/0")})
    res = await build_resources(private)
    await res.db.execute("DELETE FROM cron_fires WHERE name LIKE 'second\\_%'")
    group = WorkerGroup("operations", res)
    group.build()
    group.scheduled = [Scheduled(r, arq_cron(r, arq_function(spec, run_keys=(f"operations.{r.name}",))))
                       for r in rows]
    for item in group.scheduled:
        group.workers[QUEUE].functions[item.job.name] = item.job
    FIRES.clear()
    runner = asyncio.create_task(group.run())
    try:
        await asyncio.sleep(3)
        assert FIRES, "no row fired before the restart"
        await redis_server.restart(hard=True, down_for=0.5)
        back = time.time()
        await asyncio.sleep(6)
        after = sorted(round(t) for t in FIRES if t > back + 1.5)     # rows due once the reconnect settled
        assert len(after) >= 3, FIRES
        assert len(after) == len(set(after)), after                  # each second's row once
        assert not group.crashed
    finally:
        group.stop()
        await asyncio.wait_for(runner, 20)
        await close_resources(res)
