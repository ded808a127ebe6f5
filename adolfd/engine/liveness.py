"""Knowing a dead worker by its liveness, not by its jobs' timeouts.

A worker process writes a heartbeat key with a short TTL (`adolfd:alive:<process>`) and refreshes it every
`heartbeat_seconds`. What it holds carries its process id: each job claim (ARQ's in-progress key, whose value
ARQ itself only tests for existence) and each lock taken with `owned_lock_token` (the bid cycle's). Every worker
sweeps the claims and owned locks every `heartbeat_seconds`; a holder whose heartbeat has been gone on two
sweeps at least `2 × heartbeat_seconds` apart is dead (SIGKILL, OOM kill, a lost host), and what it held is
freed, so its jobs run again on a living worker within seconds instead of after the claim's TTL (the longest
job timeout of the queue plus 10 s). The grace of two sweeps covers a Redis restart without persistence,
after which every living worker rewrites its heartbeat within one period.

A living process's own claim can be stray too: after a Sentinel promotion, or a restart from an append-only
file that lost its last second, the new master holds claims whose finishes went to the old one. Such a claim
names this process but no job it runs, and blocks its job until the TTL. The sweep frees a claim of its own
process that names no job the process holds on two sweeps at least the grace apart (a job claimed while a sweep
reads is held by the next one, and a claim kept past its job's end is rewritten as unowned).
"""
from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import structlog
from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis

from adolfd.engine.outage import REDIS_DOWN, Backoff
from adolfd.keys import ALIVE, OWNED_LOCKS

log = structlog.get_logger(__name__)

# A claim or lock that names no process (a plain ARQ worker, `adolfd run`) is left to its TTL.
UNOWNED = "1"
_SEPARATOR = "|"

# KEYS: the held key, the holder's heartbeat key; ARGV: the value it holds → 1 if freed
RELEASE_IF_DEAD = """
if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

# KEYS: the claim; ARGV: the value it holds → 1 if freed
RELEASE_IF_UNCHANGED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

_state: dict[str, str | None] = {"process": None, "pid_process": None}


def process_id() -> str:
    """This process's name in claims and locks: host, pid and a random tail (a pid is reused after a restart)."""
    current = _state.get("pid_process")
    if current is None or not current.startswith(f"{socket.gethostname()}:{os.getpid()}:"):
        current = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        _state["pid_process"] = current
    return current


def owner() -> str | None:
    """The process id while this process keeps a heartbeat (a worker group runs), else None."""
    return _state["process"]


def claim_value() -> str:
    """What a job claim (ARQ's in-progress key) holds: the owning process, or ARQ's plain '1'."""
    return owner() or UNOWNED


def owned_lock_token() -> str | None:
    """A lock token that names this process (for `redis.lock(...).acquire(token=...)`), or None (redis-py's own
    random token) when no heartbeat runs here. Register the lock key with `register_owned_lock`."""
    process = owner()
    return f"{process}{_SEPARATOR}{uuid.uuid4().hex}" if process else None


async def register_owned_lock(redis: Redis, key: str) -> None:
    """Name `key` among the locks the sweep inspects (a set of key names; registering twice is harmless)."""
    await redis.sadd(OWNED_LOCKS, key)  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T


async def unregister_owned_lock(redis: Redis, key: str) -> None:
    """For locks named per item (one per bid change): drop the name once the lock is released, so the set the
    sweep reads stays small. A dead process's lock and its name are dropped by the sweep."""
    await redis.srem(OWNED_LOCKS, key)  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T


def holder_of(value: bytes | str | None) -> str | None:
    """The process named by a claim or a lock token, or None if it names none."""
    if value is None:
        return None
    text = value.decode(errors="replace") if isinstance(value, bytes) else value
    process = text.split(_SEPARATOR, 1)[0]
    return process if process.count(":") >= 2 else None


@dataclass
class Sweep:
    """One sweep's findings; `suspects` (process → monotonic time first seen without a heartbeat) and `strays`
    (own claim key → monotonic time first seen naming no job this process holds) carry over."""
    grace: float
    suspects: dict[str, float] = field(default_factory=dict)
    strays: dict[str, float] = field(default_factory=dict)
    jobs: list[str] = field(default_factory=list)
    locks: list[str] = field(default_factory=list)

    def dead(self, process: str, alive: bool, now: float) -> bool:
        if alive:
            self.suspects.pop(process, None)
            return False
        first = self.suspects.setdefault(process, now)
        return now - first >= self.grace

    def stray(self, key: str, now: float) -> bool:
        return now - self.strays.setdefault(key, now) >= self.grace


async def _held(redis: Redis) -> list[tuple[str, bytes]]:
    """(key, value) of every job claim and every registered owned lock."""
    keys = [k.decode() if isinstance(k, bytes) else k
            async for k in redis.scan_iter(match=in_progress_key_prefix + "*", count=1000)]
    locks = sorted(m.decode() if isinstance(m, bytes) else m
                   for m in await redis.smembers(OWNED_LOCKS))  # type: ignore[misc]  # redis-py stub
    names = locks + keys           # locks first: a job run again must find its dead owner's lock gone
    values = await redis.mget(names) if names else []
    return [(k, v) for k, v in zip(names, values, strict=True) if v is not None]


async def sweep_once(redis: Redis, sweep: Sweep, *, me: str | None = None, now: float | None = None,
                     running: Callable[[], Collection[str]] | None = None) -> Sweep:
    """Free what dead processes hold, and `me`'s stray claims. `me` (this process) is alive by running this;
    `running` names the jobs it holds (read after the claims are)."""
    now = time.monotonic() if now is None else now
    sweep.jobs, sweep.locks = [], []
    held = [(key, value, holder_of(value)) for key, value in await _held(redis)]
    if me is not None and running is not None:
        await _free_strays(redis, sweep, [(k, v) for k, v, p in held if p == me], running(), now)
    processes = sorted({p for _, _, p in held if p is not None and p != me})
    if not processes:
        sweep.suspects.clear()
        return sweep
    alive = await redis.mget([ALIVE.format(process=p) for p in processes])
    dead = {p for p, beat in zip(processes, alive, strict=True) if sweep.dead(p, beat is not None, now)}
    for gone in set(sweep.suspects) - set(processes):
        sweep.suspects.pop(gone)
    release = redis.register_script(RELEASE_IF_DEAD)
    for key, value, process in held:
        if process in dead and await release(keys=[key, ALIVE.format(process=process)], args=[value]):
            if key.startswith(in_progress_key_prefix):
                sweep.jobs.append(key.removeprefix(in_progress_key_prefix))
            else:
                sweep.locks.append(key)
                # its name goes too: a lock's next holder registers it again before taking it
                await redis.srem(OWNED_LOCKS, key)  # type: ignore[misc]  # redis-py stub: Awaitable[T] | T
    for process in dead:
        sweep.suspects.pop(process, None)
        log.warning("dead_worker_released", worker=process,
                    jobs=[j for k, v, p in held if p == process and k.startswith(in_progress_key_prefix)
                          for j in [k.removeprefix(in_progress_key_prefix)] if j in sweep.jobs],
                    locks=[k for k, _, p in held if p == process and k in sweep.locks])
    return sweep


async def _free_strays(redis: Redis, sweep: Sweep, mine: list[tuple[str, bytes]], running: Collection[str],
                       now: float) -> None:
    claims = {key: value for key, value in mine if key.startswith(in_progress_key_prefix)
              and key.removeprefix(in_progress_key_prefix) not in running}
    for gone in set(sweep.strays) - set(claims):
        sweep.strays.pop(gone)
    release = redis.register_script(RELEASE_IF_UNCHANGED)
    freed = []
    for key, value in claims.items():
        if sweep.stray(key, now):
            sweep.strays.pop(key)
            if await release(keys=[key], args=[value]):
                freed.append(key.removeprefix(in_progress_key_prefix))
    if freed:
        sweep.jobs.extend(freed)
        log.warning("stray_job_claims_released", jobs=sorted(freed))


async def beat(redis: Redis, process: str, period: float) -> None:
    await redis.set(ALIVE.format(process=process), str(time.time()), px=int(period * 3000))


async def run(redis: Redis, period: float, on_release: Callable[[], None],
              running: Callable[[], Collection[str]] | None = None) -> None:
    """The heartbeat and the sweep of one worker process, every `period` seconds, through Redis outages.
    `on_release` is told when claims were freed (the group then polls its queues at once); `running` names the
    jobs this process holds."""
    process = process_id()
    _state["process"] = process
    sweep = Sweep(grace=2 * period)
    outage = Backoff("liveness")
    try:
        while True:
            try:
                await beat(redis, process, period)
                await sweep_once(redis, sweep, me=process, running=running)
            except REDIS_DOWN as exc:
                await outage.after_failure(exc)
                continue
            outage.succeeded()
            if sweep.jobs:
                on_release()
            await asyncio.sleep(period)
    finally:
        _state["process"] = None


async def start_beating(redis: Redis, period: float) -> None:
    """The first heartbeat, before the process claims anything (a failure is left to the loop)."""
    process = process_id()
    _state["process"] = process
    try:
        await beat(redis, process, period)
    except REDIS_DOWN:
        pass


async def farewell(redis: Redis) -> None:
    """A clean stop: the heartbeat goes at once (what the process held was finished or handed back)."""
    process = _state.get("pid_process")
    if process:
        try:
            await redis.delete(ALIVE.format(process=process))
        except REDIS_DOWN:
            pass
