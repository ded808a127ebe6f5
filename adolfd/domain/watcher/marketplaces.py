"""adolfd names marketplaces `wb`, `ozon`, `ym`; the agents' protocol uses the seed's spelling
(`watcher:task_queue:{wildberries|ozon|yandex_market}`, seed 001 §7.3, §7.9). The two meet only here."""
from __future__ import annotations

from typing import Literal

Marketplace = Literal["wb", "ozon", "ym"]
AgentMarketplace = Literal["wildberries", "ozon", "yandex_market"]

MARKETPLACES: tuple[Marketplace, ...] = ("wb", "ozon", "ym")
TO_AGENT: dict[str, AgentMarketplace] = {"wb": "wildberries", "ozon": "ozon", "ym": "yandex_market"}
FROM_AGENT: dict[str, Marketplace] = {"wildberries": "wb", "ozon": "ozon", "yandex_market": "ym"}


def agent_name(marketplace: str) -> AgentMarketplace:
    """`wb` → `wildberries`; an unknown name is an error, never a silent new queue."""
    try:
        return TO_AGENT[marketplace]
    except KeyError:
        raise ValueError(f"unknown marketplace {marketplace!r}; expected one of {', '.join(MARKETPLACES)}") from None


def from_agent(name: str) -> Marketplace:
    """`yandex_market` → `ym`; adolfd's own short names are accepted too."""
    if name in FROM_AGENT:
        return FROM_AGENT[name]
    for own in MARKETPLACES:
        if own == name:
            return own
    raise ValueError(f"unknown marketplace {name!r}; expected one of {', '.join(TO_AGENT.values())}")
