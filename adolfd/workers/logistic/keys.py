"""Every Redis key of the logistic module, in one place (seed 000 §8.4.1 "Redis cache")."""
from __future__ import annotations

MODULE = "logistic"

CACHE_KEY = "logistic:stocks:{brand}"      # seed §8.4.1 "Redis cache": latest FBO position per article+cluster
