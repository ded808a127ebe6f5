"""Bid requests of many campaigns packed as they are decided (WB: 50 campaigns × 50 products a request)."""
from __future__ import annotations

import random

from adolfd.clients.wb_advert import request_slices
from adolfd.workers.marketing.bid_packing import CampaignSlices


def _orders(campaigns: int, per_campaign: list[int]) -> dict[str, list[tuple[str, int]]]:
    return {f"c{c}": [(f"c{c}", n) for n in range(per_campaign[c])] for c in range(campaigns)}


def _streamed(orders: dict[str, list[tuple[str, int]]], page: int, seed: int) -> tuple[list[list], list[int]]:
    """Feed pages in a random interleaving, as concurrent campaign flows do; returns the requests and, for
    each one, how many orders were still undecided when it was released."""
    packer = CampaignSlices[tuple[str, int]](orders, per_campaign=50, campaigns_per_request=50)
    pages = {c: [items[i:i + page] for i in range(0, len(items), page)] for c, items in orders.items()}
    left = sum(len(items) for items in orders.values())
    rng = random.Random(seed)
    requests: list[list] = []
    undecided_at_release: list[int] = []
    while pages:
        campaign = rng.choice(sorted(pages))
        if pages[campaign]:
            part = pages[campaign].pop(0)
            left -= len(part)
            released = packer.add(campaign, part)
        else:
            del pages[campaign]
            released = packer.finish(campaign)
        requests += released
        undecided_at_release += [left] * len(released)
    return requests, undecided_at_release


def test_streamed_requests_equal_slicing_all_orders_at_the_end():
    sizes = [500, 120, 73, 0, 260] + [50] * 55          # 60 campaigns: more than one request holds
    orders = _orders(60, sizes)
    at_the_end = [sorted(o for _, part in request for o in part) for request in request_slices(orders)]
    for seed in range(5):
        streamed, _ = _streamed(orders, page=20, seed=seed)
        assert sorted(sorted(r) for r in streamed) == sorted(at_the_end)
        for request in streamed:
            per_campaign: dict[str, int] = {}
            for campaign, _ in request:
                per_campaign[campaign] = per_campaign.get(campaign, 0) + 1
            assert len(per_campaign) <= 50 and max(per_campaign.values()) <= 50


def test_a_request_leaves_before_every_order_is_decided():
    orders = _orders(20, [500] * 20)                    # 10 000 orders: 10 requests of 20 × 50
    requests, undecided = _streamed(orders, page=50, seed=1)
    assert len(requests) == 10 and all(len(r) == 1000 for r in requests)
    assert undecided[0] >= 5000        # the first request went out with half the orders still to decide
    assert sum(1 for left in undecided if left > 0) >= 8


def test_a_campaign_that_fails_releases_what_waited_for_it():
    packer = CampaignSlices[int](["a", "b"], per_campaign=50, campaigns_per_request=50)
    assert packer.add("a", list(range(60))) == []       # "b" may still add to request 1
    assert packer.finish("b") == [list(range(50))]      # "b" ended (decided or failed): request 1 leaves
    assert packer.finish("a") == [list(range(50, 60))]
