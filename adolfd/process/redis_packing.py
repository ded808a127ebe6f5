"""Redis commands packed by hiredis. redis-py's asyncio connections build every command's wire bytes in Python,
one encode and join per argument, while its synchronous client hands them to hiredis when installed (arq installs
it with `redis[hiredis]`). On short jobs that packing was ~10 % of a worker's CPU: the job's finish script alone
carries a dozen arguments."""
from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis
from redis.asyncio.connection import AbstractConnection
from redis.connection import HiredisRespSerializer
from redis.utils import HIREDIS_AVAILABLE


def pack_with_hiredis(redis: ArqRedis) -> None:
    """Connections the pool opens from now on pack with hiredis; without hiredis ≥ 3 nothing changes."""
    if HIREDIS_AVAILABLE:
        pool = redis.connection_pool
        pool.connection_class = hiredis_packing(pool.connection_class)


_PACKED: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def hiredis_packing(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    """The pool's own connection class (TCP, TLS, Unix socket, Sentinel-managed) with hiredis's packer; one class
    per kind, however many pools."""
    known = _PACKED.get(connection_class)
    if known is not None:
        return known
    serializer = HiredisRespSerializer()

    class HiredisPacked(connection_class):  # type: ignore[valid-type,misc]
        def pack_command(self, *args: Any) -> list[bytes]:
            return serializer.pack(*args)

    HiredisPacked.__name__ = HiredisPacked.__qualname__ = f"HiredisPacked{connection_class.__name__}"
    _PACKED[connection_class] = HiredisPacked
    return HiredisPacked
