"""Jobs an operator starts by hand: every argument bounded (a typo cannot delete 89 days of history or cancel
every new task), a job that deletes or cancels runs only with `--yes`, and alerts cannot be forged by hand."""
from __future__ import annotations

import enum
import json
import types
import typing
from datetime import date

import pytest
from adolfd.engine.enqueue import prepare
from adolfd.engine.jobs import catalog
from adolfd.errors import BadArguments, NotAllowed, NotConfirmed

# types whose values are all acceptable by construction: nothing to bound
CLOSED = (bool, type(None))


def unbounded_parts(annotation: typing.Any, constrained: bool = False) -> list[str]:
    """The parts of an argument's type that accept any value of an open type (int, float, str, date, dict)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return unbounded_parts(typing.get_args(annotation)[0], constrained=True)
    if origin in (typing.Union, types.UnionType):
        return [p for arg in typing.get_args(annotation) for p in unbounded_parts(arg, constrained)]
    if origin is typing.Literal or annotation in CLOSED:
        return []
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return []
    return [] if constrained else [getattr(annotation, "__name__", str(annotation))]


def manual_jobs():
    return [spec for spec in catalog().all_jobs() if spec.manual]


def test_every_argument_of_every_manual_job_is_bounded():
    loose = {}
    for spec in manual_jobs():
        hints = typing.get_type_hints(spec.func, include_extras=True)
        for name in spec.args_model.model_fields:
            if parts := unbounded_parts(hints[name]):
                loose[f"{spec.key}({name})"] = parts
    assert loose == {}
    assert len(manual_jobs()) > 30


def test_jobs_that_delete_or_cancel_need_a_confirmation_and_alerts_cannot_be_forged():
    keys = {spec.key for spec in manual_jobs()}
    deleting = {spec.key for spec in manual_jobs() if "cleanup" in spec.name or "cancel" in spec.name}
    assert deleting <= {spec.key for spec in manual_jobs() if spec.destructive}
    assert {"logistic.cleanup_old_data", "logistic.auto_cancel_expired", "watcher.cleanup_old_tasks",
            "marketing.cleanup_old_stats", "carsbot.cleanup_old_results_task"} <= deleting
    assert "marketing.send_alert" not in keys
    with pytest.raises(NotAllowed, match="marketing.send_alert is not in the manual-run allow-list"):
        prepare("marketing.send_alert", {"campaign_id": 0, "alert_type": "system_error", "severity": "critical",
                                         "title": "t", "message": "m"}, manual=True)
    with pytest.raises(NotConfirmed, match="--yes"):
        prepare("cleanup_old_data", {}, manual=True)
    assert prepare("cleanup_old_data", {"retention_days": 90}, manual=True, confirmed=True)[1] == {
        "retention_days": 90}
    # the schedule and other jobs enqueue without the operator's confirmation
    assert prepare("cleanup_old_data", {})[1] == {"retention_days": None}


@pytest.mark.parametrize(("name", "args", "allowed"), [
    ("cleanup_old_data", {"retention_days": 1}, "allowed: 90 to 3650 days, not 1"),
    ("auto_cancel_expired", {"max_age_hours": 0}, "allowed: 48 to 8760 hours, not 0"),
    ("watcher.cleanup_old_tasks", {"days": 7}, "allowed: 90 to 3650 days"),
    ("watcher.cleanup_old_logs", {"days": 1}, "allowed: 30 to 3650 days"),
    ("watcher.cleanup_resolved_alerts", {"days": 30}, "allowed: 365 to 3650 days"),
    ("watcher.consume_agent_events", {"seconds": 3600}, "allowed: 0 to 55 seconds"),
    ("watcher.handle_panic_mode", {"agent_id": 1, "reason": "x" * 5000}, "at most 1000 characters"),
    ("watcher.redistribute_agent_tasks", {"agent_id": -1}, "allowed: 1 to"),
    ("generate_supply_tasks", {"attempt": 99}, "allowed: 0 to 20"),
    ("aggregate_monthly_stats", {"year": 1900, "month": 1}, "allowed: 2020 to 2099"),
    ("watcher.generate_daily_tasks", {"scheduled_date": date(1970, 1, 1)}, "allowed: 2020-01-01 to 2099-12-31"),
    ("probe", {"sleep_ms": 10**9}, "allowed: 0 to 50000 ms"),
])
def test_out_of_range_arguments_are_refused_naming_the_range(name, args, allowed):
    with pytest.raises(BadArguments, match=allowed.replace("(", r"\(")):
        prepare(name, args, manual=True, confirmed=True)


def test_adolfd_run_refuses_out_of_range_and_unconfirmed_destructive_runs(adolfd, res):
    too_short = adolfd("run", "cleanup_old_data", "retention_days=1", "--yes")
    assert too_short.returncode == 2 and "retention_days: Value error, allowed: 90 to 3650 days, not 1" in \
        too_short.stderr, too_short.stderr
    cancel_all = adolfd("run", "auto_cancel_expired", "max_age_hours=0", "--yes")
    assert cancel_all.returncode == 2 and "allowed: 48 to 8760 hours" in cancel_all.stderr
    unconfirmed = adolfd("run", "cleanup_old_data")
    assert unconfirmed.returncode == 2 and "run it again with --yes" in unconfirmed.stderr
    forged = adolfd("run", "marketing.send_alert", "campaign_id=0", "alert_type=system_error", "severity=critical",
                    "title=t", "message=m")
    assert forged.returncode == 2 and "not in the manual-run allow-list" in forged.stderr


async def test_adolfd_run_queues_a_confirmed_destructive_run(adolfd, res):
    out = adolfd("run", "cleanup_old_data", "retention_days=90", "--yes")
    assert out.returncode == 0, out.stderr
    queued = json.loads(out.stdout)
    assert queued["job"] == "logistic.cleanup_old_data" and queued["status"] == "queued"
    assert await res.redis.zcard("adolfd:logistic:logic") == 1
