"""The marketing section of `adolfd status` and the bot's /status: the bid cycle's lock and last run, API health."""
from __future__ import annotations

from typing import Any

from adolfd.keys import MARKETING_API_STATUS as API_STATUS
from adolfd.keys import MARKETING_BID_CYCLE_LOCK as LOCK_KEY
from adolfd.keys import MARKETING_LAST_CYCLE as LAST_CYCLE
from adolfd.workers.marketing.ad_account import MARKETPLACES
from adolfd.workers.marketing.kill_switch import bids_paused


async def marketing_status(redis: Any, db: Any) -> dict[str, Any]:
    def text(raw: dict) -> dict[str, str]:
        return {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                for k, v in raw.items()}
    return {
        "bids_paused": await bids_paused(db, redis),
        "bid_cycle_running": bool(await redis.exists(LOCK_KEY)),
        "last_bid_cycle": text(await redis.hgetall(LAST_CYCLE)),
        "api_status": {mp: text(await redis.hgetall(API_STATUS.format(mp=mp))) for mp in MARKETPLACES},
    }


