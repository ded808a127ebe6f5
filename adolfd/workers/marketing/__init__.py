"""Marketing (seed 002): the 15-minute ad bid cycle under a Redis lock, stats, budgets, analytics, aggregation."""
from __future__ import annotations

from adolfd.engine.arq_settings import queue_settings
from adolfd.engine.module import ModuleSpec, Queue


def _jobs():
    from adolfd.engine.jobs import job_functions
    from adolfd.workers.marketing import bid_cycle

    return job_functions(bid_cycle)


def _commands():
    from adolfd.workers.marketing.commands import COMMANDS

    return COMMANDS


def _bot_router():
    from adolfd.workers.marketing.bot import router

    return router()


def _status():
    from adolfd.workers.marketing.bid_cycle import marketing_status
    from adolfd.workers.marketing.kill_switch import kill_switch_status

    return {"marketing": marketing_status, "bids": kill_switch_status}


def _clients():
    from adolfd.clients.ozon_performance import OzonPerformanceClient
    from adolfd.clients.wb_advert import WbAdvertClient
    from adolfd.clients.ym_bids import YmBidsClient

    return {"wb_advert": WbAdvertClient, "ozon_performance": OzonPerformanceClient, "ym_bids": YmBidsClient}


def _sandbox():
    from adolfd.sandbox import ozon_performance, wb_advert, ym_bids

    return (wb_advert, ozon_performance, ym_bids)


MODULE = ModuleSpec(
    name="marketing",
    summary="the 15-minute ad bid cycle under a Redis lock, stats, budgets, analytics, aggregation",
    queues=(Queue("high"), Queue("default"), Queue("low")),
    jobs=_jobs,
    commands=_commands,
    bot_router=_bot_router,
    status=_status,
    clients=_clients,
    sandbox=_sandbox,
)

# `arq adolfd.workers.marketing.<Queue>Settings` runs one queue with the plain ARQ CLI.
__getattr__ = queue_settings("marketing")
