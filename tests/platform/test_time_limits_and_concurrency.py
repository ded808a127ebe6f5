"""Soft and hard time limits (seeds 001 §7.7, 004: told at the soft limit, cancelled at the hard one) and the
per-queue concurrency of each module (the seeds' Celery -c), through the engine's own execution path."""
from __future__ import annotations

import asyncio

import pytest
from adolfd.engine.context import Ctx
from adolfd.engine.execution import execute
from adolfd.engine.jobs import bind, job
from adolfd.engine.module import ModuleSpec, Queue
from adolfd.engine.runtime import WorkerGroup, queue_concurrency


@job(queue="default", timeout=0.6, soft_timeout=0.2)
async def chunked(ctx: Ctx, chunks: int = 50) -> dict:
    """Works in 20 ms chunks and stops, keeping what it did, once told its soft limit has passed."""
    done = 0
    for _ in range(chunks):
        if ctx.past_soft_limit:
            return {"status": "soft_time_limit", "done": done}
        await asyncio.sleep(0.02)
        done += 1
    return {"status": "success", "done": done}


@job(queue="default", timeout=0.3, soft_timeout=0.1)
async def stubborn(ctx: Ctx) -> dict:
    """Ignores its soft limit."""
    await asyncio.sleep(5)
    return {"status": "success"}


READERS: list[asyncio.Task] = []


@job(queue="default", timeout=0.3)
async def reads_ahead(ctx: Ctx, fail: bool = False, hang: bool = False) -> dict:
    """Starts a reader that would run for a minute (as the YM listing reader runs ahead of the bid cycle)."""
    READERS.append(ctx.background(asyncio.sleep(60)))
    if fail:
        raise ValueError("the job fails while its reader runs")
    if hang:
        await asyncio.sleep(5)
    return {"status": "success"}


LIMITS = ModuleSpec(name="operations", summary="time limits under test", queues=(Queue("default"),),
                    jobs=lambda: (chunked, stubborn, reads_ahead))


async def test_a_job_past_its_soft_limit_is_told_and_keeps_its_partial_work(res):
    result = await execute({"resources": res, "job_id": "soft-1"}, bind(chunked, LIMITS), {}, ("operations.chunked",))
    assert result["status"] == "soft_time_limit"
    assert 5 <= result["done"] < 50           # ~0.2 s of 20 ms chunks, far fewer than all 50


async def test_a_job_that_ignores_its_soft_limit_is_cancelled_at_the_hard_one(res):
    spec = bind(stubborn, LIMITS)
    assert (spec.soft_timeout, spec.timeout) == (0.1, 0.3)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(execute({"resources": res, "job_id": "hard-1"}, spec, {}, ("operations.stubborn",)), 3)
    failed = await res.db.fetchrow("SELECT error FROM failed_jobs WHERE job_id = 'hard-1'")
    assert failed is not None and "exceeded 0.3s" in failed["error"]


def test_the_seeds_time_limits_are_on_their_jobs():
    from adolfd.engine.jobs import resolve

    priorities = resolve("watcher.calculate_priorities")
    assert (priorities.soft_timeout, priorities.timeout) == (1800, 2100)
    for name in ("carsbot.process_post_task", "carsbot.publish_post_task", "carsbot.sync_channels_task"):
        spec = resolve(name)
        assert (spec.soft_timeout, spec.timeout) == (1500, 1800), name


def test_each_queue_runs_at_its_seed_concurrency_and_an_operator_can_change_one(res, monkeypatch):
    group = WorkerGroup("watcher", res)
    group.build()
    assert {name: w.max_jobs for name, w in group.workers.items()} == {
        "adolfd:watcher:default": 2, "adolfd:watcher:critical": 1, "adolfd:watcher:heavy": 1}
    monkeypatch.setattr(res.settings, "concurrency", {"watcher_heavy": 3})
    assert queue_concurrency("watcher", Queue("heavy", 1), res.settings) == 3
    assert queue_concurrency("operations", Queue("default"), res.settings) == res.settings.max_jobs


@pytest.mark.parametrize("ending", ["returns", "fails", "times_out"])
async def test_a_jobs_background_tasks_end_with_it(res, ending):
    READERS.clear()
    spec = bind(reads_ahead, LIMITS)
    run = execute({"resources": res, "job_id": f"bg-{ending}"}, spec,
                  {"fail": ending == "fails", "hang": ending == "times_out"}, ("operations.reads_ahead",))
    if ending == "returns":
        assert (await run)["status"] == "success"
    else:
        with pytest.raises((ValueError, TimeoutError)):
            await asyncio.wait_for(run, 3)
    await asyncio.sleep(0)                          # let the cancellation land
    assert len(READERS) == 1 and READERS[0].cancelled()
