"""Jobs and their results travel through Redis as JSON, never pickle (the seeds' `task_serializer='json'`,
ARCHITECTURE "Processes"): with pickle, whoever can write Redis runs code in every worker and in `adolfd job`.

ARQ stores a job as `{t, f, a, k, et}` (try, function, args, kwargs, enqueue time) and a result as the same plus
`{s, r, st, ft, q, id}`; `job_serializer` / `job_deserializer` are what every ArqRedis pool and Worker of adolfd
is built with (`create_pool(..., job_serializer=, job_deserializer=)`, `Worker(job_serializer=, ...)`).

- A job is strict JSON: its arguments were already turned into JSON values by the job's argument model at
  enqueue (`JobSpec.validate`), so anything else is refused, naming the argument.
- A result is made JSON: dates, times, Decimals, UUIDs, enums, sets, pydantic models and dataclasses become
  their JSON form; a failure's exception becomes `{"__error__": type, "message": text}` and reads back as
  `JobFailed`. A result that still is not JSON takes ARQ's fallback (`unable to serialize result`) and the
  worker carries on.
- Bytes that start like a pickle are never unpickled: they raise `LegacyPickledJob`, naming what can be read
  without unpickling (adolfd.engine.legacy_jobs).
"""
from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any
from uuid import UUID

from arq.connections import ArqRedis
from arq.jobs import Job
from pydantic import BaseModel

from adolfd.engine.legacy_jobs import is_pickle, legacy_error
from adolfd.errors import LegacyPickledJob

ERROR_KEY = "__error__"


class JobFailed(Exception):
    """A job's failure as read back from its JSON result: the original exception's type name and message
    (the exception itself is not rebuilt: that would mean importing whatever class the data names)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}" if message else error_type)
        self.error_type = error_type
        self.message = message


def not_json(value: Any) -> bool:
    """Whether `value` is outside strict JSON (NaN and infinities included)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return True
    return False


def job_serializer(data: dict[str, Any]) -> bytes:
    if "s" in data:
        return _dumps(_result_data(data), default=result_value)
    bad = [name for name, value in (data.get("k") or {}).items() if not_json(value)]
    if bad or any(not_json(value) for value in data.get("a") or ()):
        raise TypeError(f"job {data.get('f')!r}: argument {', '.join(bad) or 'positional'} is not JSON")
    return _dumps(data, allow_nan=False)


def job_deserializer(raw: bytes) -> dict[str, Any]:
    if is_pickle(raw):
        raise legacy_error(raw)
    data = json.loads(raw)
    result = data.get("r")
    if data.get("s") is False and isinstance(result, dict) and ERROR_KEY in result:
        data["r"] = JobFailed(result[ERROR_KEY], result.get("message", ""))
    return data


def result_value(value: Any) -> Any:
    """The JSON form of what a job may return beyond JSON's own types."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID, PurePath)):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, BaseException):
        return error_value(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def error_value(exc: BaseException) -> dict[str, str]:
    """An exception as a result stores it. ARQ wraps a job it could not read (`DeserializationError`); the
    cause is what the operator needs to see."""
    cause = exc.__cause__
    if cause is not None and str(cause):
        return {ERROR_KEY: type(cause).__name__, "message": f"{exc}: {cause}" if str(exc) else str(cause)}
    return {ERROR_KEY: type(exc).__name__, "message": str(exc)}


def _result_data(data: dict[str, Any]) -> dict[str, Any]:
    """A legacy pickled job that a worker met is failed by ARQ before its function is known; its result then
    names the job id, queue, function and arguments read without unpickling, and how to enqueue it again."""
    legacy = _legacy_cause(data.get("r"))
    if legacy is None:
        return data
    message = (f"legacy pickled job {data.get('id')} on {data.get('q')}: {legacy}")
    return {**data, "f": legacy.function or data.get("f"), "k": legacy.kwargs or {},
            "r": {ERROR_KEY: "LegacyPickledJob", "message": message}}


def _legacy_cause(value: Any) -> LegacyPickledJob | None:
    while isinstance(value, BaseException):
        if isinstance(value, LegacyPickledJob):
            return value
        value = value.__cause__
    return None


def _dumps(data: dict[str, Any], **kw: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), **kw).encode()


def arq_job(redis: ArqRedis, job_id: str, queue_name: str | None = None) -> Job:
    """ARQ's Job handle reading with adolfd's deserializer (ARQ's default would unpickle)."""
    if queue_name is None:
        return Job(job_id, redis, _deserializer=job_deserializer)
    return Job(job_id, redis, _queue_name=queue_name, _deserializer=job_deserializer)


SERIALIZERS: dict[str, Any] = {"job_serializer": job_serializer, "job_deserializer": job_deserializer}

__all__ = ["JobFailed", "SERIALIZERS", "arq_job", "job_deserializer", "job_serializer", "not_json"]
