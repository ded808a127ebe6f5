"""The systemd units pass `systemd-analyze verify` (and the rest of systemd/verify.sh) on this machine."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_units_verify():
    out = subprocess.run(["bash", str(ROOT / "systemd" / "verify.sh")], capture_output=True, text=True,
                         timeout=300, env={"PATH": f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin"})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "verify: all units ok" in out.stdout
