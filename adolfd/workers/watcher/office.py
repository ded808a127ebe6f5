"""The watcher's three Office Dashboard agents (seed 001 Appendix B.1–B.2)."""
from __future__ import annotations

from adolfd.admin.office import OfficeAgent, OfficeReporter
from adolfd.engine.context import Ctx

AGENTS = {
    "price_monitor": OfficeAgent("watcher_price_monitor", "watcher", "Мониторинг цен", 60000, 1.0),
    "night_agent": OfficeAgent("watcher_night_agent", "watcher", "Ночной агент", 60000, 0.5),
    "competitor_scan": OfficeAgent("watcher_competitor_scan", "watcher", "Сканер конкурентов", 60000, 1.0),
}


def reporter(ctx: Ctx, name: str) -> OfficeReporter:
    return OfficeReporter(AGENTS[name], ctx.redis, ctx.now, ctx.settings.watcher.office_ttl_seconds)
