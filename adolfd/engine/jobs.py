"""Every job adolfd can run, found by name: the `@job` decorator registers it with its module, queue,
argument model (built from the signature, so `adolfd run` validates before enqueueing) and retry policy.

Jobs are looked up as `module.name`, or by bare name when only one module has it. A schedule name of the cron
table (`collect_stats_wb`) resolves to its job with the row's arguments bound.
"""
from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic_core import PydanticSerializationError

from adolfd.engine.arguments import validation_context
from adolfd.cron import TABLE, CronEntry
from adolfd.errors import BadArguments, NotAllowed, UnknownJob
from adolfd.engine.retry import NO_RETRY, RetryPolicy
from adolfd.engine.serialization import not_json

MODULES = ("logistic", "watcher", "marketing", "reputation", "carsbot", "operations")
QUEUES: dict[str, tuple[str, ...]] = {
    "logistic": ("sync", "brain", "logic"),
    "watcher": ("default", "critical", "heavy"),
    "marketing": ("high", "default", "low"),
    "reputation": ("default",),
    "carsbot": ("default", "ai", "publishing", "sheets", "monitoring"),
    "operations": ("default",),
}


def queue_name(module: str, queue: str) -> str:
    return f"adolfd:{module}:{queue}"


@dataclass
class JobSpec:
    name: str
    module: str
    queue: str
    func: Callable[..., Any]
    args_model: type[BaseModel]
    retry: RetryPolicy = NO_RETRY
    timeout: float = 300.0
    manual: bool = False
    doc: str = ""
    bound: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.module}.{self.name}"

    @property
    def queue_name(self) -> str:
        return queue_name(self.module, self.queue)

    @property
    def arq_name(self) -> str:
        """The function name ARQ stores in the job; unique within the queue."""
        return self.name

    def validate(self, kwargs: dict[str, Any], *, brands: typing.Sequence[str] | None = None) -> dict[str, Any]:
        """The arguments as they travel (JSON values), for enqueueing; `brands` (from settings) also refuses an
        unknown brand here rather than in the worker."""
        model = self._model(kwargs, brands)
        try:
            wire = model.model_dump(mode="json")
        except PydanticSerializationError:
            wire = None
        if wire is not None and not not_json(wire):
            return wire
        bad = [name for name in self.args_model.model_fields if not _json_field(model, name)]
        raise BadArguments(f"bad arguments for {self.key}: {', '.join(bad)}: not representable as JSON")

    def parse(self, kwargs: dict[str, Any], *, brands: typing.Sequence[str] | None = None) -> dict[str, Any]:
        """The arguments as the job's signature types them (a `date` is a date), for calling the job."""
        model = self._model(kwargs, brands)
        return {name: getattr(model, name) for name in self.args_model.model_fields}

    def _model(self, kwargs: dict[str, Any], brands: typing.Sequence[str] | None) -> BaseModel:
        try:
            return self.args_model.model_validate({**kwargs, **self.bound}, context=validation_context(brands))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            raise BadArguments(f"bad arguments for {self.key}: {problems}") from None

    def describe_args(self) -> str:
        parts = []
        for name, fld in self.args_model.model_fields.items():
            ann = getattr(fld.annotation, "__name__", str(fld.annotation))
            default = "" if fld.is_required() else f"={fld.default!r}"
            parts.append(f"{name}:{ann}{default}")
        return " ".join(parts)


JOBS: dict[str, JobSpec] = {}


def _json_field(model: BaseModel, name: str) -> bool:
    try:
        return not not_json(model.model_dump(mode="json", include={name})[name])
    except PydanticSerializationError:
        return False


def _args_model(func: Callable[..., Any], name: str) -> type[BaseModel]:
    hints = typing.get_type_hints(func, include_extras=True)   # keep Annotated constraints (adolfd.engine.arguments)
    fields: dict[str, Any] = {}
    for i, (pname, param) in enumerate(inspect.signature(func).parameters.items()):
        if i == 0:
            continue  # ctx
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"job {name}: *args/**kwargs are not validatable")
        default = ... if param.default is param.empty else param.default
        fields[pname] = (hints.get(pname, Any), default)
    # NaN and infinities are kept (not turned into null) so the JSON check refuses them instead of losing them
    config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")
    return create_model(f"{name}_args", __config__=config, **fields)


def _cron_row(module: str, name: str) -> CronEntry | None:
    return next((e for e in TABLE if e.module == module and e.job_name == name), None)


def job(
    *,
    module: str,
    queue: str,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    manual: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a job. A scheduled job takes its retry policy and timeout from its cron row, so the
    schedule table stays the one place they are written; event jobs pass them here."""
    if module not in QUEUES or queue not in QUEUES[module]:
        raise ValueError(f"unknown queue {module}:{queue}")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"job {func.__name__} must be async")
        row = _cron_row(module, func.__name__)
        spec = JobSpec(
            name=func.__name__,
            module=module,
            queue=queue,
            func=func,
            args_model=_args_model(func, func.__name__),
            retry=retry if retry is not None else (row.retry if row else NO_RETRY),
            timeout=timeout if timeout is not None else (row.timeout if row else 300.0),
            manual=manual,
            doc=(inspect.getdoc(func) or "").split("\n")[0],
        )
        JOBS[spec.key] = spec
        func.spec = spec  # type: ignore[attr-defined]
        return func

    return register


def load_modules(modules: typing.Iterable[str] = MODULES) -> None:
    """Import the worker modules so their jobs register; a module not written yet simply has no jobs."""
    for module in modules:
        try:
            importlib.import_module(f"adolfd.workers.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"adolfd.workers.{module}":
                raise


def resolve(name: str) -> JobSpec:
    """`module.job`, a bare job name that only one module has, or a cron schedule name."""
    load_modules()
    if name in JOBS:
        return JOBS[name]
    matches = [s for s in JOBS.values() if s.name == name]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UnknownJob(f"job {name!r} exists in several modules; say one of: "
                         + ", ".join(s.key for s in matches))
    module, _, short = name.rpartition(".")
    rows = [e for e in TABLE if e.name == short and (not module or e.module == module)]
    if len(rows) == 1 and f"{rows[0].module}.{rows[0].job_name}" in JOBS:
        base = JOBS[f"{rows[0].module}.{rows[0].job_name}"]
        return JobSpec(**{**base.__dict__, "bound": dict(rows[0].kwargs)})
    raise UnknownJob(f"unknown job {name!r}; `adolfd jobs` lists them")


def for_queue(module: str, queue: str) -> list[JobSpec]:
    load_modules([module])
    return [s for s in JOBS.values() if s.module == module and s.queue == queue]
