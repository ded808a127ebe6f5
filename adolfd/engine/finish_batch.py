"""Job finishes sent to Redis together: the finish (ARQ's result, claim release and adolfd's run book, one Lua
call a job: runtime.FINISH_JOB) of every job that ends in the same turn of the event loop, or while the previous
batch is on its way, goes in one write. A busy worker then makes one round trip for many finishes instead of one
each; an idle one sends each finish at once, as before.

Each script call stays atomic by itself (a pipeline without MULTI), so one job's finish never depends on
another's. A batch is repeated whole while Redis is down: a finish is safe to repeat (it only sets, deletes and
removes), and a job that has run must not run again when its claim expires.
"""
from __future__ import annotations

import asyncio
import hashlib
from functools import partial
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from adolfd.engine.outage import Backoff, until_done

Call = tuple[list[Any], list[Any], "asyncio.Future[Any]"]


class FinishBatcher:
    def __init__(self, redis: Redis, script: str, backoff: Backoff) -> None:
        self.redis = redis
        self.script = script
        self.sha = hashlib.sha1(script.encode()).hexdigest()
        self.backoff = backoff
        self.pending: list[Call] = []
        self.flusher: asyncio.Task[None] | None = None

    def submit(self, keys: list[Any], args: list[Any]) -> asyncio.Future[Any]:
        """Queue the script with these keys and arguments for the next batch; the future of its reply. The call
        is sent whether or not anyone still awaits that future: a cancelled job task cannot drop its finish."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.append((keys, args, done))
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._flush())
        return done

    async def _flush(self) -> None:
        # A new task's first step runs in the loop's next turn: the other jobs ending in this turn have joined.
        while self.pending:
            batch, self.pending = self.pending, []
            try:
                replies = await until_done(partial(self._send, batch), self.backoff)
            except BaseException as exc:            # cancelled at exit: tell the waiting jobs, not silence
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                raise
            for (_, _, done), reply in zip(batch, replies, strict=True):
                if done.done():
                    continue
                if isinstance(reply, Exception):
                    done.set_exception(reply)
                else:
                    done.set_result(reply)

    async def _send(self, batch: list[Call]) -> list[Any]:
        replies = await self._pipeline(batch)
        if any(isinstance(reply, NoScriptError) for reply in replies):   # a restarted Redis: load, send again
            await self.redis.script_load(self.script)
            replies = await self._pipeline(batch)
        return replies

    async def _pipeline(self, batch: list[Call]) -> list[Any]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for keys, args, _ in batch:
                pipe.evalsha(self.sha, len(keys), *keys, *args)
            return list(await pipe.execute(raise_on_error=False))
