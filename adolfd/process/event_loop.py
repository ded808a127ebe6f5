"""The event loop of adolfd's long-running processes: uvloop when it is installed (`pip install adolfd[fast]`)
and allowed (`ADOLFD_EVENT_LOOP`), the standard one otherwise."""
from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_loop(main: Coroutine[Any, Any, T], choice: str = "auto") -> T:
    """Run `main` to its end on the chosen loop (auto | uvloop | asyncio). uvloop roughly halves adolfd's
    per-job overhead (docs/performance.md); `uvloop` fails when it is not installed, `auto` falls back."""
    factory = None
    if choice in ("auto", "uvloop"):
        try:
            import uvloop

            factory = uvloop.new_event_loop
        except ImportError:
            if choice == "uvloop":
                raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
