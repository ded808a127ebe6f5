"""`adolfd sandbox`: local fakes of every external API adolfd calls (ARCHITECTURE.md "The sandbox").

Each API module exposes `install(sandbox)` and adds its routes to `sandbox.subapp("<api>")`; list it in
MODULES to have it served.
"""
from __future__ import annotations

from aiohttp import web

from adolfd.sandbox import ozon_seller
from adolfd.sandbox import telegram
from adolfd.sandbox import ozon_performance, wb_advert, ym_bids
from adolfd.sandbox import llm, ozon_reviews, wb_feedbacks, ym_feedback
from adolfd.sandbox import google_sheets
from adolfd.sandbox.core import RunningSandbox, Sandbox, build_root_app, serve, start_sandbox

MODULES = [
    ozon_seller,
    telegram,
    wb_advert,
    ozon_performance,
    ym_bids,
    ozon_reviews,      # adds the reviews/questions routes to the ozon-seller sub-application
    wb_feedbacks,
    ym_feedback,
    llm,
    google_sheets,
]


def build_app(sandbox: Sandbox) -> web.Application:
    """The root application: `/_sandbox/*` control endpoints plus every module's API under `/{api}`."""
    return build_root_app(sandbox, MODULES)


__all__ = ["MODULES", "RunningSandbox", "Sandbox", "build_app", "serve", "start_sandbox"]
