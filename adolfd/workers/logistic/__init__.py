"""Logistic (seed 000 §8): Ozon FBO stock and sales, 1C warehouse stock, supply tasks, stock alerts.

Each job reads through `ctx`, decides with `adolfd.domain.logistic` (stock_monitor, supply_engine,
brain_validation, freshness, readiness) and writes set-based SQL in one transaction per brand, so a retry or a
second run changes nothing that the first one already did. Every Redis key is in its section of `adolfd/keys.py`.

Where the seed's velocity meets its per-cluster planning: `sync_ozon_analytics` stores each SKU's ordered
units over the last 28 full days; `sync_ozon_stocks` shares them among the SKU's clusters by Ozon's own
per-cluster sales (`ads_cluster`, see `split_units`) and stores the snapshot every position is read from.
"""
from __future__ import annotations

from adolfd.engine.arq_settings import queue_settings
from adolfd.engine.module import ModuleSpec, Queue

MODULE_NAME = "logistic"          # the module's name (alerts.module, job names); `MODULE` below is its spec


def _jobs():
    from adolfd.engine.jobs import job_functions
    from adolfd.workers.logistic import brain, cleanup, ozon_sync, stock_alerts, supply

    return job_functions(ozon_sync, brain, stock_alerts, supply, cleanup)


def _commands():
    from adolfd.workers.logistic.commands import COMMANDS

    return COMMANDS


def _bot_router():
    from adolfd.workers.logistic.bot import router

    return router()


def _status():
    from adolfd.workers.logistic.status import logistic_status

    return {"logistic": logistic_status}


def _clients():
    from adolfd.clients.ozon import OzonSellerClient

    return {"ozon_seller": OzonSellerClient}


def _sandbox():
    from adolfd.sandbox import ozon_seller

    return (ozon_seller,)


MODULE = ModuleSpec(
    name=MODULE_NAME,
    summary="Ozon FBO stocks per cluster, 1C warehouse stocks, daily supply tasks, stock alerts",
    queues=(Queue("sync"), Queue("brain"), Queue("logic")),
    jobs=_jobs,
    commands=_commands,
    bot_router=_bot_router,
    status=_status,
    clients=_clients,
    sandbox=_sandbox,
)

# `arq adolfd.workers.logistic.<Queue>Settings` runs one queue with the plain ARQ CLI.
__getattr__ = queue_settings("logistic")
