"""Carsbot jobs (seed 004): sheet syncs, the AI pipeline, publishing, subscriptions and monitoring.

Queues follow the seed's: `default`, `ai` (ai_processing, the seed's highest priority: its own queue, so it never
waits behind sheets or monitoring work), `publishing`, `sheets` (sheets_sync), `monitoring`. Schedules are UTC.
"""
from __future__ import annotations

from adolfd.workers import queue_settings
from adolfd.workers.carsbot import monitoring, pipeline, publishing, sheets_sync  # noqa: F401 — registers jobs

# `arq adolfd.workers.carsbot.<Queue>Settings` runs one queue with the plain ARQ CLI.
__getattr__ = queue_settings("carsbot")
