"""Building and closing a process's shared resources: asyncpg pool, ArqRedis, httpx clients."""
from __future__ import annotations

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from adolfd.engine.context import Resources
from adolfd.engine.serialization import SERIALIZERS
from adolfd.process import db
from adolfd.process.clock import Clock
from adolfd.settings import Settings


def redis_settings(settings: Settings) -> RedisSettings:
    """After a Redis restart every pooled connection is dead; a command that meets one reconnects and is sent
    again (twice at most) instead of failing, so a short restart is invisible to jobs."""
    url = settings.redis_url
    redis = RedisSettings.from_dsn(url.get_secret_value())
    redis.username, redis.password = url.username, url.password   # arq leaves them percent-encoded
    redis.retry_on_error = [redis_errors.ConnectionError, redis_errors.TimeoutError]
    redis.retry = Retry(ExponentialBackoff(cap=0.5, base=0.02), retries=2)
    return redis


async def connect_redis(settings: Settings) -> ArqRedis:
    """The process's ArqRedis; jobs and results it writes and reads are JSON (adolfd.engine.serialization)."""
    return await create_pool(redis_settings(settings), **SERIALIZERS)


async def build_resources(settings: Settings, clock: Clock | None = None) -> Resources:
    redis = await connect_redis(settings)
    try:
        pool = await db.create_pool(settings.database_url.get_secret_value(), settings.db_pool_size)
    except BaseException:
        await redis.aclose(close_connection_pool=True)
        raise
    return Resources(settings=settings, db=pool, redis=redis, clock=clock or Clock())


async def close_resources(res: Resources) -> None:
    await res.close()
    await res.db.close()
    await res.redis.aclose(close_connection_pool=True)
