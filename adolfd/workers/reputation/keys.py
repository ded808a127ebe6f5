"""Every Redis key of the reputation module, in one place (seed 003 §7.3 `_poll_items`)."""
from __future__ import annotations

MODULE = "reputation"

BREAKER = "reputation:{platform}:{item_type}"   # one polling circuit breaker per marketplace and item type
