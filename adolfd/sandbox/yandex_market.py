"""What both Yandex Market fakes (`ym_bids`, `ym_feedback`, one `/ym` sub-application) share: the `Api-Key`
header whose business or campaign must be the one in the path, the `{status: "ERROR", errors}` envelope, and
the per-method resource limits answered with HTTP 420 and `X-RateLimit-Resource-*` headers on every answer
(docs/external-apis.md "Yandex Market bids", "Yandex Market — goods feedback and questions").
"""
from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from adolfd.sandbox.accounts import ACCOUNTS, brand_of_ym_api_key
from adolfd.sandbox.core import ApiError, Auth, Caller, RateLimit, Sandbox, token_gate

API = "ym"
OWNER = "owner_id"              # the path parameter naming the business or campaign

_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 420: "HIT_RATE_LIMIT"}


def ym_error_body(status: int, message: str) -> dict[str, Any]:
    return {"status": "ERROR", "errors": [{"code": _CODES.get(status, "INTERNAL_ERROR"), "message": message}]}


class YmError(ApiError):
    """A refusal in the Partner API's error envelope."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, message, headers=headers)


def api_key_auth(scope: str) -> Auth:
    """`Api-Key`, and the path's business (scope "business") or campaign ("campaign") must be the key's.

    The account is that business or campaign id: Market counts its limits per business or campaign.
    """
    async def authenticate(request: web.Request) -> Caller:
        key = request.headers.get("Api-Key", "").strip()
        brand = brand_of_ym_api_key(key) if key else None
        if brand is None:
            raise YmError(401, "Api-Key is missing or invalid")
        account = ACCOUNTS[brand].ym
        owner_id = str(account.business_id if scope == "business" else account.campaign_id)
        asked = request.match_info.get(OWNER)
        if asked is not None and asked != owner_id:
            raise YmError(403, f"access to {scope} {asked} is denied")
        return Caller(account=owner_id, brand=brand)
    return authenticate


def resource_headers(sandbox: Sandbox, caller: Caller, endpoint_class: str,
                     wait: float | None = None) -> dict[str, str]:
    """`X-RateLimit-Resource-Limit/-Remaining/-Until` of the caller's bucket for the method."""
    limit = sandbox.limits.get((API, endpoint_class))
    if limit is None:
        return {}
    bucket = sandbox._buckets.get((API, caller.account, endpoint_class))
    remaining = int(bucket.tokens) if bucket is not None else int(limit.burst)
    until = sandbox.now() + timedelta(seconds=wait if wait is not None else (limit.burst - remaining) / limit.rate)
    return {"X-RateLimit-Resource-Limit": str(int(limit.burst)), "X-RateLimit-Resource-Remaining": str(remaining),
            "X-RateLimit-Resource-Until": format_datetime(until.replace(microsecond=0), usegmt=True)}


def resource_limit(sandbox: Sandbox, endpoint_class: str) -> RateLimit:
    """The method's resource limit: 420 "Hit rate limit of N requests for resource …" when spent."""
    def refuse(cls: str, wait: float) -> YmError:
        limit = sandbox.limits[(API, cls)]
        return YmError(420, f"Hit rate limit of {int(limit.burst)} requests for resource {cls}",
                       headers={"X-RateLimit-Resource-Limit": str(int(limit.burst)),
                                "X-RateLimit-Resource-Remaining": "0",
                                "X-RateLimit-Resource-Until": format_datetime(
                                    (sandbox.now() + timedelta(seconds=max(wait, 1))).replace(microsecond=0),
                                    usegmt=True)})

    return token_gate(sandbox, API, endpoint_class, refuse=refuse,
                      headers=lambda caller, cls: resource_headers(sandbox, caller, cls))
