"""Helpers for testing adolfd with real processes: a private redis-server that can be killed and restarted with
its data, a private PostgreSQL that can be restarted, and an `adolfd` subprocess whose JSON log lines can be
awaited.

They ship with adolfd (as structlog ships `structlog.testing`) so the fault tests, the benchmarks and anyone
checking a deployment use the same tools.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis


def service_env(settings: Any) -> dict[str, str]:
    """`ADOLFD_DATABASE_URL` and `ADOLFD_REDIS_URL` of `settings` for an adolfd subprocess (the settings hold them
    as secret types, which print masked)."""
    return {"ADOLFD_DATABASE_URL": settings.database_url.get_secret_value(),
            "ADOLFD_REDIS_URL": settings.redis_url.get_secret_value()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server on loopback with append-only persistence (fsync every second, as docs/operations.md
    recommends), so a restart keeps what was written more than a second before it."""

    def __init__(self, directory: Path, port: int | None = None, *, persistent: bool = True,
                 options: tuple[str, ...] = ()) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.persistent = persistent
        self.options = options        # more redis-server arguments, e.g. ("--rename-command", "KEYS", "")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        persistence = ["--appendonly", "yes", "--appendfsync", "everysec"] if self.persistent else \
            ["--appendonly", "no"]
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir",
             str(self.directory), *persistence, *self.options], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        await self.wait_ready()

    async def wait_ready(self, timeout: float = 10) -> None:
        client = aioredis.from_url(self.url)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    try:
                        await client.ping()
                        return
                    except Exception:  # noqa: BLE001 — starting, or loading its append-only file
                        await asyncio.sleep(0.02)
        finally:
            await client.aclose()

    def kill(self) -> None:
        """SIGKILL: what a crash or an OOM kill does."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        """SIGTERM: Redis's graceful shutdown (it flushes its append-only file)."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    async def restart(self, *, hard: bool, down_for: float = 0.0) -> None:
        self.kill() if hard else self.stop()
        await asyncio.sleep(down_for)
        await self.start()


class PostgresServer:
    """A private PostgreSQL (trust auth, loopback, its own data directory) that can be stopped and started again
    while adolfd runs: what a PostgreSQL upgrade, restart or crash looks like to the workers. Run as root, the
    server runs as the `postgres` user (PostgreSQL refuses root)."""

    def __init__(self, directory: Path | None = None, port: int | None = None) -> None:
        # its own directory directly under the temp root: the `postgres` user must be able to reach it
        self.directory = directory or Path(tempfile.mkdtemp(prefix="adolfd-pg-"))
        self.port = port or free_port()
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not bins:
            raise FileNotFoundError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        self.bin = bins[-1].parent

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self.directory.chmod(0o755)
            shutil.chown(self.directory, "postgres", "postgres")
        self._run("initdb", "-D", str(self.directory / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-l", str(self.directory / "log"), "-w", "-o",
                  f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{self.directory}' "
                  "-c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` (a clean restart: sessions cut) or `immediate` (a crash: recovery on the next start)."""
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", mode, "-w", "stop")

    async def restart(self, *, mode: str = "fast", down_for: float = 0.0) -> None:
        await asyncio.to_thread(self.stop, mode)
        await asyncio.sleep(down_for)
        await asyncio.to_thread(self.start)

    def remove(self) -> None:
        """Stop it (if running) and delete its data."""
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.directory, ignore_errors=True)


class AdolfdProcess:
    """`adolfd ARGS` as a subprocess; its stdout (JSON lines behind a `<N>` syslog prefix) is read all the time,
    so the child never blocks on a full pipe, and any log event can be awaited."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []
        self._cursor = 0
        self._new_line = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, *args: str, env: dict[str, str], ready: str | None = "worker_group_started",
                    timeout: float = 30) -> AdolfdProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adolfd", *args, env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        started = cls(proc)
        if ready:
            await started.wait_for(ready, timeout)
        return started

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            text = line.decode(errors="replace")
            if text.startswith("<") and ">" in text:
                try:
                    self.lines.append(json.loads(text[text.index(">") + 1:]))
                except ValueError:
                    continue
                self._new_line.set()
        self._new_line.set()

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("event") == event]

    async def wait_for(self, event: str, timeout: float = 15, **fields: Any) -> dict[str, Any]:
        """The next log line of `event` whose fields match, after the line the previous wait returned."""
        async with asyncio.timeout(timeout):
            while True:
                self._new_line.clear()
                for index in range(self._cursor, len(self.lines)):
                    record = self.lines[index]
                    if record.get("event") == event and all(record.get(k) == v for k, v in fields.items()):
                        self._cursor = index + 1
                        return record
                if self._reader.done():
                    raise AssertionError(f"process exited before {event}")
                await self._new_line.wait()

    @property
    def running(self) -> bool:
        return self.proc.returncode is None

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await self._reader
        return code


def with_jobs(monkeypatch: Any, module: str, *functions: Any) -> None:
    """Add jobs (functions marked with `@job`) to one module for the length of a test: the catalog that
    `resolve`, `enqueue` and the workers read is swapped for one that has them, and monkeypatch puts it back."""
    from dataclasses import replace

    from adolfd.engine import jobs
    from adolfd.modules import MODULES

    def extended(spec: Any) -> Any:
        return replace(spec, jobs=lambda: (*spec.jobs(), *functions), _cache={})

    catalog = jobs.Catalog(tuple(extended(m) if m.name == module else m for m in MODULES))
    monkeypatch.setattr(jobs, "catalog", lambda: catalog)


async def until_polling(task: asyncio.Task[Any], sandbox: Any, token: str = "", timeout: float = 10) -> None:
    """Wait until a bot served by `task` has a long poll (`getUpdates`) open at the in-process `sandbox`'s fake
    Bot API (the bot of `token`; the admin bot if none): from then on an injected update reaches it. Waiting for
    the poll to arrive, not to be answered, saves its timeout. Fails at once if the bot ended, and after
    `timeout` seconds if it never polled. Call it right after creating `task`, before the loop runs it."""
    from adolfd.sandbox.accounts import TELEGRAM_BOT
    from adolfd.sandbox.telegram import telegram_fake

    feed = telegram_fake(sandbox).feed(int(token.split(":")[0]) if token else TELEGRAM_BOT.bot_id)
    polls_before = feed.poll_generation
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while feed.poll_generation == polls_before:
        assert not task.done(), task.exception()
        assert loop.time() < deadline, "the bot never started polling"
        await asyncio.sleep(0.02)
