"""Secrets never reach stderr or the journal: a misnamed or malformed setting is named, its value never printed;
database and Redis URLs are secret types whose password is masked, percent-encoded passwords work, and an
unencoded `/` or `#` is refused at start-up instead of surfacing in a driver's traceback."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from adolfd.errors import BadConfiguration
from adolfd.secret_url import SecretUrl, masked
from adolfd.settings import Settings, load_settings
from adolfd.testing import free_port

SECRET = "s3/cr#et-Zq9"
ENCODED = "s3%2Fcr%23et-Zq9"


def adolfd_process(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """A real `adolfd` process with exactly these ADOLFD_* settings (the test's own environment stripped)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ADOLFD_")}
    return subprocess.run([sys.executable, "-m", "adolfd", *args], env={**clean, **env}, capture_output=True,
                          text=True, timeout=timeout)


def secret_parts(out: subprocess.CompletedProcess) -> list[str]:
    """Any piece of the secret (each side of its `/` and `#`) found in the process's output."""
    text = out.stdout + out.stderr
    return [p for p in (SECRET, "s3", "cr#et", "et-Zq9", "Zq9", ENCODED) if p in text]


@pytest.mark.parametrize(("variable", "value", "named"), [
    ("ADOLFD_CREDENTIALS__OZON_SELLER__OHANA_MARKET", f"tok-{SECRET}", "ADOLFD_CREDENTIALS__OZON_SELLER__OHANA_MARKET"),
    ("ADOLFD_LOGISTIC__TARGET_DAYS", f"tok-{SECRET}", "ADOLFD_LOGISTIC__TARGET_DAYS"),
    ("ADOLFD_OPS__ADMIN_IDS", f"tok-{SECRET}", "ADOLFD_OPS"),
    ("ADOLFD_DATABASE_URL", f"postgresql://adolfd:{SECRET}@127.0.0.1:5432/adolfd", "ADOLFD_DATABASE_URL"),
    ("ADOLFD_DATABASE_URL", "postgresql://adolfd:12/cr#et-Zq9@127.0.0.1:5432/adolfd", "ADOLFD_DATABASE_URL"),
    ("ADOLFD_REDIS_URL", f"redis://:{SECRET}@127.0.0.1:6379/0", "ADOLFD_REDIS_URL"),
])
def test_a_bad_setting_is_named_and_its_value_never_printed(variable, value, named):
    out = adolfd_process("status", **{variable: value})
    assert out.returncode == 2, out.stderr
    assert f"bad configuration: {named}" in out.stderr
    assert "input_value" not in out.stderr and "Traceback" not in out.stderr
    assert secret_parts(out) == [] and "12/cr" not in out.stderr
    if "URL" in variable:
        assert "%2F" in out.stderr and "%23" in out.stderr      # the operator is told how to write it


def test_url_settings_are_secret_types_that_mask_the_password():
    settings = Settings(database_url=f"postgresql://adolfd:{ENCODED}@db.local:5432/adolfd",
                        redis_url=f"redis://:{ENCODED}@127.0.0.1:6379/3")
    assert isinstance(settings.database_url, SecretUrl) and isinstance(settings.redis_url, SecretUrl)
    shown = f"{settings!r} {settings} {settings.database_url} {settings.redis_url!r}"
    assert "Zq9" not in shown and "postgresql://adolfd:***@db.local:5432/adolfd" in shown
    assert settings.redis_url.password == SECRET and settings.database_url.username == "adolfd"
    assert masked(f"postgresql://u:{SECRET}@h/db") == "postgresql://u:***@h/db"
    assert masked("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_load_settings_raises_without_the_value(monkeypatch):
    monkeypatch.setenv("ADOLFD_CREDENTIALS__WB__OHANA_MARKET", f"tok-{SECRET}")
    with pytest.raises(BadConfiguration) as caught:
        load_settings()
    assert "Zq9" not in str(caught.value) and caught.value.__cause__ is None and caught.value.__context__ is None


@pytest.mark.slow
async def test_percent_encoded_passwords_reach_redis_and_postgresql_decoded(settings, tmp_path: Path):
    """A Redis that requires the password `s3/cr#et-Zq9`, reached through its percent-encoded URL; the database
    URL carries one too. A process killed for a wrong password says so without printing it."""
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path), "--requirepass", SECRET],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = aioredis.from_url(f"redis://:{ENCODED}@127.0.0.1:{port}/0")
        async with asyncio.timeout(10):
            while True:
                try:
                    await client.ping()
                    break
                except Exception:  # noqa: BLE001 — still starting
                    await asyncio.sleep(0.05)
        await client.aclose()
        database = settings.database_url.get_secret_value().replace("postgresql://postgres@",
                                                                    f"postgresql://postgres:{ENCODED}@")
        ok = await asyncio.to_thread(adolfd_process, "status", "--json", ADOLFD_DATABASE_URL=database,
                                     ADOLFD_REDIS_URL=f"redis://:{ENCODED}@127.0.0.1:{port}/0")
        assert ok.returncode == 0, ok.stderr
        assert secret_parts(ok) == []
        wrong = await asyncio.to_thread(adolfd_process, "status", ADOLFD_DATABASE_URL=database,
                                        ADOLFD_REDIS_URL=f"redis://:wrong-{ENCODED}@127.0.0.1:{port}/0")
        assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
        assert secret_parts(wrong) == [] and "wrong-" not in wrong.stderr
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.slow
def test_a_worker_that_cannot_reach_its_database_never_prints_the_password():
    out = adolfd_process("worker", "operations", timeout=90, ADOLFD_METRICS_PORT="0",
                         ADOLFD_DATABASE_URL=f"postgresql://adolfd:{ENCODED}@127.0.0.1:{free_port()}/adolfd",
                         ADOLFD_REDIS_URL=f"redis://:{ENCODED}@127.0.0.1:{free_port()}/0")
    assert out.returncode != 0
    assert secret_parts(out) == []
