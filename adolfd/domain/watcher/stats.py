"""Daily statistics and the weekly report (seed 001 §7.8), as typed values: the seed stored `str(dict)` in a
Redis hash and the weekly report then failed to read it back; here a day is one JSON document and the week is
summed from the parsed documents."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class DailyStats:
    date: date
    tasks_total: int
    tasks_completed: int
    tasks_failed: int
    avg_time_ms: float | None
    by_marketplace: Mapping[str, int] = field(default_factory=dict)
    alerts: Mapping[str, int] = field(default_factory=dict)

    @property
    def alerts_total(self) -> int:
        return sum(self.alerts.values())

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "date": self.date.isoformat(), "by_marketplace": dict(self.by_marketplace),
                "alerts": dict(self.alerts), "alerts_total": self.alerts_total}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DailyStats:
        return cls(date=date.fromisoformat(data["date"]), tasks_total=int(data["tasks_total"]),
                   tasks_completed=int(data["tasks_completed"]), tasks_failed=int(data["tasks_failed"]),
                   avg_time_ms=None if data.get("avg_time_ms") is None else float(data["avg_time_ms"]),
                   by_marketplace={k: int(v) for k, v in data.get("by_marketplace", {}).items()},
                   alerts={k: int(v) for k, v in data.get("alerts", {}).items()})


def weekly_report(days: Iterable[DailyStats], first: date, last: date) -> dict[str, Any]:
    """Sum of the days found in [first, last]; days without statistics are listed as missing."""
    found = sorted((d for d in days if first <= d.date <= last), key=lambda d: d.date)
    alerts: dict[str, int] = {}
    by_marketplace: dict[str, int] = {}
    for day in found:
        for kind, n in day.alerts.items():
            alerts[kind] = alerts.get(kind, 0) + n
        for market, n in day.by_marketplace.items():
            by_marketplace[market] = by_marketplace.get(market, 0) + n
    have = {d.date for d in found}
    span = (last - first).days + 1
    missing = [date.fromordinal(first.toordinal() + i).isoformat() for i in range(span)
               if date.fromordinal(first.toordinal() + i) not in have]
    completed = sum(d.tasks_completed for d in found)
    total = sum(d.tasks_total for d in found)
    return {"period": f"{first.isoformat()} — {last.isoformat()}", "days_with_data": len(found),
            "missing_days": missing, "total_tasks": total, "completed_tasks": completed,
            "failed_tasks": sum(d.tasks_failed for d in found),
            "success_rate": round(completed / total * 100, 1) if total else None,
            "by_marketplace": by_marketplace, "alerts": alerts, "total_alerts": sum(alerts.values())}


def render_weekly(report: Mapping[str, Any]) -> str:
    """The report as the admins' chat reads it."""
    lines = [f"Watcher: неделя {report['period']}",
             f"Задач: {report['total_tasks']} (выполнено {report['completed_tasks']}, "
             f"ошибок {report['failed_tasks']})",
             f"Алертов: {report['total_alerts']}"]
    lines += [f"  {kind}: {n}" for kind, n in sorted(report["alerts"].items())]
    if report["missing_days"]:
        lines.append(f"Нет статистики за: {', '.join(report['missing_days'])}")
    return "\n".join(lines)
