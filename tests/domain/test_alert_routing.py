"""Alert recipients (seed 002 §7.3.7 for marketing, seed 001 §7.4 for the others) and Telegram digests."""
from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from adolfd.domain.alert_routing import (
    MAX_MESSAGE,
    Alert,
    AlertChat,
    receives,
    recipients,
    render_digests,
    retry_delay,
    roles_for,
)

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)        # 12:00 Moscow

MANAGER_MARKET = AlertChat(chat_id=1, role="manager", brand="ohana_market")
MANAGER_KIDS = AlertChat(chat_id=2, role="manager", brand="ohana_kids")
MANAGER_ALL = AlertChat(chat_id=3, role="manager", brand="all")
SENIOR = AlertChat(chat_id=4, role="senior")
DIRECTOR = AlertChat(chat_id=5, role="director")
ADMIN = AlertChat(chat_id=6, role="admin")
CHATS = [MANAGER_MARKET, MANAGER_KIDS, MANAGER_ALL, SENIOR, DIRECTOR, ADMIN]


def alert(id: int = 1, severity: str = "warning", brand: str | None = "ohana_market", module: str = "logistic",
          alert_type: str = "STOCK_LOW", message: str = "SKU 123: 5 days left in Moscow",
          at: datetime = NOW, resolved: bool = False) -> Alert:
    return Alert(id=id, module=module, alert_type=alert_type, severity=severity, message=message, created_at=at,
                 brand_id=brand, resolved=resolved)


@pytest.mark.parametrize(
    ("severity", "roles"),
    [
        ("critical", {"manager", "senior", "director", "admin"}),
        ("high", {"manager", "senior", "director", "admin"}),
        ("warning", {"manager", "senior"}),
        ("medium", {"manager", "senior"}),
        ("low", {"manager"}),
        ("info", {"manager"}),
    ],
)
def test_roles_by_severity(severity: str, roles: set[str]) -> None:
    assert roles_for(severity) == roles


@pytest.mark.parametrize(
    ("severity", "roles"),
    [
        ("critical", {"manager", "senior", "director", "admin"}),
        ("warning", {"manager", "senior", "director", "admin"}),
        ("info", {"manager"}),
    ],
)
def test_marketing_roles_follow_seed_002(severity: str, roles: set[str]) -> None:
    assert roles_for(severity, "marketing") == roles
    assert roles_for(severity, "watcher") == roles_for(severity)          # watcher keeps seed 001 §7.4


def test_marketing_warning_reaches_director_and_admin_but_a_logistic_one_does_not() -> None:
    assert recipients(alert(severity="warning", module="marketing"), CHATS) == (1, 3, 4, 5, 6)
    assert recipients(alert(severity="warning", module="logistic"), CHATS) == (1, 3, 4)
    assert recipients(alert(severity="info", module="marketing"), CHATS) == (1, 3)


def test_unknown_severity_and_role_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown severity 'urgent'"):
        roles_for("urgent")
    with pytest.raises(ValueError, match="unknown role 'ceo'"):
        AlertChat(chat_id=1, role="ceo")
    with pytest.raises(ValueError, match="unknown severity"):
        AlertChat(chat_id=1, role="admin", min_severity="loud")


def test_critical_reaches_brand_managers_and_every_senior_role() -> None:
    assert recipients(alert(severity="critical"), CHATS) == (1, 3, 4, 5, 6)


def test_warning_reaches_brand_managers_and_senior() -> None:
    assert recipients(alert(severity="warning", brand="ohana_kids"), CHATS) == (2, 3, 4)


def test_info_reaches_brand_managers_only() -> None:
    assert recipients(alert(severity="info"), CHATS) == (1, 3)


def test_alert_without_brand_reaches_only_all_brand_managers() -> None:
    # a failed job has no brand: the seed's rule matches managers of brand "all" only
    assert recipients(alert(severity="critical", brand=None), CHATS) == (3, 4, 5, 6)
    assert recipients(alert(severity="info", brand=None), CHATS) == (3,)


def test_one_chat_with_two_roles_gets_the_alert_once() -> None:
    chats = [AlertChat(chat_id=9, role="admin"), AlertChat(chat_id=9, role="senior")]
    assert recipients(alert(severity="critical"), chats) == (9,)


def test_module_filter_and_severity_floor() -> None:
    marketing_only = AlertChat(chat_id=7, role="senior", modules=frozenset({"marketing"}))
    loud_only = AlertChat(chat_id=8, role="manager", min_severity="high")
    assert not receives(marketing_only, alert(module="logistic"))
    assert receives(marketing_only, alert(module="marketing"))
    assert not receives(loud_only, alert(severity="warning"))
    assert receives(loud_only, alert(severity="high"))


def test_no_matching_chat_means_no_recipients() -> None:
    assert recipients(alert(severity="info"), [SENIOR, ADMIN]) == ()


def test_digest_orders_by_severity_and_folds_identical_alerts() -> None:
    alerts = [
        alert(1, "info", message="restocked", alert_type="STOCK_RECOVERED"),
        alert(2, "critical", message="bid cycle failed", module="marketing", alert_type="JOB_FAILED", brand=None),
        alert(3, "warning", at=NOW + timedelta(minutes=1)),
        alert(4, "warning", at=NOW + timedelta(minutes=7)),
    ]
    [digest] = render_digests(alerts, NOW, MSK)
    assert sorted(digest.alert_ids) == [1, 2, 3, 4]
    text = digest.text
    assert text.index("JOB_FAILED") < text.index("STOCK_LOW") < text.index("STOCK_RECOVERED")
    assert "STOCK_LOW</b> ×2 · logistic · ohana_market" in text
    assert "12:01–12:07 · #3" in text           # Moscow time, the span of the folded alerts
    assert text.count("STOCK_LOW") == 1


def test_digest_escapes_html_from_alert_text() -> None:
    [digest] = render_digests([alert(message="price <10% & falling")], NOW, MSK)
    assert "price &lt;10% &amp; falling" in digest.text
    assert "<10%" not in digest.text


def test_older_alerts_show_their_date_and_resolved_ones_say_so() -> None:
    [digest] = render_digests([alert(at=NOW - timedelta(days=1), resolved=True)], NOW, MSK)
    assert "09.03 12:00" in digest.text and "(resolved since)" in digest.text


def _visible(text: str) -> str:
    return html.unescape(re.sub(r"</?[a-z]+>", "", text))


def test_many_alerts_split_into_messages_within_the_limit_and_none_lost() -> None:
    alerts = [alert(i, "warning", message=f"SKU {i}: " + "x" * 300) for i in range(1, 101)]
    digests = render_digests(alerts, NOW, MSK)
    assert len(digests) > 1
    assert all(len(d.text) <= MAX_MESSAGE for d in digests)
    carried = [i for d in digests for i in d.alert_ids]
    assert sorted(carried) == list(range(1, 101))       # each alert in exactly one message


def test_one_huge_alert_is_cut_to_fit() -> None:
    [digest] = render_digests([alert(message="<" * 10_000)], NOW, MSK)
    assert len(digest.text) <= MAX_MESSAGE
    assert digest.text.count("&lt;") > 900 and "…" in digest.text
    assert len(_visible(digest.text)) <= MAX_MESSAGE


def test_empty_input_gives_no_messages() -> None:
    assert render_digests([], NOW, MSK) == []


def test_retry_delay() -> None:
    assert retry_delay(1, permanent=False) == 0
    assert retry_delay(3, permanent=False, retry_after=12) == 12
    assert [retry_delay(n, permanent=True) for n in (1, 2, 3, 7, 20)] == [60, 120, 240, 3600, 3600]
