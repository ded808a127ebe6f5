"""`./dev.sh adolfd`: the caller's ADOLFD_REDIS_URL / ADOLFD_DATABASE_URL win over the demo's env files (README)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _dev_script_with_a_stub_adolfd(tmp_path: Path) -> Path:
    """dev.sh in a scratch project whose `adolfd` prints the two URLs it was given."""
    shutil.copy(ROOT / "dev.sh", tmp_path / "dev.sh")
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "demo.env").write_text("ADOLFD_REDIS_URL=redis://demo-redis:6390/0\n"
                                               "ADOLFD_DATABASE_URL=postgresql://postgres@demo-pg:5440/adolfd\n")
    (tmp_path / "var" / "demo.sandbox.env").write_text("ADOLFD_API_URLS__OZON_SELLER=http://127.0.0.1:8900/x\n")
    stub = tmp_path / ".venv" / "bin" / "adolfd"
    stub.parent.mkdir(parents=True)
    stub.write_text('#!/bin/sh\necho "$ADOLFD_REDIS_URL $ADOLFD_DATABASE_URL $ADOLFD_API_URLS__OZON_SELLER"\n')
    stub.chmod(0o755)
    return tmp_path / "dev.sh"


def _run(script: Path, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ADOLFD_")}
    out = subprocess.run(["bash", str(script), "adolfd", "status"], env={**clean, **env}, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_the_callers_service_urls_win_over_the_demo_files(tmp_path):
    script = _dev_script_with_a_stub_adolfd(tmp_path)
    assert _run(script) == ("redis://demo-redis:6390/0 postgresql://postgres@demo-pg:5440/adolfd "
                            "http://127.0.0.1:8900/x")
    assert _run(script, ADOLFD_REDIS_URL="redis://mine:6379/5", ADOLFD_DATABASE_URL="postgresql://me@mine/db") == (
        "redis://mine:6379/5 postgresql://me@mine/db http://127.0.0.1:8900/x")
    assert _run(script, ADOLFD_DATABASE_URL="postgresql://me@mine/db").startswith(
        "redis://demo-redis:6390/0 postgresql://me@mine/db")
