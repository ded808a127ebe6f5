"""Supply-task actions (seed 000 §8.4.6 lifecycle)."""
from __future__ import annotations

import re

import pytest
from adolfd.domain.logistic.task_lifecycle import TaskAction, TaskActionRefused, allowed_actions, plan_move


@pytest.mark.parametrize(("status", "action", "target"), [
    ("new", "confirm", "confirmed"), ("confirmed", "start", "in_progress"), ("new", "cancel", "cancelled"),
    ("confirmed", "cancel", "cancelled"), ("in_progress", "cancel", "cancelled"),
])
def test_moves(status: str, action: str, target: str) -> None:
    move = plan_move("SUP-1", status, action, reason="no truck" if action == "cancel" else None)
    assert (move.from_status, move.to_status) == (status, target)


def test_complete_records_the_quantity_sent() -> None:
    move = plan_move("SUP-1", "in_progress", TaskAction.COMPLETE, quantity_sent=37)
    assert move.to_status == "completed" and move.quantity_sent == 37


@pytest.mark.parametrize(("status", "action", "message"), [
    ("new", "start", "task SUP-1 is new: cannot start it; allowed: confirm, cancel"),
    ("completed", "cancel", "task SUP-1 is completed: cannot cancel it; allowed: nothing (it is closed)"),
    ("confirmed", "confirm", "allowed: start, cancel"),
    ("new", "ship", "unknown action 'ship'; expected one of confirm, start, complete, cancel"),
])
def test_wrong_transitions_are_refused(status: str, action: str, message: str) -> None:
    with pytest.raises(TaskActionRefused, match=re.escape(message)):
        plan_move("SUP-1", status, action)


@pytest.mark.parametrize("quantity", [None, 0, -5])
def test_complete_needs_a_positive_quantity(quantity: int | None) -> None:
    with pytest.raises(TaskActionRefused, match="at least 1"):
        plan_move("SUP-1", "in_progress", "complete", quantity_sent=quantity)


def test_cancel_needs_a_reason_and_only_complete_takes_a_quantity() -> None:
    with pytest.raises(TaskActionRefused, match="needs a reason"):
        plan_move("SUP-1", "new", "cancel", reason="  ")
    with pytest.raises(TaskActionRefused, match="only when completing"):
        plan_move("SUP-1", "new", "confirm", quantity_sent=3)
    assert allowed_actions("in_progress") == (TaskAction.COMPLETE, TaskAction.CANCEL)
