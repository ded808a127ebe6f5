"""Marketing jobs (seed 002 §7)."""
from __future__ import annotations

from adolfd.workers.marketing.bid_cycle import *  # noqa: F401,F403 — registers jobs and sections
from adolfd.workers.marketing.bid_cycle import __getattr__  # noqa: F401
