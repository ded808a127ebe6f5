"""Log lines: JSON with a syslog priority prefix journald understands; secrets never printed."""
from __future__ import annotations

import io
import json
import logging

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
