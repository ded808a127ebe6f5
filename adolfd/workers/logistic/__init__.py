"""Logistic jobs (seed 000 §8): Ozon FBO stock and sales, 1C warehouse stock, supply tasks, stock alerts.

Each job reads through `ctx`, decides with `adolfd.domain` (stock_monitor, supply_engine, brain_validation,
freshness, readiness) and writes set-based SQL in one transaction per brand, so a retry or a second run
changes nothing that the first one already did. Every Redis key is in `keys.py`.

Where the seed's velocity meets its per-cluster planning: `sync_ozon_analytics` stores each SKU's ordered
units over the last 28 full days; `sync_ozon_stocks` shares them among the SKU's clusters by Ozon's own
per-cluster sales (`ads_cluster`, see `split_units`) and stores the snapshot every position is read from.
"""
from __future__ import annotations

from adolfd.workers import queue_settings
from adolfd.workers.logistic import brain, cleanup, ozon_sync, status, stock_alerts, supply  # noqa: F401 — registers jobs

# `arq adolfd.workers.logistic.<Queue>Settings` runs one queue with the plain ARQ CLI.
__getattr__ = queue_settings("logistic")
