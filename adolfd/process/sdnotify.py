"""systemd notification protocol (sd_notify(3)) without libsystemd or extra packages.

The units in `systemd/` are `Type=notify` with `WatchdogSec=`: systemd considers a worker started only when it
sends `READY=1`, restarts it when watchdog pings stop, and shows `STATUS=` in `systemctl status`. The protocol is
one datagram of newline-separated `KEY=VALUE` lines to the AF_UNIX socket named by `$NOTIFY_SOCKET` (a leading
`@` means the Linux abstract namespace). The service manager, not the operator, sets `NOTIFY_SOCKET`,
`WATCHDOG_USEC` and `WATCHDOG_PID`, so they are read here rather than through settings. Outside systemd every
call is a cheap no-op returning False.
"""
from __future__ import annotations

import asyncio
import inspect
import os
import socket
from collections.abc import Awaitable, Callable, Mapping

import structlog

log = structlog.get_logger(__name__)

HealthCheck = Callable[[], bool | Awaitable[bool]]

# Set by stopping(): systemd stops watching once it sends SIGTERM, so a draining process is not "unhealthy".
_stopping = False


def _address(raw: str) -> str | bytes | None:
    if not raw:
        return None
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()  # abstract namespace: no file on disk
    if raw.startswith("/"):
        return raw
    return None  # vsock:… and other schemes are not used by our units


def notify(state: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Send one notification (e.g. "READY=1\\nSTATUS=…"). True when a service manager received it."""
    env = os.environ if environ is None else environ
    address = _address(env.get("NOTIFY_SOCKET", ""))
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(1.0)
            sock.sendto(state.encode(), address)
    except OSError as exc:
        log.warning("sd_notify_failed", error=str(exc), state=state.split("\n", 1)[0])
        return False
    return True


def _with_status(head: str, text: str | None) -> str:
    return head if text is None else f"{head}\nSTATUS={_one_line(text)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def ready(status_text: str | None = None) -> bool:
    """Start-up finished (pools open, workers polling): systemd moves the unit to `active`."""
    global _stopping
    _stopping = False
    return notify(_with_status("READY=1", status_text))


def stopping(status_text: str | None = None) -> bool:
    """SIGTERM received, draining running jobs: systemd shows `deactivating` instead of a hung unit, and the
    watchdog loop ends quietly (a drain is not a failure). Call it when the stop begins, not after the drain."""
    global _stopping
    _stopping = True
    return notify(_with_status("STOPPING=1", status_text))


def status(text: str) -> bool:
    """Free-form one-line status shown by `systemctl status` (e.g. "3 queues, 2 jobs running")."""
    return notify(f"STATUS={_one_line(text)}")


def watchdog_ping() -> bool:
    return notify("WATCHDOG=1")


def extend_timeout(seconds: float) -> bool:
    """Ask for more start/stop time (EXTEND_TIMEOUT_USEC), e.g. while a long job is still draining."""
    return notify(f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}")


def watchdog_interval(*, environ: Mapping[str, str] | None = None) -> float | None:
    """The watchdog period in seconds that systemd expects pings within, or None when no watchdog applies.

    `WATCHDOG_PID`, when set, names the one process the watchdog is meant for; a child process that inherited
    the environment must not ping on the parent's behalf.
    """
    env = os.environ if environ is None else environ
    raw_usec = env.get("WATCHDOG_USEC", "")
    if not raw_usec:
        return None
    try:
        usec = int(raw_usec)
    except ValueError:
        log.warning("watchdog_usec_invalid", value=raw_usec)
        return None
    if usec <= 0:
        return None
    raw_pid = env.get("WATCHDOG_PID", "")
    if raw_pid:
        try:
            if int(raw_pid) != os.getpid():
                return None
        except ValueError:
            log.warning("watchdog_pid_invalid", value=raw_pid)
            return None
    return usec / 1_000_000


async def _healthy(is_healthy: HealthCheck) -> bool:
    try:
        verdict = is_healthy()
        if inspect.isawaitable(verdict):
            verdict = await verdict
    except Exception as exc:  # a crashing health check means unhealthy, never a dead watchdog task
        log.warning("health_check_failed", error=repr(exc))
        return False
    return bool(verdict)


async def watchdog_loop(is_healthy: HealthCheck, *, interval: float | None = None) -> None:
    """Ping the watchdog every half period, but only while `is_healthy()` says so.

    A wedged event loop stops the pings by itself; an unhealthy process (Redis unreachable, worker loop dead)
    stops them on purpose, so systemd kills and restarts it after `WatchdogSec`. Returns at once when the unit
    has no watchdog, and once `stopping()` was sent; run it as a task and cancel it on shutdown.
    """
    period = watchdog_interval() if interval is None else interval
    if period is None:
        return
    half = period / 2
    was_healthy = True
    while not _stopping:
        healthy = await _healthy(is_healthy)
        if _stopping:
            return
        if healthy:
            watchdog_ping()
            if not was_healthy:
                log.info("watchdog_resumed")
        elif was_healthy:
            log.error("watchdog_withheld", period_s=period)
            status("unhealthy: watchdog pings withheld")
        was_healthy = healthy
        await asyncio.sleep(half)
