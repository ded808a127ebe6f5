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


def _effective(unit: str, key: str) -> list[str]:
    """The values of `key` a unit gets from its file and every drop-in systemd applies to it, in order (an
    empty assignment resets the list, as systemd does for these list settings)."""
    systemd = ROOT / "systemd"
    prefix = unit.split("-")[0] + "-"
    files = [systemd / unit, *sorted([*(systemd / f"{prefix}.service.d").glob("*.conf"),
                                      *(systemd / f"{unit}.d").glob("*.conf")], key=lambda p: p.name)]
    values: list[str] = []
    for path in files:
        for line in path.read_text().splitlines():
            if line.startswith(f"{key}="):
                value = line.split("=", 1)[1]
                values = [] if not value else [*values, value]
    return values


def test_only_the_production_units_get_configuration_and_secrets():
    production = sorted(p.name for p in (ROOT / "systemd").glob("adolfd-*.service") if "sandbox" not in p.name)
    assert len(production) == 4
    for unit in production:
        assert _effective(unit, "LoadCredential") == ["ADOLFD:/etc/adolfd/credentials"]
        assert _effective(unit, "EnvironmentFile") == ["-/etc/adolfd/adolfd.env"]
    for key in ("LoadCredential", "LoadCredentialEncrypted", "SetCredential", "ImportCredential"):
        assert _effective("adolfd-sandbox.service", key) == []
    assert _effective("adolfd-sandbox.service", "EnvironmentFile") == ["/etc/adolfd/sandbox.env"]


def test_verify_fails_when_a_drop_in_hands_the_sandbox_a_secret(tmp_path):
    import shutil

    copy = tmp_path / "systemd"
    shutil.copytree(ROOT / "systemd", copy)
    (copy / "adolfd-sandbox.service.d").mkdir()
    (copy / "adolfd-sandbox.service.d" / "50-oops.conf").write_text(
        "[Service]\nLoadCredential=ADOLFD:/etc/adolfd/credentials\n")
    out = subprocess.run(["bash", str(copy / "verify.sh")], capture_output=True, text=True, timeout=300,
                         env={"PATH": f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin",
                              "ADOLFD_PYTHON": "/nonexistent"})
    assert out.returncode == 1 and "adolfd-sandbox.service would receive credentials" in out.stderr


def test_every_service_is_bounded_in_memory_and_hardened_beyond_the_basics():
    for unit in sorted(p.name for p in (ROOT / "systemd").glob("adolfd-*.service")):
        [high] = _effective(unit, "MemoryHigh")
        [limit] = _effective(unit, "MemoryMax")
        assert int(high[:-1]) < int(limit[:-1]) and limit.endswith("M")
        assert _effective(unit, "PrivateMounts") == ["yes"]
        assert "~@resources" in _effective(unit, "SystemCallFilter")
