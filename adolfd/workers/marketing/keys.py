"""Every Redis key of the marketing module, in one place (seed 002 §7.3.1 lock, §7.4.3 monitoring keys, §7.4.4 API
health, DOMAIN.md "Marketing" kill switch)."""
from __future__ import annotations

MODULE = "marketing"

LOCK_KEY = "marketing:lock:bid_cycle"
LAST_CYCLE = "marketing:last_bid_cycle"
API_STATUS = "marketing:api_status:{mp}"
API_ERRORS = "marketing:api_errors:{mp}"
API_CHECKS = "marketing:api_checks:{mp}"          # every health check of the last hour (the error rate's base)
WORKERS = "marketing:workers"
BIDS_PAUSED = "adolfd:marketing:bids_paused"
REPORT_SENT = "marketing:report_sent:{job_id}"     # generate_report: the message id of a report already sent
