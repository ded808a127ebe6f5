"""Logistic jobs (seed 000 §8): Ozon FBO stock and sales, 1C warehouse stock, supply tasks, stock alerts."""
from __future__ import annotations

from adolfd.workers import queue_settings
from adolfd.workers.logistic import ozon_sync  # noqa: F401 — registers jobs

# `arq adolfd.workers.logistic.<Queue>Settings` runs one queue with the plain ARQ CLI.
__getattr__ = queue_settings("logistic")
