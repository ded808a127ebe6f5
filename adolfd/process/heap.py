"""The worker's start-up heap is put out of the garbage collector's reach.

A worker process starts with ~95 000 tracked objects (pydantic models, aiohttp, arq, every job module) that live
as long as it does, and every full collection walked them all: 30–90 ms with the event loop stopped. Collections
are triggered by allocation, which peaks when cron jobs fire and start, so a full one landed on a job's start
(docs/performance.md, "Cron precision"). Frozen, a full collection walks only what was allocated since.
"""
from __future__ import annotations

import gc
import os

# Python's young generation is collected every 700 net allocations: a bid cycle (ten thousand rows, orders and
# requests alive at once) paid ~0.05 s of collections with the loop stopped. Ten thousand costs a few MiB of
# cyclic garbage kept a little longer. `ADOLFD_GC_THRESHOLD0` sets it (700: Python's own).
THRESHOLDS = (int(os.environ.get("ADOLFD_GC_THRESHOLD0", "10000")), 10, 10)


def freeze_startup_heap() -> int:
    """Collect what start-up left behind, then move every live object to the permanent generation (never
    scanned); returns how many objects are frozen. Call once, when the process is built and before it serves."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    return gc.get_freeze_count()
