"""Helpers for the workers' tests: the `adolfd` console script as an operator runs it."""
from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from adolfd.sandbox.environment import sandbox_env

ADOLFD = str(Path(sys.executable).with_name("adolfd"))


@pytest.fixture
def cli(settings, sandbox) -> Callable[..., Awaitable[tuple[int, str, str]]]:
    """`code, out, err = await cli("logistic", "tasks")`: one run of the installed `adolfd` against the test
    database, Redis and sandbox (a Python process each, so tests keep the runs few)."""

    async def run(*args: str, timeout: float = 60) -> tuple[int, str, str]:
        env = {**os.environ, **sandbox_env(sandbox.url), "ADOLFD_DATABASE_URL": settings.database_url,
               "ADOLFD_REDIS_URL": settings.redis_url, "ADOLFD_LOG_LEVEL": "warning"}
        proc = await asyncio.create_subprocess_exec(ADOLFD, *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        return proc.returncode or 0, out.decode(), err.decode()

    return run
