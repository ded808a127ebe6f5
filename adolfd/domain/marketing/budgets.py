"""Daily budget rules (seed 002 §7.3.3 `check_budgets`).

The seed's rules exactly:

- spent today ≥ daily limit → pause the campaign, alert `budget_exceeded` (warning, `pause_campaign`);
- else spent today ≥ 80 % of the limit → alert `budget_warning` (info), at most once a day per campaign;
  the caller says whether one was already raised today (the seed looks for a `budget_warning` row created
  since the start of the day; adolfd's day is the Moscow day, the seed's timezone).

A campaign without a daily limit (`None`) has nothing to check. A limit of 0 is taken literally:
any spend reaches it and the campaign pauses.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from adolfd.domain.marketing.ad_alerts import AdAlert, AlertType, SafetyAction, Severity
from adolfd.domain.marketing.ad_money import kopecks_to_roubles


class BudgetState(StrEnum):
    OK = "ok"
    WARNING = "warning"        # ≥ 80 %, warning due
    WARNED = "warned"          # ≥ 80 %, warning already raised today
    EXCEEDED = "exceeded"      # ≥ 100 %
    UNLIMITED = "unlimited"


@dataclass(frozen=True)
class BudgetRules:
    warning_percent: Decimal = Decimal(80)

    def __post_init__(self) -> None:
        if not 0 < self.warning_percent < 100:
            raise ValueError(f"warning_percent must be in (0, 100), got {self.warning_percent}")


@dataclass(frozen=True)
class BudgetDecision:
    state: BudgetState
    alert: AdAlert | None = None

    @property
    def pause(self) -> bool:
        return self.state is BudgetState.EXCEEDED


def budget_exceeded(spent_today: int, daily_limit: int | None) -> bool:
    """The seed's pause condition `spent_today >= daily_limit` (kopecks)."""
    return daily_limit is not None and spent_today >= daily_limit


def check_budget(campaign_name: str, spent_today: int, daily_limit: int | None, *, warned_today: bool,
                 rules: BudgetRules = BudgetRules()) -> BudgetDecision:
    """What `check_budgets` does with one active campaign (seed §7.3.3)."""
    if spent_today < 0:
        raise ValueError(f"spent_today cannot be negative: {spent_today}")
    if daily_limit is None:
        return BudgetDecision(BudgetState.UNLIMITED)
    if daily_limit < 0:
        raise ValueError(f"daily_limit cannot be negative: {daily_limit}")
    spent, limit = kopecks_to_roubles(spent_today), kopecks_to_roubles(daily_limit)
    if budget_exceeded(spent_today, daily_limit):
        return BudgetDecision(BudgetState.EXCEEDED, AdAlert(
            AlertType.BUDGET_EXCEEDED, Severity.WARNING, SafetyAction.PAUSE_CAMPAIGN,
            f"Кампания приостановлена: {campaign_name}",
            f"Расход {spent}₽ достиг лимита {limit}₽",
            {"spent_today": spent_today, "daily_limit": daily_limit},
        ))
    if Decimal(spent_today) * 100 >= Decimal(daily_limit) * rules.warning_percent:
        if warned_today:
            return BudgetDecision(BudgetState.WARNED)
        return BudgetDecision(BudgetState.WARNING, AdAlert(
            AlertType.BUDGET_WARNING, Severity.INFO, SafetyAction.ALERT,
            f"Бюджет {rules.warning_percent:g}%: {campaign_name}",
            f"Израсходовано {spent}₽ из {limit}₽",
            {"spent_today": spent_today, "daily_limit": daily_limit},
        ))
    return BudgetDecision(BudgetState.OK)
