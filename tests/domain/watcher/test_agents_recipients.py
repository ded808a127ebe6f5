"""Offline rule, head-of-queue order, recipients by severity (seed 001 §7.4, §7.5)."""
from datetime import UTC, datetime, timedelta

import pytest
from adolfd.domain.watcher.agents import AgentState, HandedBack, aggregate, gone_offline, head_pushes
from adolfd.domain.watcher.marketplaces import agent_name, from_agent
from adolfd.domain.watcher.recipients import User, admins, recipients

NOW = datetime(2026, 2, 16, 2, 0, tzinfo=UTC)


def test_offline_after_three_minutes_silence():
    agents = [AgentState(1, "a", "online", NOW - timedelta(minutes=3)),
              AgentState(2, "b", "working", NOW - timedelta(minutes=3, seconds=1)),
              AgentState(3, "c", "panic", NOW - timedelta(hours=1)),
              AgentState(4, "d", "offline", NOW - timedelta(hours=1)),
              AgentState(5, "e", "online", None)]
    assert [a.agent_id for a in gone_offline(agents, NOW)] == [2, 5]


def test_head_pushes_keep_original_order_after_lpush():
    tasks = [HandedBack(11, "wb", 3), HandedBack(10, "wb", 1), HandedBack(12, "wb", 2), HandedBack(20, "ozon", 5)]
    pushes = head_pushes(tasks)
    queue = ["99"]
    for task_id in pushes["wb"]:          # what LPUSH key *ids does
        queue.insert(0, str(task_id))
    assert queue == ["10", "12", "11", "99"]
    assert pushes["ozon"] == [20]


def test_aggregate():
    assert aggregate(["online", "panic", "online"]) == {"total": 3, "online": 2, "working": 0, "offline": 0,
                                                        "panic": 1}


USERS = [User(1, "manager", "ohana_market"), User(2, "manager", "ohana_kids"), User(3, "manager", "all"),
         User(4, "senior"), User(5, "director"), User(6, "administrator"), User(7, "admin")]


@pytest.mark.parametrize("severity, expected", [
    ("critical", [1, 3, 4, 5, 6, 7]), ("warning", [1, 3, 4]), ("info", [1, 3])])
def test_recipients_by_severity(severity, expected):
    got = recipients(USERS, severity=severity, brand_id="ohana_market", at=NOW)
    assert [u.user_id for u in got] == expected


def test_admins_and_marketplace_names():
    assert [u.user_id for u in admins(USERS)] == [6, 7]
    assert agent_name("wb") == "wildberries" and from_agent("yandex_market") == "ym" and from_agent("ozon") == "ozon"
    with pytest.raises(ValueError):
        agent_name("amazon")
