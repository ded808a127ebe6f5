"""The daemon's Redis connections pack commands with hiredis: the same bytes as redis-py's own packer, on a real
Redis, for every kind of argument adolfd sends."""
from __future__ import annotations

import pytest
from adolfd.process.redis_packing import hiredis_packing
from redis.asyncio.connection import Connection
from redis.asyncio.sentinel import SentinelManagedConnection
from redis.exceptions import DataError

ARGUMENTS = ("EVAL", "return ARGV", 0, "плата ₽", "", 7, -3, 2.5, b"a\r\nb", memoryview(b"view"), b"\x00\xff")


async def test_the_pool_packs_with_hiredis_the_bytes_redis_py_would(res):
    pool = res.redis.connection_pool
    assert pool.connection_class.__name__ == "HiredisPackedConnection"
    assert issubclass(pool.connection_class, Connection)
    packed = pool.connection_class().pack_command(*ARGUMENTS)
    assert b"".join(packed) == b"".join(bytes(part) for part in Connection().pack_command(*ARGUMENTS))


async def test_awkward_values_round_trip_through_real_redis(res):
    answer = await res.redis.execute_command(*ARGUMENTS)
    assert answer == ["плата ₽".encode(), b"", b"7", b"-3", b"2.5", b"a\r\nb", b"view", b"\x00\xff"]
    await res.redis.set("adolfd:test:packing", "значение")
    assert await res.redis.get("adolfd:test:packing") == "значение".encode()


async def test_a_value_redis_cannot_take_is_still_a_clear_error(res):
    with pytest.raises(DataError):
        await res.redis.set("adolfd:test:packing", True)
    with pytest.raises(DataError):
        await res.redis.set("adolfd:test:packing", None)


def test_every_kind_of_connection_keeps_its_own_behaviour():
    sentinel = hiredis_packing(SentinelManagedConnection)
    assert issubclass(sentinel, SentinelManagedConnection)
    assert sentinel.__name__ == "HiredisPackedSentinelManagedConnection"
    assert hiredis_packing(SentinelManagedConnection) is sentinel        # one class per kind, not one per pool
