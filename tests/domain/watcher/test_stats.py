from datetime import date

from adolfd.domain.watcher.stats import DailyStats, render_weekly, weekly_report


def day(d, total, done, alerts):
    return DailyStats(date(2026, 2, d), total, done, total - done, 1200.0, {"wb": done}, alerts)


def test_daily_round_trips_through_json_and_week_sums():
    days = [DailyStats.from_json(day(9, 10, 8, {"price_drop": 2}).as_json()),
            day(10, 5, 5, {"price_drop": 1, "out_of_stock": 1})]
    report = weekly_report(days, date(2026, 2, 9), date(2026, 2, 15))
    assert report["total_tasks"] == 15 and report["completed_tasks"] == 13 and report["failed_tasks"] == 2
    assert report["alerts"] == {"price_drop": 3, "out_of_stock": 1} and report["total_alerts"] == 4
    assert report["missing_days"][0] == "2026-02-11" and len(report["missing_days"]) == 5
    assert "Задач: 15" in render_weekly(report)
