"""Jobs of adolfd itself (not of a seed): an end-to-end probe an operator can run to check the pipeline."""
from __future__ import annotations

from adolfd.workers import queue_settings
from adolfd.workers.operations import probe  # noqa: F401 — registers the job

# `arq adolfd.workers.operations.<Queue>Settings` runs one queue with the plain ARQ CLI.
__getattr__ = queue_settings("operations")
