"""Acceptance fixtures: `adolfd run` itself (the frozen clocks and the 1C extract are in tests/conftest.py).

`adolfd_run` starts the real command line (`python -m adolfd run JOB k=v`) against the test Redis DB, so the
job goes through the operator's path: argument validation, the manual allow-list, the queue; a real ARQ worker
then drains that queue and the job's stored result is returned.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import pytest
from adolfd.engine.jobs import resolve
from adolfd.engine.serialization import arq_job
from adolfd.testing import service_env

CLI_TIMEOUT = 30.0


@pytest.fixture
def adolfd_run(res, settings, run_queue):
    """`await adolfd_run("generate_supply_tasks", brand_id="all")` → {job_id, success, result}.

    Runs `adolfd run` in a subprocess with the test settings' Redis, then drains the job's queue with a real
    worker (bounded by CLI_TIMEOUT, so a job that re-enqueues itself fails the test instead of hanging it)."""

    async def run(name: str, **kwargs: Any) -> dict[str, Any]:
        env = {**os.environ, **service_env(settings)}
        env.pop("CREDENTIALS_DIRECTORY", None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adolfd", "run", name, *(f"{k}={v}" for k, v in kwargs.items()),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
        assert proc.returncode == 0, (proc.returncode, err.decode())
        queued = json.loads(out.decode().strip().splitlines()[-1])
        spec = resolve(name)
        assert queued["status"] == "queued" and queued["queue"] == spec.queue_name, queued
        await asyncio.wait_for(run_queue(spec.module, spec.queue), CLI_TIMEOUT)
        info = await arq_job(res.redis, queued["job_id"]).result_info()
        assert info is not None, f"{name} ({queued['job_id']}) did not finish"
        return {"job_id": queued["job_id"], "success": info.success, "result": info.result}

    return run
