"""Building and closing a process's shared resources: asyncpg pool, ArqRedis, httpx clients."""
from __future__ import annotations

from arq.connections import ArqRedis, RedisSettings, create_pool

from adolfd import db
from adolfd.clock import Clock
from adolfd.context import Resources
from adolfd.serialization import SERIALIZERS
from adolfd.settings import Settings


def redis_settings(settings: Settings) -> RedisSettings:
    return RedisSettings.from_dsn(settings.redis_url)


async def connect_redis(settings: Settings) -> ArqRedis:
    """The process's ArqRedis; jobs and results it writes and reads are JSON (adolfd.serialization)."""
    return await create_pool(redis_settings(settings), **SERIALIZERS)


async def build_resources(settings: Settings, clock: Clock | None = None) -> Resources:
    redis = await connect_redis(settings)
    try:
        pool = await db.create_pool(settings.database_url, settings.db_pool_size)
    except BaseException:
        await redis.aclose(close_connection_pool=True)
        raise
    return Resources(settings=settings, db=pool, redis=redis, clock=clock or Clock())


async def close_resources(res: Resources) -> None:
    await res.close()
    await res.db.close()
    await res.redis.aclose(close_connection_pool=True)
