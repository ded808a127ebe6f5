"""Reputation jobs (seed 003 §7.1–7.3, Appendix B)."""
from __future__ import annotations

from adolfd.workers.reputation.publishing import *  # noqa: F401,F403 — registers jobs and sections
from adolfd.workers.reputation.publishing import __getattr__  # noqa: F401
