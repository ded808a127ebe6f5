"""Safety logic (seed 002 §7.3.1 steps 2–3, DOMAIN.md "Marketing")."""
from decimal import Decimal

import pytest
from adolfd.domain.marketing.ad_alerts import AlertType, SafetyAction
from adolfd.domain.marketing.ad_safety import CampaignToday, SafetyRules, check_campaign, check_keyword
from adolfd.domain.marketing.bid_engine import UnitStats


@pytest.mark.parametrize("clicks, orders, action", [
    (100, 0, SafetyAction.PAUSE_KEYWORD),   # exactly the threshold
    (99, 0, SafetyAction.NONE),
    (100, 1, SafetyAction.NONE),
    (5000, 0, SafetyAction.PAUSE_KEYWORD),
])
def test_keyword_paused_at_100_clicks_without_orders(clicks, orders, action):
    check = check_keyword("nm 1/search", UnitStats(views=clicks * 10, clicks=clicks, orders=orders, spent=9_900))
    assert check.action is action
    if action is SafetyAction.PAUSE_KEYWORD:
        assert check.pauses and check.alerts[0].alert_type is AlertType.KEYWORD_NO_ORDERS
        assert check.alerts[0].action_taken == "pause_keyword"


@pytest.mark.parametrize("views, clicks, alert", [
    (1000, 4, True),      # 0.4 %
    (1000, 5, False),     # exactly 0.5 % is not low
    (999, 0, False),      # too few views to judge
    (1000, 0, True),
    (20000, 99, True),    # 0.495 %
])
def test_low_ctr_alert_after_1000_views(views, clicks, alert):
    check = check_keyword("sku 7", UnitStats(views=views, clicks=clicks, orders=1))
    assert (check.action is SafetyAction.ALERT) is alert
    assert (check.alerts[0].alert_type is AlertType.LOW_CTR) if alert else check.alerts == ()
    assert not check.pauses


@pytest.mark.parametrize("threshold, views, clicks, low", [
    ("0.25", 2000, 5, False),   # exactly 0.25 %
    ("0.25", 2001, 5, True),    # 0.2499 %
    ("1.3", 1000, 12, True),
    ("1.3", 1000, 13, False),
])
def test_low_ctr_threshold_is_compared_exactly(threshold, views, clicks, low):
    rules = SafetyRules(low_ctr_percent=Decimal(threshold))
    check = check_keyword("sku 7", UnitStats(views=views, clicks=clicks, orders=1), rules)
    assert (check.action is SafetyAction.ALERT) is low


def test_pause_wins_over_low_ctr():
    check = check_keyword("k", UnitStats(views=100_000, clicks=100, orders=0))
    assert check.action is SafetyAction.PAUSE_KEYWORD and len(check.alerts) == 1


def test_thresholds_are_settings():
    rules = SafetyRules(pause_min_clicks=10)
    assert check_keyword("k", UnitStats(clicks=10), rules).action is SafetyAction.PAUSE_KEYWORD


def today(spent, limit, revenue=0, target=None):
    return CampaignToday("Весна", spent, revenue, limit, None if target is None else Decimal(target))


@pytest.mark.parametrize("spent, limit, paused", [
    (100_000, 100_000, True),    # exactly the limit
    (99_999, 100_000, False),
    (150_000, 100_000, True),
    (5, None, False),            # no limit configured
    (0, 0, True),                # a zero limit is literal
])
def test_campaign_paused_when_spent_today_reaches_daily_limit(spent, limit, paused):
    check = check_campaign(today(spent, limit))
    assert (check.action is SafetyAction.PAUSE_CAMPAIGN) is paused
    if paused:
        assert check.alerts[0].alert_type is AlertType.BUDGET_EXCEEDED


@pytest.mark.parametrize("spent, revenue, alert", [
    (2_001, 10_000, True),       # 20.01 % > 2 × 10 %
    (2_000, 10_000, False),      # exactly 2 × target is not over
    (1_000, 0, True),            # spend without revenue
    (0, 0, False),               # nothing spent
])
def test_campaign_drr_over_twice_target_alerts(spent, revenue, alert):
    check = check_campaign(today(spent, 1_000_000, revenue, target="10"))
    assert (check.action is SafetyAction.ALERT) is alert
    if alert:
        assert check.alerts[0].alert_type is AlertType.DRR_EXCEEDED and not check.pauses


def test_campaign_without_target_drr_skips_drr_check():
    assert check_campaign(today(50_000, None, revenue=1, target=None)).action is SafetyAction.NONE


def test_budget_pause_wins_over_drr_alert():
    check = check_campaign(today(100_000, 100_000, revenue=0, target="10"))
    assert check.action is SafetyAction.PAUSE_CAMPAIGN


# -- recipients (seed 002 §7.3.7) -----------------------------------------------------------------------

from adolfd.domain.marketing.ad_alerts import Recipient, alert_recipients  # noqa: E402

USERS = [Recipient(1, "manager", "ohana_market"), Recipient(2, "manager", "ohana_kids"),
         Recipient(3, "manager", "all"), Recipient(4, "senior"), Recipient(5, "director"),
         Recipient(6, "administrator"), Recipient(7, "viewer")]


@pytest.mark.parametrize("severity, expected", [
    ("info", (1, 3)),
    ("warning", (1, 3, 4, 5, 6)),
    ("critical", (1, 3, 4, 5, 6)),
])
def test_recipients_by_role_and_brand(severity, expected):
    assert alert_recipients(USERS, "ohana_market", severity) == expected


def test_alert_without_brand_reaches_all_brand_managers_and_seniors():
    assert alert_recipients(USERS, None, "critical") == (3, 4, 5, 6)


def test_unknown_severity_is_an_error():
    with pytest.raises(ValueError):
        alert_recipients(USERS, "ohana_market", "loud")
