"""Building and closing a process's shared resources: asyncpg pool, ArqRedis, httpx clients."""
from __future__ import annotations

from urllib.parse import unquote, urlsplit

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from adolfd.engine.context import Resources
from adolfd.engine.serialization import SERIALIZERS
from adolfd.process import db
from adolfd.process.clock import Clock
from adolfd.process.redis_packing import pack_with_hiredis
from adolfd.settings import Settings

SENTINEL_SCHEME = "redis+sentinel"


def parse_redis_url(url: str) -> RedisSettings:
    """`redis://…` (one server, ARQ's own form), or through Redis Sentinel:
    `redis+sentinel://[[user]:password@]sentinel1:26379[,sentinel2:26379…]/MASTER_NAME[/DB]` — the sentinels to
    ask, the name of the monitored master, the database (0); the password is the master's."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        return RedisSettings.from_dsn(url)
    sentinels = []
    for item in parts.netloc.rsplit("@", 1)[-1].split(","):
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "26379")
        if not host or not port.isdigit():
            raise ValueError(f"redis+sentinel URL: {item!r} is not host:port")
        sentinels.append((host, int(port)))
    path = [piece for piece in parts.path.split("/") if piece]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError("redis+sentinel URL: the path is /MASTER_NAME or /MASTER_NAME/DB")
    return RedisSettings(host=sentinels, sentinel=True, sentinel_master=unquote(path[0]),
                         database=int(path[1]) if len(path) == 2 else 0,
                         username=unquote(parts.username) if parts.username else None,
                         password=unquote(parts.password) if parts.password else None)


def redis_settings(settings: Settings) -> RedisSettings:
    """After a Redis restart every pooled connection is dead; a command that meets one reconnects and is sent
    again (twice at most) instead of failing, so a short restart is invisible to jobs."""
    url = settings.redis_url
    redis = parse_redis_url(url.get_secret_value())
    if not redis.sentinel:
        redis.username, redis.password = url.username, url.password   # arq leaves them percent-encoded
    redis.retry_on_error = [redis_errors.ConnectionError, redis_errors.TimeoutError]
    redis.retry = Retry(ExponentialBackoff(cap=0.5, base=0.02), retries=2)
    return redis


async def connect_redis(settings: Settings) -> ArqRedis:
    """The process's ArqRedis; jobs and results it writes and reads are JSON (adolfd.engine.serialization)."""
    redis = await create_pool(redis_settings(settings), **SERIALIZERS)
    pack_with_hiredis(redis)
    return redis


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
