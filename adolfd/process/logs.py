"""structlog configured once: one JSON object per line on stdout, prefixed `<N>` so journald keeps the level.

`journalctl -u 'adolfd-*' -p err` then shows errors only. Fields whose names look like secrets are masked, and
pydantic `SecretStr` values render masked by themselves.
"""
from __future__ import annotations

import functools
import json
import logging
import re
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

# RFC 5424 severities that sd-daemon(3) reads from a `<N>` line prefix.
SYSLOG_PRIORITY = {"critical": 2, "error": 3, "exception": 3, "warning": 4, "warn": 4, "info": 6, "debug": 7}
SECRET_NAMES = re.compile(r"password|secret|token|api_?key|authorization|credential", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def _names_a_secret(key: str) -> bool:
    """Field names come from the code, a few hundred at most: each is matched once, not on every line."""
    return SECRET_NAMES.search(key) is not None


def mask_secrets(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    for key in [k for k in event if _names_a_secret(k)]:
        if event[key]:
            event[key] = "***"
    return event


# The running job's fields (job, module, job_id, queue, attempt): set once per job in the job's own task, so every
# line logged while it runs carries them. One variable holding a dict, not one per field: binding and merging cost
# a dict lookup instead of five variables set and reset, and a walk of the whole context, on each line.
_JOB_FIELDS: ContextVar[dict[str, Any] | None] = ContextVar("adolfd_job_fields", default=None)


class job_fields:  # noqa: N801 — used as a context manager, like structlog's bound_contextvars
    """`with job_fields(job=..., job_id=...):` every line logged inside carries these fields."""

    __slots__ = ("_fields", "_token")

    def __init__(self, **fields: Any) -> None:
        self._fields = fields
        self._token: Token[dict[str, Any] | None] | None = None

    def __enter__(self) -> None:
        self._token = _JOB_FIELDS.set(self._fields)

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _JOB_FIELDS.reset(self._token)


def merge_job_fields(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    fields = _JOB_FIELDS.get()
    return {**fields, **event} if fields else event       # the line's own fields win


class SyslogPrefixRenderer:
    """JSON (what `json.dumps(event, default=str, ensure_ascii=False)` gives, from one encoder built once instead
    of one a line) with the syslog priority of the event's level in front."""

    def __init__(self) -> None:
        self._encode = json.JSONEncoder(default=str, ensure_ascii=False).encode

    def __call__(self, logger: WrappedLogger, name: str, event: EventDict) -> str:
        level = event.get("level", name)
        return f"<{SYSLOG_PRIORITY.get(level, 6)}>{self._encode(event)}"


class JsonLine:
    """The processors of adolfd's own lines in one call instead of six: job fields, level, UTC ISO time, masked
    secrets, the traceback, then the line. The same line as `LINE_STEPS` one by one (a test compares them), with
    less work on the path every job takes twice (job_started, job_finished)."""

    def __init__(self) -> None:
        self._render = SyslogPrefixRenderer()

    def __call__(self, logger: WrappedLogger, name: str, event: EventDict) -> str:
        event = merge_job_fields(logger, name, event)
        event["level"] = "warning" if name == "warn" else "error" if name == "exception" else name
        event["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        event = mask_secrets(logger, name, event)
        if "exc_info" in event:
            event = structlog.processors.format_exc_info(logger, name, event)
        return self._render(logger, name, event)


SHARED_STEPS: list[Processor] = [
    merge_job_fields,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    mask_secrets,
]
LINE_STEPS: list[Processor] = [*SHARED_STEPS, structlog.processors.format_exc_info, SyslogPrefixRenderer()]


def configure(level: str = "info", stream: Any = None) -> None:
    """Idempotent; stdlib logging (arq, aiogram, asyncpg) goes through the same renderer."""
    stream = stream or sys.stdout
    structlog.configure(
        processors=[JsonLine()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                SyslogPrefixRenderer(),
            ],
            foreign_pre_chain=[*SHARED_STEPS, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.getLevelName(level.upper()))
    # arq logs every job start/end itself at INFO; adolfd's own job_started/job_finished replace that.
    logging.getLogger("arq.worker").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
