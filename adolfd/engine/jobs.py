"""Every job adolfd can run, found by name. `@job` marks a function with its queue and options; the module
that lists it (its ModuleSpec) binds it into a JobSpec with an argument model built from the signature (so
`adolfd run` validates before enqueueing), its retry policy and time limits.

Jobs are looked up as `module.name`, or by bare name when only one module has it. A schedule name of the cron
table (`collect_stats_wb`) resolves to its job with the row's arguments bound.
"""
from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic_core import PydanticSerializationError

from adolfd.cron import TABLE, CronEntry
from adolfd.engine.arguments import validation_context
from adolfd.engine.module import ModuleSpec, queue_name
from adolfd.engine.retry import NO_RETRY, RetryPolicy
from adolfd.engine.serialization import not_json
from adolfd.errors import BadArguments, UnknownJob


@dataclass
class JobSpec:
    name: str
    module: str
    queue: str
    func: Callable[..., Any]
    args_model: type[BaseModel]
    retry: RetryPolicy = NO_RETRY
    timeout: float = 300.0
    soft_timeout: float | None = None      # the job is told (JobSoftTimeout) this long before the hard one
    manual: bool = False
    destructive: str = ""                  # what a run deletes or cancels: a manual run needs a confirmation
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


OPTIONS = "job_options"          # the attribute `@job` sets on a job function


@dataclass(frozen=True)
class JobOptions:
    """What `@job` says about a function; the module that lists the function binds it into a JobSpec."""

    queue: str
    retry: RetryPolicy | None = None
    timeout: float | None = None
    soft_timeout: float | None = None
    manual: bool = False
    destructive: str = ""


def job(
    *,
    queue: str,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    soft_timeout: float | None = None,
    manual: bool = False,
    destructive: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark an async function as a job of `queue` of the module that lists it (its ModuleSpec). A scheduled
    job takes its retry policy and time limits from its cron row, so the schedule table stays the one place
    they are written; event jobs pass them here. Nothing is registered: the function only carries its options.
    `destructive` says what a run deletes or cancels ("deletes …"); run by hand, it needs a confirmation."""

    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"job {func.__name__} must be async")
        vars(func)[OPTIONS] = JobOptions(queue, retry, timeout, soft_timeout, manual, destructive)
        return func

    return mark


def job_functions(*modules: ModuleType) -> list[Callable[..., Any]]:
    """The jobs defined in these Python modules (imported ones excluded), in definition order."""
    return [value for module in modules for value in vars(module).values()
            if callable(value) and hasattr(value, OPTIONS) and value.__module__ == module.__name__]


def job_options(func: Callable[..., Any]) -> JobOptions:
    """What `@job` put on the function; TypeError for a function it did not mark."""
    options = getattr(func, OPTIONS, None)
    if not isinstance(options, JobOptions):
        raise TypeError(f"{getattr(func, '__name__', func)!r} is not marked with @job")
    return options


def bind(func: Callable[..., Any], module: ModuleSpec) -> JobSpec:
    """The JobSpec of one job function of `module`."""
    options = job_options(func)
    module.queue(options.queue)           # an unknown queue is a programming error: fail at start-up
    row = _cron_row(module.name, func.__name__)
    return JobSpec(
        name=func.__name__,
        module=module.name,
        queue=options.queue,
        func=func,
        args_model=_args_model(func, func.__name__),
        retry=options.retry if options.retry is not None else (row.retry if row else NO_RETRY),
        timeout=options.timeout if options.timeout is not None else (row.timeout if row else 300.0),
        soft_timeout=options.soft_timeout if options.soft_timeout is not None else (row.soft_timeout if row else None),
        manual=options.manual,
        destructive=options.destructive,
        doc=(inspect.getdoc(func) or "").split("\n")[0],
    )


class Catalog:
    """Every job of a list of modules, found by name. A module's jobs are imported the first time one of them
    is asked for, so resolving `logistic.generate_supply_tasks` loads logistic alone."""

    def __init__(self, modules: Sequence[ModuleSpec]) -> None:
        self.modules = {m.name: m for m in modules}
        self._jobs: dict[str, dict[str, JobSpec]] = {}

    def module(self, name: str) -> ModuleSpec:
        try:
            return self.modules[name]
        except KeyError:
            raise UnknownJob(f"unknown module {name!r}; modules: {', '.join(self.modules)}") from None

    def jobs_of(self, module: str) -> dict[str, JobSpec]:
        if module not in self._jobs:
            spec = self.module(module)
            self._jobs[module] = {f.__name__: bind(f, spec) for f in spec.jobs()}
        return self._jobs[module]

    def all_jobs(self) -> list[JobSpec]:
        return [job for module in self.modules for job in self.jobs_of(module).values()]

    def for_queue(self, module: str, queue: str) -> list[JobSpec]:
        return [s for s in self.jobs_of(module).values() if s.queue == queue]

    def resolve(self, name: str) -> JobSpec:
        """`module.job`, a bare job name that only one module has, or a cron schedule name."""
        module, _, short = name.rpartition(".")
        if module in self.modules and short in self.jobs_of(module):
            return self.jobs_of(module)[short]
        scheduled_by = {e.module for e in TABLE if e.job_name == name and e.module in self.modules}
        if len(scheduled_by) == 1:   # a scheduled job's name is its module's alone (tests/test_cron_table.py)
            (owner,) = scheduled_by
            if name in self.jobs_of(owner):
                return self.jobs_of(owner)[name]
        matches = [s for s in self.all_jobs() if s.name == name]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise UnknownJob(f"job {name!r} exists in several modules; say one of: "
                             + ", ".join(s.key for s in matches))
        rows = [e for e in TABLE if e.name == short and (not module or e.module == module)]
        if len(rows) == 1 and rows[0].job_name in self.jobs_of(rows[0].module):
            base = self.jobs_of(rows[0].module)[rows[0].job_name]
            return replace(base, bound=dict(rows[0].kwargs))
        raise UnknownJob(f"unknown job {name!r}; `adolfd jobs` lists them")


@cache
def catalog() -> Catalog:
    """The catalog of adolfd's modules (adolfd.modules.MODULES)."""
    from adolfd.modules import MODULES

    return Catalog(MODULES)


def resolve(name: str) -> JobSpec:
    return catalog().resolve(name)


def for_queue(module: str, queue: str) -> list[JobSpec]:
    return catalog().for_queue(module, queue)
