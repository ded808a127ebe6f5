"""What reputation jobs share: the three marketplaces (seed 003 §7.2), their feedback clients and the worker's LLM
provider."""
from __future__ import annotations

from adolfd.clients.feedback import FeedbackSource
from adolfd.clients.llm import LLMProvider, worker_provider
from adolfd.clients.ozon_reviews import OzonReviewsClient
from adolfd.clients.wb_feedbacks import WbFeedbacksClient
from adolfd.clients.ym_feedback import YmFeedbackClient
from adolfd.engine.context import Ctx

PLATFORMS = ("wb", "ozon", "ym")
TITLES = {"wb": "Wildberries", "ozon": "Ozon", "ym": "Яндекс.Маркет"}


def provider(ctx: Ctx) -> LLMProvider:
    """The worker's LLM provider, built once per process (offline unless `llm.provider=http`)."""
    return worker_provider(ctx.res)


def source(ctx: Ctx, platform: str, brand: str) -> FeedbackSource:
    """The brand's feedback client of one marketplace, typed as its own class (each is a FeedbackSource)."""
    if platform == "wb":
        return ctx.client(WbFeedbacksClient, brand)
    if platform == "ozon":
        return ctx.client(OzonReviewsClient, brand)
    if platform == "ym":
        return ctx.client(YmFeedbackClient, brand)
    raise ValueError(f"unknown marketplace {platform!r}; expected one of {', '.join(PLATFORMS)}")
