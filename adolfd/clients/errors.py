"""The small exception hierarchy every external-API client raises; it is part of adolfd's one error tree
(`adolfd.errors`), which also decides whether a failure is retried."""
from __future__ import annotations

from adolfd.errors import ApiError, AuthError, BadResponse, RateLimited, Rejected, Unavailable

__all__ = ["ApiError", "AuthError", "BadResponse", "RateLimited", "Rejected", "Unavailable"]
