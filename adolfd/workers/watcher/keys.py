"""Every Redis key of the watcher module, in one place. The agent-facing names are the seed's (001 §7.3,
§7.5, §7.6, §7.8, §7.9) and are part of the protocol of docs/agents.md: do not rename them."""
from __future__ import annotations

MODULE = "watcher"

# -- the agents' protocol (docs/agents.md) ------------------------------------------------------------
TASK_QUEUE = "watcher:task_queue:{marketplace}"       # list of task ids, head = next; marketplace as the seed spells it
TASK_PAYLOAD = "watcher:task:{task_id}"               # hash: what to parse (sku, url, marketplace, date)
CLAIMED = "watcher:claimed:{agent}"                   # list: ids an agent has taken (LMOVE) and not yet reported
EVENTS = "watcher:agent_events"                       # stream of JSON events from agents (field `event`)
DEAD_LETTER = "watcher:agent_events:dead"             # stream: events refused, with the reason
CONSUMER_GROUP = "adolfd"
IP_BLOCKED = "watcher:ip_blocked:{ip}"                # string, TTL 1 h (seed §7.5 handle_panic_mode)

# -- adolfd's own records -----------------------------------------------------------------------------
GENERATION = "watcher:generation:{date}"              # hash: the night's generation record (seed §7.3)
GENERATION_PUSHED = "watcher:generation:{date}:pushed"  # set: task ids already pushed for that night
AGENTS_STATS = "watcher:agents:stats"                 # hash, TTL 120 s (seed §7.5 sync_agent_status)
DAILY_STATS = "watcher:daily_stats:{date}"            # string: one JSON document, TTL 90 days (seed §7.8)
NIGHT_BATCH = "watcher:night:{date}"                  # hash: the night agent's counters (seed App. B.4)
WEEKLY_SENT = "watcher:weekly_report:{date}"          # string: the week's report was sent (once per Monday)

# -- patterns the Redis clean-up scans (seed §7.6 cleanup_redis_keys) ---------------------------------
STATS_PATTERN = "watcher:stats:*"
AGENT_STATE_PATTERN = "watcher:agent:*:state"
CLAIMED_PATTERN = "watcher:claimed:*"

GENERATION_TTL = 7 * 86400
TASK_PAYLOAD_TTL = 3 * 86400
DAILY_STATS_TTL = 90 * 86400
AGENTS_STATS_TTL = 120
IP_BLOCK_SECONDS = 3600
