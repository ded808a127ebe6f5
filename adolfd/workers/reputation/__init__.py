"""Reputation (seed 003 §7.1–7.3, Appendix B): poll reviews and questions of Wildberries, Ozon and Yandex Market
behind circuit breakers, analyse each new item, draft a reply, wait for approval, publish it once.

Item lifecycle (`adolfd.domain.reputation.replies.ItemStatus`): new → analyzed → pending_review → approved →
publishing → published; `failed` after a failed publish (retried hourly below 5 tries), `skipped` by an operator or
when the marketplace already shows a seller answer written elsewhere. Publishing once is explained in
`publishing.py`; approving (`approve`, `skip`, `request_regeneration`) in `approval.py`; every Redis key is in
its section of `adolfd/keys.py`.
"""
from __future__ import annotations

from adolfd.engine.arq_settings import queue_settings
from adolfd.engine.module import ModuleSpec, Queue


def _jobs():
    from adolfd.engine.jobs import job_functions
    from adolfd.workers.reputation import analysis, analytics, archive, office, polling, publishing, resume

    return job_functions(polling, analysis, publishing, resume, analytics, archive, office)


def _commands():
    from adolfd.workers.reputation.commands import COMMANDS

    return COMMANDS


def _bot_router():
    from adolfd.workers.reputation.bot import router

    return router()


def _status():
    from adolfd.workers.reputation.breakers import breaker_status

    return {"breakers": breaker_status}


def _clients():
    from adolfd.clients.ozon_reviews import OzonReviewsClient
    from adolfd.clients.wb_feedbacks import WbFeedbacksClient
    from adolfd.clients.ym_feedback import YmFeedbackClient

    return {"wb_feedbacks": WbFeedbacksClient, "ozon_reviews": OzonReviewsClient, "ym_feedback": YmFeedbackClient}


def _sandbox():
    from adolfd.sandbox import ozon_reviews, wb_feedbacks, ym_feedback

    return (ozon_reviews, wb_feedbacks, ym_feedback)


MODULE = ModuleSpec(
    name="reputation",
    summary="reviews and questions polled behind circuit breakers, AI analysis, replies published once",
    queues=(Queue("default"),),
    jobs=_jobs,
    commands=_commands,
    bot_router=_bot_router,
    status=_status,
    clients=_clients,
    sandbox=_sandbox,
)

# `arq adolfd.workers.reputation.<Queue>Settings` runs one queue with the plain ARQ CLI.
__getattr__ = queue_settings("reputation")
