"""sd_notify against a real AF_UNIX datagram socket standing in for systemd."""
from __future__ import annotations

import asyncio
import os
import socket
import uuid

import pytest
from adolfd.process import sdnotify


def _drain(sock: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            return messages


@pytest.fixture
def manager(tmp_path, monkeypatch):
    """A bound datagram socket at a file path, announced through NOTIFY_SOCKET."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setattr(sdnotify, "_stopping", False)
    yield sock
    sock.close()


@pytest.fixture
def abstract_manager(monkeypatch):
    name = f"adolfd-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    yield sock
    sock.close()


def test_ready_status_and_stopping_reach_the_socket(manager):
    assert sdnotify.ready("3 queues polling")
    assert sdnotify.status("draining\n2 jobs")
    assert sdnotify.stopping()
    assert sdnotify.extend_timeout(1.5)
    assert _drain(manager) == [
        "READY=1\nSTATUS=3 queues polling",
        "STATUS=draining 2 jobs",  # STATUS is one line: embedded newlines would start a new assignment
        "STOPPING=1",
        "EXTEND_TIMEOUT_USEC=1500000",
    ]


def test_abstract_namespace_socket(abstract_manager):
    assert sdnotify.watchdog_ping()
    assert _drain(abstract_manager) == ["WATCHDOG=1"]


def test_without_notify_socket_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.notify("READY=1") is False
    assert sdnotify.notify("READY=1", environ={"NOTIFY_SOCKET": "vsock:2:1234"}) is False


def test_unreachable_socket_is_reported_not_raised(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))
    assert sdnotify.ready() is False


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "x"}, None),
    ],
)
def test_watchdog_interval(env, expected):
    assert sdnotify.watchdog_interval(environ=env) == expected


async def test_watchdog_loop_pings_only_while_healthy(manager, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # 0.1 s period: pings every 0.05 s
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    healthy = True
    task = asyncio.create_task(sdnotify.watchdog_loop(lambda: healthy))
    try:
        await asyncio.sleep(0.3)
        pings_while_healthy = [m for m in _drain(manager) if m == "WATCHDOG=1"]
        assert len(pings_while_healthy) >= 3

        healthy = False
        await asyncio.sleep(0.08)  # let an in-flight iteration finish
        _drain(manager)
        await asyncio.sleep(0.3)
        assert "WATCHDOG=1" not in _drain(manager)

        healthy = True
        await asyncio.sleep(0.2)
        assert "WATCHDOG=1" in _drain(manager)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_watchdog_loop_treats_a_failing_check_as_unhealthy(manager):
    async def broken() -> bool:
        raise ConnectionError("redis down")

    task = asyncio.create_task(sdnotify.watchdog_loop(broken, interval=0.05))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    messages = _drain(manager)
    assert "WATCHDOG=1" not in messages
    assert messages == ["STATUS=unhealthy: watchdog pings withheld"]  # said once, not every period


async def test_watchdog_loop_returns_without_watchdog(monkeypatch):
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    await asyncio.wait_for(sdnotify.watchdog_loop(lambda: True), timeout=1)


async def test_watchdog_loop_ends_quietly_once_stopping(manager):
    healthy = True

    def check() -> bool:
        return healthy

    task = asyncio.create_task(sdnotify.watchdog_loop(check, interval=0.05))
    await asyncio.sleep(0.1)
    sdnotify.stopping("draining 2 jobs")
    healthy = False                                  # a draining worker reports itself unhealthy
    await asyncio.wait_for(task, 1)                  # the loop returns instead of withholding pings
    messages = _drain(manager)
    assert "STOPPING=1\nSTATUS=draining 2 jobs" in messages
    assert not any(m.startswith("STATUS=unhealthy") for m in messages)
    sdnotify.ready()                                 # a new start arms the watchdog again
    assert sdnotify._stopping is False
