"""What accepting a recommendation does to bids (seed 002 §7.3.4 recommendations, applied by an operator).

Advice that names a bid direction becomes one bid change per active keyword of the campaign: ad cost share or
cost per order above target → bids down one accept step (10 %); cost share under half its target → bids up one
step. The new bid stays within the marketplace minimum and the campaign's max_bid, and a change under 1 ₽ is not
made (DOMAIN.md). Other advice (photos, moderation, limits) has no bid to change: accepting it records the
decision only."""
from __future__ import annotations

from dataclasses import dataclass

ACCEPT_STEP_PERCENT = 10
MIN_CHANGE = 100                     # kopecks
_DIRECTION = {"drr_above_target": -1, "cpo_above_target": -1, "drr_headroom": +1}


@dataclass(frozen=True)
class KeywordBid:
    keyword_id: int
    bid: int                         # kopecks
    min_bid: int


def bid_direction(kind: str) -> int:
    """-1 lower, +1 raise, 0 nothing to change."""
    return _DIRECTION.get(kind, 0)


def accepted_bids(kind: str, keywords: list[KeywordBid], max_bid: int) -> dict[int, int]:
    """New bid per keyword (kopecks) for an accepted recommendation; keywords whose bid would not move by 1 ₽
    or more are left out."""
    direction = bid_direction(kind)
    if direction == 0:
        return {}
    out: dict[int, int] = {}
    for k in keywords:
        wanted = k.bid + direction * k.bid * ACCEPT_STEP_PERCENT // 100
        new = min(max(wanted, k.min_bid), max_bid)
        if abs(new - k.bid) >= MIN_CHANGE:
            out[k.keyword_id] = new
    return out
