"""Jobs of adolfd itself (not of a seed): an end-to-end probe an operator can run to check the pipeline."""
from __future__ import annotations

from adolfd.engine.arq_settings import queue_settings
from adolfd.engine.module import ModuleSpec, Queue


def _jobs():
    from adolfd.engine.jobs import job_functions
    from adolfd.workers.operations import probe

    return job_functions(probe)


MODULE = ModuleSpec(
    name="operations",
    summary="adolfd's own jobs: the end-to-end probe",
    queues=(Queue("default"),),
    jobs=_jobs,
)

# `arq adolfd.workers.operations.<Queue>Settings` runs one queue with the plain ARQ CLI.
__getattr__ = queue_settings("operations")
