"""`adolfd`: the command as an operator runs it (a real process against the test database and Redis)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from adolfd.testing import service_env


@pytest.fixture
def adolfd(settings, res):
    def run(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, **service_env(settings)}
        return subprocess.run([sys.executable, "-m", "adolfd", *args], env=env, capture_output=True,
                              text=True, timeout=60)
    return run
