"""What a marketing rule wants an operator to know (seed 002 §7.3.1, §7.3.3, §7.3.7).

Rules return `AdAlert` values; the workers turn them into `marketing_alerts` rows and notifications.
`action` is the seed's safety action (`CAP_BID`, `PAUSE_KEYWORD`, `PAUSE_CAMPAIGN`, `ALERT`),
`alert_type` the row's type, `severity` one of the seed's `info`, `warning`, `critical`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class SafetyAction(StrEnum):
    NONE = "NONE"
    ALERT = "ALERT"
    CAP_BID = "CAP_BID"
    PAUSE_KEYWORD = "PAUSE_KEYWORD"
    PAUSE_CAMPAIGN = "PAUSE_CAMPAIGN"


class AlertType(StrEnum):
    CAP_BID = "cap_bid"
    BID_CONFIG = "bid_config"
    KEYWORD_NO_ORDERS = "keyword_no_orders"
    LOW_CTR = "low_ctr"
    DRR_EXCEEDED = "drr_exceeded"
    BUDGET_EXCEEDED = "budget_exceeded"
    BUDGET_WARNING = "budget_warning"
    SPEND_ANOMALY = "spend_anomaly"
    SYSTEM_ERROR = "system_error"


@dataclass(frozen=True)
class AdAlert:
    alert_type: AlertType
    severity: Severity
    action: SafetyAction
    title: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def action_taken(self) -> str | None:
        """The seed's `action_taken` column: what adolfd did, if anything (`pause_campaign` …)."""
        if self.action in (SafetyAction.PAUSE_CAMPAIGN, SafetyAction.PAUSE_KEYWORD, SafetyAction.CAP_BID):
            return self.action.value.lower()
        return None


@dataclass(frozen=True)
class Recipient:
    """An active user who may receive marketing alerts (the seed's `User`: role and brand)."""

    user_id: int
    role: str
    brand_id: str = "all"


SENIOR_ROLES = frozenset({"senior", "director", "administrator", "admin"})


def alert_recipients(users: Iterable[Recipient], brand_id: str | None, severity: str) -> tuple[int, ...]:
    """Seed 002 §7.3.7 `_get_alert_recipients`: the managers of the campaign's brand always; senior, director and
    administrator too for `warning` and `critical`. A manager whose brand is `all` counts for every brand
    (DOMAIN.md); an alert without a brand (a failed job) reaches only such managers."""
    if severity not in {s.value for s in Severity}:
        raise ValueError(f"unknown severity {severity!r}")
    chosen: set[int] = set()
    for user in users:
        if user.role == "manager":
            if user.brand_id == "all" or (brand_id is not None and user.brand_id == brand_id):
                chosen.add(user.user_id)
        elif user.role in SENIOR_ROLES and severity in (Severity.WARNING, Severity.CRITICAL):
            chosen.add(user.user_id)
    return tuple(sorted(chosen))
