"""`adolfd`: the command as an operator runs it (a real process against the test database and Redis)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.fixture
def adolfd(settings, res):
    def run(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "ADOLFD_DATABASE_URL": settings.database_url, "ADOLFD_REDIS_URL": settings.redis_url}
        return subprocess.run([sys.executable, "-m", "adolfd", *args], env=env, capture_output=True,
                              text=True, timeout=60)
    return run
