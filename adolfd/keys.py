"""Every Redis key, channel and job id adolfd writes, in one place (as arq keeps its own in `arq/constants.py`):
the platform's first, then one section per module. ARQ's keys (`arq:queue`, `arq:job:*`, `arq:in-progress:*`,
`arq:result:*`, `arq:retry:*`) are ARQ's.

A job id given to `ctx.enqueue(..., _job_id=...)` becomes part of ARQ's keys (`arq:job:<id>`): ARQ refuses a
second job with an id that is queued, running or has a kept result, so an id template here is what makes an
enqueue happen once however often it is handed in.
"""
from __future__ import annotations

# -- platform ----------------------------------------------------------------------------------------

PREFIX = "adolfd:"

QUEUE = PREFIX + "{module}:{queue}"                       # an ARQ queue (sorted set)
QUEUE_HEALTH_CHECK = QUEUE + ":health-check"              # ARQ's worker health key of that queue (TTL'd string)
WAKE_CHANNEL = PREFIX + "wake"                            # pub/sub: the queue to poll now (adolfd.engine.enqueue)
RUNS = PREFIX + "runs"                                    # hash module.job -> JSON of its last run (run book)
RUNS_OK = PREFIX + "runs:ok"                              # hash module.job -> ISO time of its last success
ALIVE = PREFIX + "alive:{process}"                        # a worker process's heartbeat (TTL 3 × heartbeat_seconds)
OWNED_LOCKS = PREFIX + "owned_locks"                      # set: lock keys whose token names the holding process
FAILED_SPOOL = PREFIX + "failed_jobs:spool"               # list: dead letters held while PostgreSQL is down
FAILED_SPOOL_UNWRITABLE = PREFIX + "failed_jobs:unwritable"  # list: spooled dead letters PostgreSQL refused
CRON_CLAIM = PREFIX + "cron:claim:{module}:{name}:{epoch}"  # a fire time claimed while PostgreSQL is down
RATELIMIT = PREFIX + "ratelimit:"                         # + api:account:endpoint class: GCRA state
RATELIMIT_DUE = PREFIX + "ratelimit_due:"                 # + api:account:endpoint class: when its next send is due
YM_IN_FLIGHT = PREFIX + "ym:in_flight:{business}"        # zset: YM requests in progress (4 a business at most)
BREAKER = PREFIX + "breaker:"                             # + platform:item type: circuit breaker state
OZON_PERFORMANCE_TOKEN = PREFIX + "ozon_performance:token:"  # + client id: the shared OAuth token
ALERTS_LAST_PASS = PREFIX + "alerts:last_pass"            # alert delivery's last pass (status)
BOT_REFUSED = PREFIX + "bot:refused:{user_id}"            # a stranger was told no (once a day)
OFFICE_AGENT = "office:agent:{agent_id}"                  # the Office Dashboard's key (seeds 001, 003)


# -- logistic (seed 000 §8.4.1 "Redis cache") --------------------------------------------------------

LOGISTIC_STOCKS_CACHE = "logistic:stocks:{brand}"          # latest FBO position per article+cluster
LOGISTIC_ALERTS_AFTER_JOB = "logistic:alerts-after:{job_id}"   # job id: alerts once after a stock sync
LOGISTIC_SUPPLY_DEFERRED_JOB = "logistic:supply-deferred:{day}:{brand}:{attempt}"  # job id: a deferred plan

# -- marketing (seed 002 §7.3.1 lock, §7.4.3 monitoring keys, §7.4.4 API health; DOMAIN.md kill switch) --

MARKETING_BID_CYCLE_LOCK = "marketing:lock:bid_cycle"
MARKETING_LAST_CYCLE = "marketing:last_bid_cycle"
MARKETING_API_STATUS = "marketing:api_status:{mp}"
MARKETING_API_ERRORS = "marketing:api_errors:{mp}"
MARKETING_WORKERS = "marketing:workers"
MARKETING_API_CHECKS = "marketing:api_checks:{mp}"   # every health check of the last hour (the error rate's base)
MARKETING_REPORT_SENT = "marketing:report_sent:{job_id}"  # generate_report: the message id of a report already sent
MARKETING_BIDS_PAUSED = PREFIX + "marketing:bids_paused"
MARKETING_ALERT_JOB = "marketing:alert:{key}"              # job id: one notification per alert key
MARKETING_BID_CHANGE_JOB = "marketing:bid_change:{change}"  # job id: one apply per bid change
MARKETING_BID_CHANGE_LOCK = "marketing:lock:bid_change:{change}"  # one sender per bid change (apply_bid_change)

# -- reputation (seed 003 §7.3 `_poll_items`) --------------------------------------------------------

REPUTATION_BREAKER = "reputation:{platform}:{item_type}"   # one polling circuit breaker per marketplace, item type
REPUTATION_ANALYZE_JOB = "reputation:analyze:{item_id}"    # job id: one analysis per stored item
REPUTATION_GENERATE_JOB = "reputation:generate:{item_id}"  # job id: one draft per analysed item
REPUTATION_SEND_RETRY_JOB = "reputation:send:{item_id}:t{tries}"       # job id: one resend per failed try
REPUTATION_SEND_APPROVED_JOB = "reputation:send:{item_id}:g{generation}"  # job id: one send per approved draft
REPUTATION_RESUME_JOB = "reputation:resume:{item_id}:{state}:{hour}"  # job id: a sweep's resume of a stuck item
REPUTATION_REGENERATE_JOB = "reputation:regenerate:{item_id}:g{generation}:{nonce}"  # job id: an operator's ask

# -- watcher (seed 001) --------------------------------------------------------------------------------
# The agent-facing names are the seed's (001 §7.3, §7.5, §7.6, §7.8, §7.9) and are part of the protocol of
# docs/agents.md: do not rename the key strings.

WATCHER_TASK_QUEUE = "watcher:task_queue:{marketplace}"   # list of task ids, head = next; the seed's marketplace
WATCHER_TASK_PAYLOAD = "watcher:task:{task_id}"           # hash: what to parse (sku, url, marketplace, date)
WATCHER_CLAIMED = "watcher:claimed:{agent}"               # list: ids an agent has taken (LMOVE), not yet reported
WATCHER_EVENTS = "watcher:agent_events"                   # stream of JSON events from agents (field `event`)
WATCHER_DEAD_LETTER = "watcher:agent_events:dead"         # stream: events refused, with the reason
WATCHER_CONSUMER_GROUP = "adolfd"                         # adolfd's consumer group on the events stream
WATCHER_IP_BLOCKED = "watcher:ip_blocked:{ip}"            # string, TTL 1 h (seed §7.5 handle_panic_mode)

WATCHER_GENERATION = "watcher:generation:{date}"          # hash: the night's generation record (seed §7.3)
WATCHER_GENERATION_PUSHED = "watcher:generation:{date}:pushed"  # set: task ids already pushed for that night
WATCHER_AGENTS_STATS = "watcher:agents:stats"             # hash, TTL 120 s (seed §7.5 sync_agent_status)
WATCHER_DAILY_STATS = "watcher:daily_stats:{date}"        # string: one JSON document, TTL 90 days (seed §7.8)
WATCHER_NIGHT_BATCH = "watcher:night:{date}"              # hash: the night agent's counters (seed App. B.4)
WATCHER_WEEKLY_SENT = "watcher:weekly_report:{date}"      # string: the week's report was sent (once per Monday)
WATCHER_NOTIFY_JOB = "watcher:notify:{alert_id}"          # job id: one notification per alert
WATCHER_DUMPING_JOB = "watcher:dumping:{alert_id}"        # job id: one dumping check per alert
WATCHER_REGENERATE_JOB = "watcher:regenerate:{date}:{stamp}"  # job id: an operator's regeneration of a night

# patterns the Redis clean-up scans (seed §7.6 cleanup_redis_keys); `*` stands for the agent's name
WATCHER_STATS_PATTERN = "watcher:stats:*"
WATCHER_AGENT_STATE_PATTERN = "watcher:agent:*:state"
WATCHER_CLAIMED_PATTERN = WATCHER_CLAIMED.replace("{agent}", "*")

WATCHER_GENERATION_TTL = 7 * 86400
WATCHER_TASK_PAYLOAD_TTL = 3 * 86400
WATCHER_DAILY_STATS_TTL = 90 * 86400
WATCHER_AGENTS_STATS_TTL = 120
WATCHER_IP_BLOCK_SECONDS = 3600

# -- carsbot (seed 004) --------------------------------------------------------------------------------

CARSBOT_SYNC_LOCK = "carsbot:lock:{job}"                   # a sheet sync never overlaps itself (any host)
CARSBOT_PROCESS_JOB = "carsbot:process:{post_id}"          # job id: first processing of a stored post
CARSBOT_PROCESS_AGAIN_JOB = "carsbot:process:{post_id}:{reason}:{n}"   # after an LLM outage, an edit, an operator
CARSBOT_PUBLISH_JOB = "carsbot:publish:{post_id}"
CARSBOT_PUBLISH_AGAIN_JOB = "carsbot:publish:{post_id}:{reason}:{n}"   # after Telegram's retry_after, an operator
CARSBOT_RUN_NOW_JOB = "carsbot:{job}:now:{stamp}"          # job id: an operator's "run it now"
