"""Bid strategies (seed 002 §7.3.1 steps 4–6, DOMAIN.md "Marketing")."""
from decimal import Decimal

import pytest
from adolfd.domain.marketing.ad_alerts import AlertType, SafetyAction, Severity
from adolfd.domain.marketing.bid_engine import BidRules, BidUnit, CampaignTarget, Strategy, UnitStats, decide_bid

RULES = BidRules()


def position(target=3, max_bid=100_000):
    return CampaignTarget(Strategy.POSITION, max_bid=max_bid, target_position=target)


def at(pos, bid=10_000, min_bid=0, competitor=None):
    return BidUnit(bid, min_bid, UnitStats(avg_position=None if pos is None else Decimal(pos)), competitor)


# -- step ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bid, step", [
    (10_000, 500),    # 100 ₽ → 5 ₽
    (2_000, 100),     # 20 ₽ → 1 ₽ exactly
    (1_999, 100),     # 5 % = 99.95 kop → at least 1 ₽
    (500, 100),       # 5 ₽ → 25 kop → 1 ₽
    (0, 100),
    (2_010, 101),     # 100.5 kop rounds half up
])
def test_step_is_five_percent_at_least_one_rouble(bid, step):
    assert RULES.step(bid) == step


@pytest.mark.parametrize("percent, bid, step", [
    ("2.5", 20, 1),       # 0.5 kop rounds half up
    ("2.5", 60, 2),       # 1.5 kop
    ("2.5", 59, 1),       # 1.475 kop
    ("7.25", 1_000, 73),  # 72.5 kop
    ("7.25", 999, 72),    # 72.4275 kop
    ("0.1", 12_345, 12),  # 12.345 kop
])
def test_a_fractional_step_rounds_half_up_to_the_kopeck(percent, bid, step):
    assert BidRules(step_percent=Decimal(percent), min_step=1).step(bid) == step


# -- position -----------------------------------------------------------------------------------------

def test_position_worse_than_target_raises_one_step():
    d = decide_bid(position(3), at("4.2"))
    assert (d.new_bid, d.reason) == (10_500, "position_worse_than_target")


def test_position_better_by_two_lowers_one_step():
    d = decide_bid(position(3), at(1))
    assert (d.new_bid, d.reason) == (9_500, "position_better_than_target")


def test_position_better_by_less_than_two_holds():
    d = decide_bid(position(3), at("1.01"))
    assert d.new_bid is None and d.reason == "position_on_target" and d.proposed_bid == 10_000


def test_position_on_target_holds():
    assert decide_bid(position(3), at(3)).new_bid is None


def test_position_without_data_holds():
    d = decide_bid(position(3), at(None))
    assert d.new_bid is None and d.reason == "no_position_data"


def test_position_raise_never_more_than_one_step_above_competitor():
    # competitor 80 ₽ → ceiling 80 + 4 = 84 ₽; our raise to 84.00 from 80.00 would be 4 ₽ (allowed),
    # but from 83.00 (+5 % = 87.15) it stops at 84.00.
    d = decide_bid(position(3), at(5, bid=8_300, competitor=8_000))
    assert d.new_bid == 8_400 and "competitor_ceiling" in d.limits


def test_position_raise_below_competitor_ceiling_is_untouched():
    d = decide_bid(position(3), at(5, bid=6_000, competitor=8_000))
    assert d.new_bid == 6_300 and d.limits == ()


def test_position_bid_above_competitor_ceiling_comes_down_to_it():
    d = decide_bid(position(3), at(3, bid=20_000, competitor=8_000))
    assert d.new_bid == 8_400


def test_position_competitor_ceiling_uses_at_least_one_rouble_step():
    d = decide_bid(position(3), at(9, bid=1_000, competitor=1_000))
    assert d.new_bid == 1_100


# -- drr / cpo ----------------------------------------------------------------------------------------

def drr(target="10", max_bid=100_000):
    return CampaignTarget(Strategy.DRR, max_bid=max_bid, target_drr=Decimal(target))


def spend(spent, revenue=0, orders=0, bid=10_000, min_bid=0):
    return BidUnit(bid, min_bid, UnitStats(spent=spent, revenue=revenue, orders=orders))


def test_drr_scales_bid_by_target_over_actual():
    # actual 12.5 % vs target 10 % → × 0.8 exactly (the clamp edge, not clamped)
    d = decide_bid(drr("10"), spend(1_250, revenue=10_000))
    assert d.new_bid == 8_000 and d.reason == "drr_above_target" and d.limits == ()


def test_drr_cut_is_limited_to_twenty_percent():
    d = decide_bid(drr("10"), spend(5_000, revenue=10_000))     # 50 % actual → ×0.2 → clamp 0.8
    assert d.new_bid == 8_000 and "max_change_per_cycle" in d.limits


def test_drr_raise_is_limited_to_twenty_percent():
    d = decide_bid(drr("10"), spend(100, revenue=10_000))       # 1 % actual → ×10 → clamp 1.2
    assert d.new_bid == 12_000 and d.reason == "drr_below_target" and "max_change_per_cycle" in d.limits


def test_drr_just_inside_clamp_is_exact():
    d = decide_bid(drr("11"), spend(1_000, revenue=10_000))     # ×1.1
    assert d.new_bid == 11_000 and d.limits == ()


def test_drr_spend_without_revenue_cuts_the_full_twenty_percent():
    d = decide_bid(drr(), spend(5_000, revenue=0))
    assert d.new_bid == 8_000 and d.reason == "drr_no_revenue"


def test_drr_without_spend_holds():
    d = decide_bid(drr(), spend(0, revenue=50_000))
    assert d.new_bid is None and d.reason == "no_spend"


def test_cpo_scales_bid_by_target_over_actual():
    campaign = CampaignTarget(Strategy.CPO, max_bid=100_000, target_cpo=20_000)
    d = decide_bid(campaign, spend(90_000, orders=4))           # actual 225 ₽ vs 200 ₽ → ×0.888…
    assert d.new_bid == 8_889 and d.reason == "cpo_above_target"


def test_cpo_without_orders_cuts_the_full_twenty_percent():
    campaign = CampaignTarget(Strategy.CPO, max_bid=100_000, target_cpo=20_000)
    d = decide_bid(campaign, spend(30_000, orders=0))
    assert d.new_bid == 8_000 and d.reason == "cpo_no_orders"


# -- manual -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("unit", [
    at(9, bid=500_000),                                  # far above max_bid
    at(9, bid=10, min_bid=5_000),                        # below the marketplace minimum
    spend(5_000, revenue=0),
])
def test_manual_never_changes(unit):
    d = decide_bid(CampaignTarget(Strategy.MANUAL, max_bid=1_000), unit)
    assert d.new_bid is None and d.proposed_bid == unit.current_bid and d.reason == "manual" and d.alerts == ()


# -- caps, floor, minimum change -----------------------------------------------------------------------

def test_cap_at_max_bid_with_warning():
    d = decide_bid(position(3, max_bid=10_200), at(5))          # wants 105 ₽, max 102 ₽
    assert d.new_bid == 10_200 and "max_bid" in d.limits
    (alert,) = d.alerts
    assert (alert.alert_type, alert.severity, alert.action) == (
        AlertType.CAP_BID, Severity.WARNING, SafetyAction.CAP_BID)
    assert alert.details["proposed_bid"] == 10_500


def test_bid_exactly_at_max_bid_is_not_capped():
    d = decide_bid(position(3, max_bid=10_500), at(5))
    assert d.new_bid == 10_500 and d.alerts == ()


def test_capped_at_max_bid_already_there_sends_nothing_but_warns():
    d = decide_bid(position(3, max_bid=10_000), at(5))
    assert d.new_bid is None and len(d.alerts) == 1


def test_floor_at_marketplace_minimum():
    d = decide_bid(drr(), spend(5_000, revenue=0, bid=12_000, min_bid=11_000))   # ×0.8 = 96 ₽ < 110 ₽
    assert d.new_bid == 11_000 and "marketplace_minimum" in d.limits


def test_max_bid_below_marketplace_minimum_sends_nothing_and_warns():
    d = decide_bid(position(3, max_bid=5_000), at(5, bid=4_000, min_bid=6_000))
    assert d.new_bid is None and d.reason == "max_bid_below_marketplace_minimum"
    assert d.alerts[0].alert_type is AlertType.BID_CONFIG


def test_change_below_one_rouble_is_not_sent():
    d = decide_bid(drr("10"), spend(1_010, revenue=10_000, bid=9_000))  # ×0.990… → 89.11 ₽, −0.89 ₽
    assert d.new_bid is None and "change_below_min_step" in d.limits and d.proposed_bid == 9_000


def test_change_of_exactly_one_rouble_is_sent():
    # ×(10/10.1): 10 100 → 10 000, exactly −1 ₽
    d = decide_bid(drr("10"), spend(1_010, revenue=10_000, bid=10_100))
    assert d.new_bid == 10_000


# -- bad input ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    dict(strategy=Strategy.POSITION, max_bid=100),
    dict(strategy=Strategy.POSITION, max_bid=100, target_position=0),
    dict(strategy=Strategy.DRR, max_bid=100, target_drr=Decimal(0)),
    dict(strategy=Strategy.CPO, max_bid=100),
    dict(strategy=Strategy.MANUAL, max_bid=0),
])
def test_incomplete_campaign_target_is_a_clear_error(kwargs):
    with pytest.raises(ValueError):
        CampaignTarget(**kwargs)


@pytest.mark.parametrize("unit", [BidUnit(-1, 0), BidUnit(100, -1)])
def test_negative_bid_is_rejected(unit):
    target = CampaignTarget(Strategy.POSITION, max_bid=10_000, target_position=3)
    with pytest.raises(ValueError, match="negative"):
        decide_bid(target, unit)
