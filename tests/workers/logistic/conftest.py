"""Logistic job fixtures: one frozen moment for adolfd and the sandbox, and the input syncs."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest


MSK = ZoneInfo("Europe/Moscow")
# A Monday, 07:00 Moscow: generate_supply_tasks' fire time; the 1C extract of 06:00 is an hour old.
MOMENT = datetime(2026, 2, 16, 7, 0, tzinfo=MSK)


@pytest.fixture
def moment() -> datetime:
    return MOMENT


@pytest.fixture
def at(at):
    """The shared `at(dt)`, standing at MOMENT to begin with."""
    at(MOMENT)
    return at


@pytest.fixture
def inputs(run_job, extract):
    """`await inputs(now)`: every input of generate_supply_tasks as the morning schedule leaves them."""

    async def run(now: datetime) -> dict[str, dict]:
        out = {"analytics": await run_job("logistic.sync_ozon_analytics")}
        out["stocks"] = await run_job("logistic.sync_ozon_stocks")
        await extract(now)
        out["brain"] = await run_job("logistic.sync_brain_stocks")
        for name, result in out.items():
            assert result["success"], (name, result)
        return out

    return run


@pytest.fixture
def run_first(res, run_queue):
    """`await run_first("logistic.generate_supply_tasks", **kw)`: like run_job, but stops after this one job,
    so a job that re-enqueues itself for later (a deferral) does not keep the burst worker waiting."""
    from arq import Worker
    from adolfd.serialization import SERIALIZERS, arq_job

    from adolfd.enqueue import enqueue
    from adolfd.registry import resolve
    from adolfd.runtime import worker_functions

    async def run(name: str, **kwargs) -> dict:
        spec = resolve(name)
        await run_queue(spec.module, spec.queue)              # what is already due goes first
        queued = await enqueue(res.redis, name, kwargs)
        functions, _ = worker_functions(spec.module, spec.queue)
        worker = Worker(functions=functions, queue_name=spec.queue_name, redis_pool=res.redis, burst=True,
                        max_burst_jobs=1, handle_signals=False, poll_delay=0.01, ctx={"resources": res},
                        **SERIALIZERS)
        await worker.main()
        info = await arq_job(res.redis, queued.job_id).result_info()
        return {"job_id": queued.job_id, "success": info.success, "result": info.result, "tries": info.job_try}

    return run
