"""What a person may do with a supply task (seed 000 §8.4.6 presumes `new → confirmed → in_progress →
completed`): confirm it, start it (the goods are shipped), complete it with the quantity actually sent, or cancel
it with a reason. Anything else is refused with a message saying what the task allows."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

STATUSES = ("new", "confirmed", "in_progress", "completed", "cancelled")
PRIORITIES = ("urgent", "planned", "recommended")


class TaskAction(StrEnum):
    CONFIRM = "confirm"
    START = "start"
    COMPLETE = "complete"
    CANCEL = "cancel"


# action → (statuses it applies to, the status it leads to)
_MOVES: dict[TaskAction, tuple[frozenset[str], str]] = {
    TaskAction.CONFIRM: (frozenset({"new"}), "confirmed"),
    TaskAction.START: (frozenset({"confirmed"}), "in_progress"),
    TaskAction.COMPLETE: (frozenset({"in_progress"}), "completed"),
    TaskAction.CANCEL: (frozenset({"new", "confirmed", "in_progress"}), "cancelled"),
}


class TaskActionRefused(ValueError):
    """The action does not fit the task (its state, a quantity, a missing reason); nothing was changed."""


@dataclass(frozen=True)
class TaskMove:
    action: TaskAction
    from_status: str
    to_status: str
    quantity_sent: int | None = None
    reason: str | None = None


def allowed_actions(status: str) -> tuple[TaskAction, ...]:
    return tuple(a for a, (sources, _) in _MOVES.items() if status in sources)


def plan_move(task_number: str, status: str, action: TaskAction | str, *, quantity_sent: int | None = None,
              reason: str | None = None) -> TaskMove:
    """The move `action` makes from `status`, or TaskActionRefused saying why not and what is allowed."""
    try:
        action = TaskAction(action)
    except ValueError:
        raise TaskActionRefused(f"unknown action {action!r}; expected one of "
                                f"{', '.join(a.value for a in TaskAction)}") from None
    sources, target = _MOVES[action]
    if status not in sources:
        allowed = ", ".join(a.value for a in allowed_actions(status)) or "nothing (it is closed)"
        raise TaskActionRefused(f"task {task_number} is {status}: cannot {action.value} it; allowed: {allowed}")
    if action is TaskAction.COMPLETE:
        if quantity_sent is None or quantity_sent < 1:
            raise TaskActionRefused(f"quantity sent must be a whole number of at least 1, got {quantity_sent}; "
                                    f"cancel the task if nothing was sent")
    elif quantity_sent is not None:
        raise TaskActionRefused("a quantity is given only when completing a task")
    if action is TaskAction.CANCEL:
        reason = (reason or "").strip()
        if not reason:
            raise TaskActionRefused(f"cancelling task {task_number} needs a reason")
    return TaskMove(action, status, target, quantity_sent, reason or None)
