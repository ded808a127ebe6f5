"""The wheel as docs/operations.md installs it: built with pip, installed into a fresh virtual environment
(no system site-packages, no checkout on the path), and its `adolfd migrate` and `adolfd schedule` work."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import asyncpg
import pytest
from adolfd.cron import TABLE

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__",
                                    ".pytest_cache", "reports")


def _run(*cmd: str | Path, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900, **kw)
    assert out.returncode == 0, f"{cmd}: {out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(wheel, venv): the wheel built from a copy of the source tree, installed into a new venv with its `fast`
    extra and the locked versions, as docs/operations.md installs it."""
    tmp = tmp_path_factory.mktemp("packaging")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)      # an in-tree build would leave build/ in the checkout
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp / "dist", source)
    wheel = next((tmp / "dist").glob("adolfd-*.whl"))
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", venv)
    _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", "-c", ROOT / "requirements.lock", f"{wheel}[fast]")
    return wheel, venv


@pytest.mark.slow
def test_the_wheel_carries_the_schema_and_the_typing_marker(installed):
    wheel, _ = installed
    with zipfile.ZipFile(wheel) as whl:
        assert whl.read("adolfd/schema.sql") == (ROOT / "schema.sql").read_bytes()
        assert "adolfd/py.typed" in whl.namelist()
        assert not any(name.startswith(("tests/", "bench/")) for name in whl.namelist())


@pytest.mark.slow
async def test_the_installed_command_migrates_and_prints_the_schedule(installed, empty_database, settings, tmp_path):
    _, venv = installed
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADOLFD_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(ADOLFD_DATABASE_URL=empty_database, ADOLFD_REDIS_URL=settings.redis_url.get_secret_value())
    adolfd = venv / "bin" / "adolfd"

    origin = _run(venv / "bin" / "python", "-c", "import adolfd.process.db; print(adolfd.process.db.__file__)",
                  env=env, cwd=tmp_path)
    assert Path(origin.stdout.strip()).is_relative_to(venv)        # the installed copy, not the checkout
    _run(venv / "bin" / "python", "-c", "import uvloop", env=env, cwd=tmp_path)   # `fast`: the daemon's event loop

    migrated = _run(adolfd, "migrate", env=env, cwd=tmp_path)
    assert "schema applied" in migrated.stdout
    conn = await asyncpg.connect(empty_database)
    try:
        assert await conn.fetchval("SELECT to_regclass('public.failed_jobs') IS NOT NULL")
    finally:
        await conn.close()

    schedule = _run(adolfd, "schedule", "--json", env=env, cwd=tmp_path)
    assert len(json.loads(schedule.stdout)) == len(TABLE)
