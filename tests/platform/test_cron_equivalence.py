"""Every cron row as ARQ will fire it equals what croniter says of the seed's crontab, over a whole year.

(Rows that fire more often than every 15 minutes are compared over 31 days: croniter needs ~30 µs a fire time,
and a minutely year is half a million of them; the ARQ sets are the same for every day of the year anyway.)

The ARQ side is the CronJob built by `adolfd.engine.scheduler.arq_cron` (its month/day/weekday/hour/minute/second
sets); its fire times are enumerated minute by minute, and its own `next_cron` is checked to step through the
same times. The croniter side iterates the crontab string itself.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from adolfd.cron import TABLE, CronEntry
from adolfd.engine.scheduler import arq_cron, cron_options, next_fires
from croniter import croniter


async def _noop(ctx):  # a coroutine for arq.cron(); never run
    return None


def _arq_year(entry: CronEntry, start: datetime) -> list[datetime]:
    job = arq_cron(entry, _noop)

    def ok(value, allowed):
        return allowed is None or (value in allowed if isinstance(allowed, (set, list, tuple)) else value == allowed)

    out, day = [], start
    end = _end(entry, start)
    while day < end:
        if ok(day.month, job.month) and ok(day.day, job.day) and ok(day.weekday(), job.weekday):
            for hour in range(24):
                if not ok(hour, job.hour):
                    continue
                for minute in range(60):
                    if ok(minute, job.minute):
                        out.append(day.replace(hour=hour, minute=minute, second=job.second,
                                               microsecond=job.microsecond))
        day += timedelta(days=1)
    return out


def _end(entry: CronEntry, start: datetime) -> datetime:
    minutes = cron_options(entry.cron)["minute"]
    dense = minutes is None or len(minutes) > 4
    return start + timedelta(days=31) if dense else start.replace(year=start.year + 1)


def _croniter_year(entry: CronEntry, start: datetime) -> list[datetime]:
    it = croniter(entry.cron, start - timedelta(seconds=1))
    end = _end(entry, start)
    out = []
    while (t := it.get_next(datetime)) < end:
        out.append(t.replace(second=entry.second))
    return out


UNIQUE = {(e.cron, e.second, e.tz.key): e for e in TABLE}


@pytest.mark.parametrize("entry", list(UNIQUE.values()), ids=[f"{e.module}.{e.name}" for e in UNIQUE.values()])
def test_arq_cron_matches_croniter_for_a_year(entry: CronEntry):
    start = datetime(2027, 1, 1, tzinfo=entry.tz)
    arq_times = _arq_year(entry, start)
    assert arq_times == _croniter_year(entry, start)
    assert arq_times, "a schedule that never fires"
    # ARQ's own stepping (used by the scheduler) lands on the same first fire times
    assert next_fires(entry, start - timedelta(seconds=1), 3) == arq_times[:3]


def test_every_row_is_covered():
    covered = {(e.cron, e.second, e.tz.key) for e in UNIQUE.values()}
    assert all((e.cron, e.second, e.tz.key) in covered for e in TABLE)


def test_weekday_translation_sunday_and_monday():
    assert cron_options("0 4 * * 0")["weekday"] == {6}      # cron Sunday → ARQ 6
    assert cron_options("0 2 * * 1")["weekday"] == {0}      # cron Monday → ARQ 0
    assert cron_options("0 2 * * 7")["weekday"] == {6}


@pytest.mark.parametrize("bad", ["* * * *", "61 * * * *", "0 0 1 * 1", "*/0 * * * *"])
def test_bad_crontab_is_refused(bad):
    with pytest.raises((ValueError, ZeroDivisionError)):
        cron_options(bad)
