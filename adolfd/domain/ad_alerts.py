"""What a marketing rule wants an operator to know (seed 002 §7.3.1, §7.3.3, §7.3.7).

Rules return `AdAlert` values; the workers turn them into `marketing_alerts` rows and notifications.
`action` is the seed's safety action (`CAP_BID`, `PAUSE_KEYWORD`, `PAUSE_CAMPAIGN`, `ALERT`),
`alert_type` the row's type, `severity` one of the seed's `info`, `warning`, `critical`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Mapping


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
