"""Does the adolfd venv run under systemd's MemoryDenyWriteExecute=yes?

The units set MemoryDenyWriteExecute=yes, which refuses writable+executable memory. JITs and old libffi
closures need such memory and would crash at the first call. This script turns on the same kernel rule for
itself (prctl PR_SET_MDWE, Linux >= 6.3) and then imports the whole dependency stack and every adolfd module,
makes a ctypes callback (libffi closure), signs with RSA (Google service-account auth) and runs an event loop
with TLS. Each import is compared with an unrestricted run, so only failures caused by the rule count.

Usage: python systemd/mdwe_check.py        (exit 0 = fine, 1 = something needs W+X memory, 2 = cannot check)
"""
from __future__ import annotations

import ctypes
import importlib
import json
import pkgutil
import subprocess
import sys

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1
STACK = [
    "ssl", "asyncio", "zoneinfo", "asyncpg", "redis.asyncio", "arq", "httpx", "aiohttp", "aiogram",
    "structlog", "pydantic", "pydantic_settings", "prometheus_client", "croniter", "aiocron",
    "gspread_asyncio", "google.oauth2.service_account", "cryptography.hazmat.primitives.asymmetric.rsa",
]


def _modules() -> list[str]:
    names = list(STACK)
    try:
        import adolfd
    except ImportError:
        return names
    for info in pkgutil.walk_packages(adolfd.__path__, "adolfd."):
        if not info.name.endswith(".__main__"):         # importing it would run the CLI
            names.append(info.name)
    return names


def _exercise() -> dict[str, str]:
    results: dict[str, str] = {}
    for name in _modules():
        try:
            importlib.import_module(name)
            results[name] = "ok"
        except BaseException as exc:  # noqa: BLE001 - report every kind of import failure
            results[name] = f"{type(exc).__name__}: {exc}"

    def probe(label, fn):
        try:
            fn()
            results[label] = "ok"
        except BaseException as exc:  # noqa: BLE001
            results[label] = f"{type(exc).__name__}: {exc}"

    def ctypes_callback():
        callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)
        assert callback(41) == 42

    def rsa_sign():
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key.sign(b"adolfd", padding.PKCS1v15(), hashes.SHA256())

    def event_loop_with_tls():
        import asyncio
        import ssl

        async def main():
            ssl.create_default_context()
            await asyncio.sleep(0)
        asyncio.run(main())

    probe("<ctypes callback>", ctypes_callback)
    probe("<rsa signature>", rsa_sign)
    probe("<event loop + tls context>", event_loop_with_tls)
    return results


def _child(restricted: bool) -> None:
    if restricted:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
            print(json.dumps({"<unsupported>": f"prctl(PR_SET_MDWE) errno {ctypes.get_errno()}"}))
            return
        import mmap
        try:
            mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
            print(json.dumps({"<unsupported>": "W+X mapping still allowed after PR_SET_MDWE"}))
            return
        except OSError:
            pass
    print(json.dumps(_exercise()))


def _run(restricted: bool) -> dict[str, str]:
    args = [sys.executable, __file__, "--child", "restricted" if restricted else "free"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        return {"<child crashed>": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2] == "restricted")
        return 0
    restricted = _run(restricted=True)
    if "<unsupported>" in restricted:
        print(f"mdwe_check: cannot check on this kernel ({restricted['<unsupported>']})")
        return 2
    free = _run(restricted=False)
    broken = {name: why for name, why in restricted.items() if why != "ok" and free.get(name) == "ok"}
    for name, why in sorted(broken.items()):
        print(f"mdwe_check: {name} fails under MemoryDenyWriteExecute: {why}")
    skipped = sorted(name for name, why in free.items() if why != "ok")
    if skipped:
        print(f"mdwe_check: not importable even without the rule (ignored): {', '.join(skipped)}")
    checked = sum(1 for why in restricted.values() if why == "ok")
    print(f"mdwe_check: {checked} modules/probes fine under MemoryDenyWriteExecute, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
