"""The worker's start-up heap is frozen, so a full collection does not walk it (adolfd.process.heap)."""
from __future__ import annotations

import gc

from adolfd.process.heap import THRESHOLDS, freeze_startup_heap


def _tracked(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_objects_alive_at_start_up_leave_the_collected_generations():
    at_start = {"rows": []}
    thresholds = gc.get_threshold()
    try:
        frozen = freeze_startup_heap()
        later = {"rows": []}
        assert frozen >= 1 and gc.get_freeze_count() == frozen
        assert not _tracked(at_start)         # in the permanent generation: no collection scans it
        assert _tracked(later)                # what the process allocates afterwards is collected as before
        assert gc.collect() >= 0 and not _tracked(at_start)
        assert gc.get_threshold() == THRESHOLDS and THRESHOLDS[0] > 700     # young collections less often
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    assert _tracked(at_start)
