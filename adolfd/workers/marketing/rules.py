"""Bid, safety, budget and analytics rules read from the marketing settings (seed 002 §7.3), for the pure
domain code."""
from __future__ import annotations

from decimal import Decimal

from adolfd.domain.marketing.ad_analytics import AnalyticsRules
from adolfd.domain.marketing.ad_money import rouble
from adolfd.domain.marketing.ad_safety import SafetyRules
from adolfd.domain.marketing.bid_engine import BidRules
from adolfd.domain.marketing.budgets import BudgetRules
from adolfd.settings import MarketingSettings


def bid_rules(s: MarketingSettings) -> BidRules:
    return BidRules(step_percent=Decimal(str(s.step_percent)), min_step=rouble(str(s.min_step_rub)),
                    max_change_percent=Decimal(str(s.max_change_percent)), min_change=rouble(str(s.min_change_rub)))


def safety_rules(s: MarketingSettings) -> SafetyRules:
    return SafetyRules(pause_min_clicks=s.pause_min_clicks, low_ctr_percent=Decimal(str(s.low_ctr_percent)),
                       low_ctr_min_views=s.low_ctr_min_views, drr_alert_factor=Decimal(str(s.drr_alert_factor)))


def budget_rules(s: MarketingSettings) -> BudgetRules:
    return BudgetRules(warning_percent=Decimal(str(s.budget_warning_percent)))


def analytics_rules(s: MarketingSettings) -> AnalyticsRules:
    return AnalyticsRules(anomaly_window_days=s.anomaly_window_days, anomaly_factor=Decimal(str(s.anomaly_factor)),
                          trend_days=s.trend_days)
