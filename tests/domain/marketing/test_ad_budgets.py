"""Daily budget rules (seed 002 §7.3.3)."""
from decimal import Decimal

import pytest
from adolfd.domain.marketing.ad_alerts import AlertType, Severity
from adolfd.domain.marketing.budgets import BudgetRules, BudgetState, check_budget


@pytest.mark.parametrize("spent, state", [
    (100_000, BudgetState.EXCEEDED),    # 100 % exactly
    (99_999, BudgetState.WARNING),
    (80_000, BudgetState.WARNING),      # 80 % exactly
    (79_999, BudgetState.OK),
    (0, BudgetState.OK),
    (250_000, BudgetState.EXCEEDED),
])
def test_budget_thresholds(spent, state):
    assert check_budget("C", spent, 100_000, warned_today=False).state is state


def test_exceeded_pauses_with_warning_alert():
    decision = check_budget("Кампания", 100_000, 100_000, warned_today=True)
    assert decision.pause
    assert decision.alert.alert_type is AlertType.BUDGET_EXCEEDED and decision.alert.severity is Severity.WARNING
    assert decision.alert.action_taken == "pause_campaign"
    assert "1000.00₽" in decision.alert.message


def test_warning_once_a_day():
    first = check_budget("C", 85_000, 100_000, warned_today=False)
    again = check_budget("C", 90_000, 100_000, warned_today=True)
    assert first.alert.alert_type is AlertType.BUDGET_WARNING and first.alert.severity is Severity.INFO
    assert again.state is BudgetState.WARNED and again.alert is None and not again.pause


def test_no_limit_is_unlimited():
    assert check_budget("C", 10**9, None, warned_today=False).state is BudgetState.UNLIMITED


def test_warning_share_is_a_setting():
    assert check_budget("C", 50_000, 100_000, warned_today=False,
                        rules=BudgetRules(Decimal(50))).state is BudgetState.WARNING


@pytest.mark.parametrize("spent, limit", [(-1, 100), (1, -100)])
def test_negative_figures_are_rejected(spent, limit):
    with pytest.raises(ValueError):
        check_budget("C", spent, limit, warned_today=False)
