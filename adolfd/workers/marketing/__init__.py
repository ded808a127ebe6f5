"""Marketing jobs (seed 002 §7): the 15-minute bid cycle, stats, budgets, sync, API health, analytics,
aggregation, clean-up, and the event jobs `apply_bid_change`, `send_alert`, `generate_report`.

Decisions come from `adolfd.domain` (bid_engine, ad_safety, budgets, ad_analytics); marketplaces are reached
through `ad_marketplaces.py`. Money is kopecks in the code and roubles NUMERIC in the tables. Every Redis key is
in its section of `adolfd/keys.py`.

What keeps each job from doing anything twice:
- the bid cycle runs under a Redis lock with an owner token and a TTL (a second cycle logs `lock_not_acquired`
  and skips), honours the kill switch, and keys every bid it sends by (keyword, cycle slot) in
  `marketing_bid_history`, so a retry of the same cycle never moves a bid again;
- `apply_bid_change` claims its change row and, on a retry, reads the bid back from the marketplace before
  sending: a change that already landed is recorded, not sent again;
- `reconcile_bid_history` settles the bid changes a failure left `pending`/`unknown` from the marketplaces'
  own bids (a killed cycle, a PostgreSQL outage, a 5xx storm) and applies lost operator changes again;
- stats, daily/monthly aggregates and recommendations upsert by their natural keys;
- alerts carry dedup keys (one per condition, campaign/keyword and day), pauses are guarded by the row status.
"""
from __future__ import annotations

from adolfd.engine.arq_settings import queue_settings
from adolfd.engine.module import ModuleSpec, Queue

MODULE_NAME = "marketing"          # the module's name (alerts.module, job names); `MODULE` below is its spec


def _jobs():
    from adolfd.engine.jobs import job_functions
    from adolfd.workers.marketing import (
        aggregation,
        alerts,
        analytics,
        bid_changes,
        bid_cycle,
        budgets,
        campaign_sync,
        health,
        reconcile,
        reports,
        retention,
        stats,
    )

    return job_functions(bid_cycle, bid_changes, reconcile, stats, budgets, campaign_sync, health, analytics,
                         aggregation, retention, reports, alerts)


def _commands():
    from adolfd.workers.marketing.commands import COMMANDS

    return COMMANDS


def _bot_router():
    from adolfd.workers.marketing.bot import router

    return router()


def _status():
    from adolfd.workers.marketing.kill_switch import kill_switch_status
    from adolfd.workers.marketing.status import marketing_status

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
    name=MODULE_NAME,
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
