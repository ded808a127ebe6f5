"""Reputation jobs (seed 003 §7.1–7.3, Appendix B): poll reviews and questions of Wildberries, Ozon and Yandex
Market behind circuit breakers, analyse each new item, draft a reply, wait for approval, publish it once.

Item lifecycle (`adolfd.domain.reputation.replies.ItemStatus`): new → analyzed → pending_review → approved → publishing →
published; `failed` after a failed publish (retried hourly below 5 tries), `skipped` by an operator or when the
marketplace already shows a seller answer written elsewhere. Publishing once is explained in `publishing.py`;
approving (`approve`, `skip`, `request_regeneration`) in `approval.py`; every Redis key is in `keys.py`.
"""
from __future__ import annotations

from adolfd.workers import queue_settings
from adolfd.workers.reputation import (  # noqa: F401 — registers jobs and the `breakers` status section
    analysis, analytics, archive, breakers, office, polling, publishing,
)

# `arq adolfd.workers.reputation.<Queue>Settings` runs one queue with the plain ARQ CLI.
__getattr__ = queue_settings("reputation")
