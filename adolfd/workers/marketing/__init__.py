"""Marketing jobs (seed 002 §7): the 15-minute bid cycle, stats, budgets, sync, API health, analytics,
aggregation, clean-up, and the event jobs `apply_bid_change`, `send_alert`, `generate_report`.

Decisions come from `adolfd.domain` (bid_engine, ad_safety, budgets, ad_analytics); marketplaces are reached
through `ad_marketplaces.py`. Money is kopecks in the code and roubles NUMERIC in the tables. Every Redis key is
in `keys.py`.

What keeps each job from doing anything twice:
- the bid cycle runs under a Redis lock with an owner token and a TTL (a second cycle logs `lock_not_acquired`
  and skips), honours the kill switch, and keys every bid it sends by (keyword, cycle slot) in
  `marketing_bid_history`, so a retry of the same cycle never moves a bid again;
- `apply_bid_change` claims its change row and, on a retry, reads the bid back from the marketplace before
  sending: a change that already landed is recorded, not sent again;
- stats, daily/monthly aggregates and recommendations upsert by their natural keys;
- alerts carry dedup keys (one per condition, campaign/keyword and day), pauses are guarded by the row status.
"""
from __future__ import annotations

from adolfd.workers import queue_settings
from adolfd.workers.marketing import (  # noqa: F401 — registers jobs and the `bids` and `marketing` status sections
    aggregation, alerts, analytics, bid_changes, bid_cycle, budgets, campaign_sync, health, kill_switch, reports,
    retention, stats, status,
)

# `arq adolfd.workers.marketing.<Queue>Settings` runs one queue with the plain ARQ CLI.
__getattr__ = queue_settings("marketing")
