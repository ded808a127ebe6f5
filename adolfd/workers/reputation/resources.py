"""What reputation jobs share: the three marketplaces (seed 003 §7.2), their feedback clients and the worker's LLM
provider."""
from __future__ import annotations

from adolfd.clients.feedback import FeedbackSource
from adolfd.clients.llm import LLMProvider, worker_provider
from adolfd.engine.context import Ctx

PLATFORMS = ("wb", "ozon", "ym")
CLIENTS = {"wb": "wb_feedbacks", "ozon": "ozon_reviews", "ym": "ym_feedback"}
TITLES = {"wb": "Wildberries", "ozon": "Ozon", "ym": "Яндекс.Маркет"}


def provider(ctx: Ctx) -> LLMProvider:
    """The worker's LLM provider, built once per process (offline unless `llm.provider=http`)."""
    return worker_provider(ctx.res)


def source(ctx: Ctx, platform: str, brand: str) -> FeedbackSource:
    return ctx.client(CLIENTS[platform], brand)  # type: ignore[return-value]
