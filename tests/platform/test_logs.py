"""Log lines: JSON with a syslog priority prefix journald understands; secrets never printed."""
from __future__ import annotations

import io
import json
import logging
import re
import sys
from datetime import UTC, datetime

import structlog
from adolfd.process import logs
from pydantic import SecretStr


def _lines(stream: io.StringIO) -> list[tuple[int, dict]]:
    out = []
    for line in stream.getvalue().splitlines():
        assert line.startswith("<") and ">" in line
        out.append((int(line[1:line.index(">")]), json.loads(line[line.index(">") + 1:])))
    return out


def test_levels_map_to_syslog_priorities_and_secrets_are_masked():
    stream = io.StringIO()
    logs.configure("debug", stream=stream)
    log = structlog.get_logger("t")
    log.info("job_finished", job="sync_ozon_stocks", api_key="abc123", token=SecretStr("t0k"))
    log.warning("job_retry")
    log.error("job_failed")
    logging.getLogger("asyncpg").critical("database gone")
    lines = _lines(stream)
    assert [p for p, _ in lines] == [6, 4, 3, 2]
    first = lines[0][1]
    assert first["event"] == "job_finished" and first["job"] == "sync_ozon_stocks"
    assert "abc123" not in stream.getvalue() and "t0k" not in stream.getvalue()
    logs.configure("info")


async def test_every_line_logged_while_a_job_runs_carries_its_fields():
    """Lines of the job, of any module's logger, of stdlib loggers and of tasks the job starts carry the job's
    fields; a line's own field wins; lines outside the job carry none."""
    import asyncio

    stream = io.StringIO()
    logs.configure("info", stream=stream)
    try:
        async def job() -> None:
            structlog.get_logger("adolfd.job").info("job_started")
            structlog.get_logger("adolfd.clients").info("api_call", attempt=3)
            logging.getLogger("asyncpg").warning("slow query")
            await asyncio.create_task(_in_a_task())

        async def _in_a_task() -> None:
            structlog.get_logger("adolfd.workers").info("spawned_work")

        with logs.job_fields(job="probe", module="operations", job_id="j-1", queue="q", attempt=1):
            await job()
        structlog.get_logger("adolfd").info("after_the_job")
        lines = [fields for _, fields in _lines(stream)]
        inside, outside = lines[:-1], lines[-1]
        assert [line["event"] for line in inside] == ["job_started", "api_call", "slow query", "spawned_work"]
        assert all(line["job_id"] == "j-1" and line["job"] == "probe" for line in inside)
        assert [line["attempt"] for line in inside] == [1, 3, 1, 1]
        assert outside["event"] == "after_the_job" and "job_id" not in outside
    finally:
        logs.configure("info")


def test_the_one_call_line_is_the_line_of_the_processors_one_by_one():
    """`JsonLine` does in one call what `LINE_STEPS` do in six; the lines must not differ but for the time."""
    def by_steps(name: str, event: dict) -> str:
        for step in logs.LINE_STEPS:
            event = step(None, name, event)
        return event

    def without_time(line: str) -> tuple[str, dict]:
        fields = json.loads(line[line.index(">") + 1:])
        stamp = fields.pop("timestamp")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp), stamp
        return line[:line.index(">") + 1], fields

    try:
        raise ValueError("боль")
    except ValueError:
        failure = sys.exc_info()
    events = [
        ("info", {"event": "job_started", "args": {"sleep_ms": 50}, "fire_time": None}),
        ("warn", {"event": "job_retry", "api_key": "abc", "password": "", "error": "Ошибка: нет"}),
        ("exception", {"event": "job_failed", "exc_info": failure}),
        ("error", {"event": "job_failed", "exc_info": True}),
        ("debug", {"event": "odd", "when": datetime(2026, 12, 1, tzinfo=UTC), "attempt": 3}),
    ]
    for fields in (None, {"job": "probe", "job_id": "j-1", "attempt": 1}):
        for name, event in events:
            if fields is None:
                one, steps = logs.JsonLine()(None, name, dict(event)), by_steps(name, dict(event))
            else:
                with logs.job_fields(**fields):
                    one, steps = logs.JsonLine()(None, name, dict(event)), by_steps(name, dict(event))
            assert without_time(one) == without_time(steps)
            assert list(json.loads(one[one.index(">") + 1:])) == list(json.loads(steps[steps.index(">") + 1:]))
