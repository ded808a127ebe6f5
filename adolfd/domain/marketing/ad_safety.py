"""Safety logic of the bid cycle (seed 002 §7.3.1 steps 2–3, DOMAIN.md "Marketing").

Runs before any bid is computed; a pause wins over every strategy.

Keyword level (one bid-able unit, stats window of the cycle):
- ≥ 100 clicks and 0 orders → `PAUSE_KEYWORD` (warning); the unit is not bid on this cycle;
- otherwise CTR < 0.5 % after ≥ 1000 views → `ALERT` `low_ctr` (info); bidding goes on.
  Exactly 0.5 % is not low; 999 views is too few to judge.

Campaign level (today, Moscow day):
- spent today ≥ daily limit → `PAUSE_CAMPAIGN` (the budget rule, shared with `check_budgets`);
  no keyword of the campaign is touched;
- otherwise ad cost share today (spend ÷ revenue) over 2 × the campaign's target share → `ALERT`
  `drr_exceeded` (warning); bidding goes on. Spend with no revenue at all counts as over any target;
  no spend is never over. Campaigns without a target share skip this check.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from adolfd.domain.marketing.ad_alerts import AdAlert, AlertType, SafetyAction, Severity
from adolfd.domain.marketing.ad_money import kopecks_to_roubles, percent, percent_ratio
from adolfd.domain.marketing.bid_engine import UnitStats
from adolfd.domain.marketing.budgets import budget_exceeded


@dataclass(frozen=True)
class SafetyRules:
    pause_min_clicks: int = 100
    low_ctr_percent: Decimal = Decimal("0.5")
    low_ctr_min_views: int = 1000
    drr_alert_factor: Decimal = Decimal(2)
    # low_ctr_percent ÷ 100 as integers: the CTR check is integer arithmetic for each of a cycle's units
    _low_ctr_ratio: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.pause_min_clicks < 1 or self.low_ctr_min_views < 1:
            raise ValueError("safety thresholds must be positive")
        if self.low_ctr_percent <= 0 or self.drr_alert_factor <= 0:
            raise ValueError("safety shares must be positive")
        object.__setattr__(self, "_low_ctr_ratio", percent_ratio(self.low_ctr_percent))

    def ctr_is_low(self, clicks: int, views: int) -> bool:
        """clicks ÷ views × 100 < low_ctr_percent, exactly; no views is no CTR, so not low."""
        numerator, denominator = self._low_ctr_ratio
        return views > 0 and clicks * denominator < numerator * views


@dataclass(frozen=True)
class SafetyCheck:
    action: SafetyAction
    reason: str
    alerts: tuple[AdAlert, ...] = field(default=())

    @property
    def pauses(self) -> bool:
        return self.action in (SafetyAction.PAUSE_KEYWORD, SafetyAction.PAUSE_CAMPAIGN)


OK = SafetyCheck(SafetyAction.NONE, "ok")


def check_keyword(label: str, stats: UnitStats, rules: SafetyRules = SafetyRules()) -> SafetyCheck:
    """Keyword rules for one bid-able unit; `label` names it in the alert text."""
    if stats.clicks >= rules.pause_min_clicks and stats.orders == 0:
        return SafetyCheck(SafetyAction.PAUSE_KEYWORD, "clicks_without_orders", (AdAlert(
            AlertType.KEYWORD_NO_ORDERS, Severity.WARNING, SafetyAction.PAUSE_KEYWORD,
            f"Ключ приостановлен: {label}",
            f"{stats.clicks} кликов без заказов, расход {kopecks_to_roubles(stats.spent)}₽",
            {"clicks": stats.clicks, "orders": 0, "spent": stats.spent},
        ),))
    if stats.views >= rules.low_ctr_min_views and rules.ctr_is_low(stats.clicks, stats.views):
        ctr = percent(stats.clicks, stats.views)
        assert ctr is not None
        return SafetyCheck(SafetyAction.ALERT, "low_ctr", (AdAlert(
            AlertType.LOW_CTR, Severity.INFO, SafetyAction.ALERT,
            f"Низкий CTR: {label}",
            f"CTR {ctr:.2f}% при {stats.views} показах (порог {rules.low_ctr_percent}%)",
            {"views": stats.views, "clicks": stats.clicks, "ctr": str(ctr.quantize(Decimal('0.0001')))},
        ),))
    return OK


@dataclass(frozen=True)
class CampaignToday:
    name: str
    spent_today: int                   # kopecks
    revenue_today: int                 # kopecks
    daily_limit: int | None            # kopecks; None = no limit
    target_drr: Decimal | None = None  # percent


def check_campaign(campaign: CampaignToday, rules: SafetyRules = SafetyRules()) -> SafetyCheck:
    """Campaign rules, checked before its keywords (seed §7.3.1 step 2)."""
    if budget_exceeded(campaign.spent_today, campaign.daily_limit):
        assert campaign.daily_limit is not None
        return SafetyCheck(SafetyAction.PAUSE_CAMPAIGN, "daily_limit_reached", (AdAlert(
            AlertType.BUDGET_EXCEEDED, Severity.WARNING, SafetyAction.PAUSE_CAMPAIGN,
            f"Кампания приостановлена: {campaign.name}",
            f"Расход {kopecks_to_roubles(campaign.spent_today)}₽ достиг лимита "
            f"{kopecks_to_roubles(campaign.daily_limit)}₽",
            {"spent_today": campaign.spent_today, "daily_limit": campaign.daily_limit},
        ),))
    if campaign.target_drr is not None and campaign.spent_today > 0:
        drr = percent(campaign.spent_today, campaign.revenue_today)
        ceiling = campaign.target_drr * rules.drr_alert_factor
        if drr is None or drr > ceiling:
            shown = "∞" if drr is None else f"{drr:.2f}"
            return SafetyCheck(SafetyAction.ALERT, "drr_over_limit", (AdAlert(
                AlertType.DRR_EXCEEDED, Severity.WARNING, SafetyAction.ALERT,
                f"ДРР выше допустимого: {campaign.name}",
                f"ДРР сегодня {shown}% при цели {campaign.target_drr}% (порог {ceiling}%)",
                {"drr": None if drr is None else str(drr.quantize(Decimal('0.01'))),
                 "target_drr": str(campaign.target_drr),
                 "spent_today": campaign.spent_today, "revenue_today": campaign.revenue_today},
            ),))
    return OK
