"""Every Redis key and channel the platform writes, in one place (as arq keeps its own in `arq/constants.py`).
ARQ's keys (`arq:queue`, `arq:job:*`, `arq:in-progress:*`, `arq:result:*`, `arq:retry:*`) are ARQ's; each module
keeps its own keys in `adolfd/workers/<module>/keys.py`."""
from __future__ import annotations

PREFIX = "adolfd:"

QUEUE = PREFIX + "{module}:{queue}"                       # an ARQ queue (sorted set); ARQ adds ":health-check"
WAKE_CHANNEL = PREFIX + "wake"                            # pub/sub: the queue to poll now (adolfd.engine.enqueue)
RUNS = PREFIX + "runs"                                    # hash module.job -> JSON of its last run (run book)
RUNS_OK = PREFIX + "runs:ok"                              # hash module.job -> ISO time of its last success
ALIVE = PREFIX + "alive:{process}"                        # a worker process's heartbeat (TTL 3 × heartbeat_seconds)
OWNED_LOCKS = PREFIX + "owned_locks"                      # set: lock keys whose token names the holding process
FAILED_SPOOL = PREFIX + "failed_jobs:spool"               # list: dead letters held while PostgreSQL is down
CRON_CLAIM = PREFIX + "cron:claim:{module}:{name}:{epoch}"  # a fire time claimed while PostgreSQL is down
RATELIMIT = PREFIX + "ratelimit:"                         # + api:account:endpoint class: GCRA state
BREAKER = PREFIX + "breaker:"                             # + platform:item type: circuit breaker state
OZON_PERFORMANCE_TOKEN = PREFIX + "ozon_performance:token:"  # + client id: the shared OAuth token
ALERTS_LAST_PASS = PREFIX + "alerts:last_pass"            # alert delivery's last pass (status)
BOT_REFUSED = PREFIX + "bot:refused:{user_id}"            # a stranger was told no (once a day)
OFFICE_AGENT = "office:agent:{agent_id}"                  # the Office Dashboard's key (seeds 001, 003)
