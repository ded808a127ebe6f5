"""adolfd's worker overrides ARQ's Worker methods and reads its attributes: pin the ARQ version and the exact
shape of everything the override relies on, so an ARQ upgrade fails here first, not in production."""
from __future__ import annotations

import inspect

import arq
from adolfd.engine.runtime import AdolfdWorker
from arq.worker import Worker

# ARQ method -> its parameters, as adolfd's overrides call or replace them
OVERRIDDEN = {
    "main": ["self"],
    "_poll_iteration": ["self"],
    "heart_beat": ["self"],
    "finish_job": ["self", "job_id", "finish", "result_data", "result_timeout_s", "keep_result_forever",
                   "incr_score", "keep_in_progress"],
    "close": ["self"],
    "_release_sem_dec_counter_on_complete": ["self"],
}
# ARQ internals the overrides use without overriding (run_job: adolfd.engine.claim runs ARQ 0.28's copy of it)
USED = {
    "run_job": ["self", "job_id", "score"],
    "finish_failed_job": ["self", "job_id", "result_data"],
    "record_health": ["self"],
    "_cancel_aborted_jobs": ["self"],
    "_jobs_started": ["self"],
    "handle_sig": ["self", "signum"],
}
ATTRIBUTES = ("sem", "job_counter", "max_jobs", "tasks", "pool", "queue_name", "queue_read_limit",
              "_queue_read_offset", "in_progress_timeout_s", "allow_pick_jobs", "allow_abort_jobs", "burst",
              "max_burst_jobs", "poll_delay_s", "health_check_key", "loop", "ctx", "functions", "job_tasks",
              "aborting_tasks", "job_serializer", "job_deserializer", "max_tries", "job_timeout_s", "retry_jobs",
              "keep_result_s", "keep_result_forever", "log_results", "on_job_start", "on_job_end",
              "after_job_end", "jobs_complete", "jobs_failed", "jobs_retried")


def test_arq_is_the_version_adolfd_was_written_against() -> None:
    assert arq.VERSION.startswith("0.28."), arq.VERSION


def test_every_overridden_method_exists_in_arq_with_the_same_parameters() -> None:
    overridden = {name for name, value in vars(AdolfdWorker).items()
                  if inspect.isfunction(value) and name in vars(Worker) and name != "__init__"}
    assert overridden == set(OVERRIDDEN)
    for name, params in {**OVERRIDDEN, **USED}.items():
        assert list(inspect.signature(getattr(Worker, name)).parameters) == params, name
    for name in OVERRIDDEN:
        assert list(inspect.signature(getattr(AdolfdWorker, name)).parameters) == OVERRIDDEN[name], name


def test_the_attributes_the_worker_reads_are_set_by_arq() -> None:
    async def noop(ctx: dict) -> None:
        return None

    worker = AdolfdWorker(functions=[noop], queue_name="adolfd:contract:test", redis_pool=object(),
                          handle_signals=False)
    missing = [name for name in ATTRIBUTES if not hasattr(worker, name)]
    assert missing == []
