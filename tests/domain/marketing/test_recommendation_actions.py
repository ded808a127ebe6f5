"""Accepting a recommendation: which bids move and where (seed 002 §7.3.4)."""
from __future__ import annotations

from adolfd.domain.marketing.recommendation_actions import KeywordBid, accepted_bids, bid_direction


def test_cost_above_target_lowers_bids_by_ten_percent_within_the_minimum() -> None:
    kws = [KeywordBid(1, 5000, 100), KeywordBid(2, 1000, 950), KeywordBid(3, 500, 100)]
    assert accepted_bids("drr_above_target", kws, max_bid=10_000) == {1: 4500}   # 2 floored (<1 ₽), 3 <1 ₽


def test_headroom_raises_bids_up_to_max_bid() -> None:
    kws = [KeywordBid(1, 5000, 100), KeywordBid(2, 9800, 100)]
    assert accepted_bids("drr_headroom", kws, max_bid=10_000) == {1: 5500, 2: 10_000}


def test_advice_without_a_bid_direction_changes_nothing() -> None:
    assert bid_direction("ctr_falling") == 0
    assert accepted_bids("no_impressions", [KeywordBid(1, 5000, 100)], max_bid=10_000) == {}
