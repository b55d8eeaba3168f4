"""Commands packed by hiredis reach Redis exactly as redis-py's own packer would send them."""

from __future__ import annotations

from adapters.redis import RedisStore
from adapters.redis.packing import CONNECTION_CLASS, HiredisPackingConnection


async def test_the_store_packs_with_hiredis_and_every_kind_of_argument_round_trips(store: RedisStore) -> None:
    assert CONNECTION_CLASS is HiredisPackingConnection
    assert store.client.connection_pool.connection_class is HiredisPackingConnection
    await store.client.hset("h", mapping={"text": "20 % off — 七折", "n": 7, "f": 0.5, "b": b"\x00\xff"})
    assert await store.client.hmget("h", ["text", "n", "f"]) == ["20 % off — 七折", "7", "0.5"]
    async with store.client.pipeline(transaction=True) as pipe:
        pipe.set("a", "1")
        pipe.incrby("a", 41)
        pipe.config_get("maxmemory")  # a two-word command name
        replies = await pipe.execute()
    assert replies[:2] == [True, 42]
    assert "maxmemory" in replies[2]
    assert await store.client.eval("return ARGV[1] .. ARGV[2]", 0, "é", 3) == "é3"
