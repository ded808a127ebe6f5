"""What both Wildberries fakes (`wb_advert`, `wb_feedbacks`) share: one token per seller in `Authorization`,
and the gateway's `application/problem+json` refusals with `X-Ratelimit-*` headers (docs/external-apis.md
"Wildberries promotion", "Wildberries — feedbacks and questions").
"""
from __future__ import annotations

import math
import uuid
from http import HTTPStatus
from typing import Any

from aiohttp import web

from adolfd.sandbox.accounts import brand_of_wb_token
from adolfd.sandbox.core import ApiError, Auth, Caller, RateLimit, Sandbox, bearer_token, retry_after_header, token_gate

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, origin: str) -> dict[str, Any]:
    """The gateway's problem body; `origin` names the WB service that refused."""
    try:
        status_text = HTTPStatus(status).phrase
    except ValueError:
        status_text = ""
    return {"title": title, "detail": detail, "code": f"{status}", "requestId": uuid.uuid4().hex,
            "origin": origin, "status": status, "statusText": status_text, "timestamp": ""}


def problem_error(status: int, title: str, detail: str, origin: str,
                  headers: dict[str, str] | None = None) -> ApiError:
    return ApiError(status, detail, headers=headers, body=problem(status, title, detail, origin),
                    content_type=PROBLEM_JSON)


def token_auth(origin: str) -> Auth:
    """The seller's token (a `Bearer ` prefix is accepted); the account is the brand owning it."""
    async def authenticate(request: web.Request) -> Caller:
        token = bearer_token(request)
        brand = brand_of_wb_token(token) if token else None
        if brand is None:
            raise problem_error(401, "unauthorized", "token problem; token is malformed or unknown", origin)
        return Caller(account=brand, brand=brand)
    return authenticate


def rate_limit(sandbox: Sandbox, api: str, endpoint_class: str, origin: str) -> RateLimit:
    """The method's token bucket: 429 with `X-Ratelimit-Retry/-Limit/-Reset`; answers carry `-Remaining`."""
    def refuse(cls: str, wait: float) -> ApiError:
        limit = sandbox.limits[(api, cls)]
        return problem_error(429, "too many requests", f"limited by {cls}", origin, headers={
            "X-Ratelimit-Retry": retry_after_header(wait),
            "X-Ratelimit-Limit": str(int(limit.burst)),
            "X-Ratelimit-Reset": str(max(1, math.ceil(limit.burst / limit.rate))),
        })

    def remaining(caller: Caller, cls: str) -> dict[str, str]:
        bucket = sandbox._buckets.get((api, caller.account, cls))
        return {"X-Ratelimit-Remaining": str(int(bucket.tokens))} if bucket is not None else {}

    return token_gate(sandbox, api, endpoint_class, refuse=refuse, headers=remaining)
