"""The worker's start-up heap is put out of the garbage collector's reach.

A worker process starts with ~95 000 tracked objects (pydantic models, aiohttp, arq, every job module) that live
as long as it does, and every full collection walked them all: 30–90 ms with the event loop stopped. Collections
are triggered by allocation, which peaks when cron jobs fire and start, so a full one landed on a job's start
(docs/performance.md, "Cron precision"). Frozen, a full collection walks only what was allocated since.
"""
from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect what start-up left behind, then move every live object to the permanent generation (never
    scanned); returns how many objects are frozen. Call once, when the process is built and before it serves."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
