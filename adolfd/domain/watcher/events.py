"""The events a parsing agent sends on the Redis stream (docs/agents.md), as strictly validated models.

Every event is one JSON object with `type`, a unique `event_id` chosen by the agent (a retry of the same send
keeps its id, so adolfd applies it once), the agent's `agent` name and an aware `ts`. Unknown fields, unknown
types, naive times, negative prices and a price result "in stock" without a price are rejected here, before
anything is written. Seed 001 §7.5 names the signals: heartbeat, PANIC (captcha or ban, with the IP),
invalid cookies; the task events carry the parsing results the tasks of §7.3 produce.
"""
from __future__ import annotations

from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from adolfd.domain.watcher.marketplaces import AgentMarketplace

EventId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:\-]{1,128}$")]
AgentName = Annotated[str, Field(pattern=r"^[A-Za-z0-9._\-]{1,64}$")]
TaskId = Annotated[int, Field(gt=0, lt=2**63)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
MAX_EVENT_BYTES = 16_384


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    event_id: EventId
    agent: AgentName
    ts: AwareDatetime


class Heartbeat(_Event):
    type: Literal["heartbeat"]
    marketplace: AgentMarketplace
    ip: IPv4Address | IPv6Address | None = None


class TaskStarted(_Event):
    type: Literal["task_started"]
    task_id: TaskId


class PriceResult(_Event):
    type: Literal["price_result"]
    task_id: TaskId
    in_stock: bool
    price: Money | None = None
    old_price: Money | None = None
    discount_percent: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)] | None = None

    @model_validator(mode="after")
    def _priced_when_in_stock(self) -> PriceResult:
        if self.in_stock and self.price is None:
            raise ValueError("an item in stock needs a price")
        return self


class TaskFailed(_Event):
    type: Literal["task_failed"]
    task_id: TaskId
    error: Annotated[str, Field(min_length=1, max_length=1000)]


class CookiesInvalid(_Event):
    type: Literal["cookies_invalid"]
    reason: Annotated[str, Field(max_length=500)] = ""


class Panic(_Event):
    type: Literal["panic"]
    reason: Literal["captcha", "ban"]
    ip: IPv4Address | IPv6Address
    message: Annotated[str, Field(max_length=500)] = ""
    details: dict[str, Any] = Field(default_factory=dict)


AgentEvent = Annotated[Heartbeat | TaskStarted | PriceResult | TaskFailed | CookiesInvalid | Panic,
                       Field(discriminator="type")]
EVENT_TYPES = ("heartbeat", "task_started", "price_result", "task_failed", "cookies_invalid", "panic")
_ADAPTER: TypeAdapter[AgentEvent] = TypeAdapter(AgentEvent)


class BadEvent(ValueError):
    """An event that cannot be applied; `reason` is a short machine-readable cause for the dead-letter stream."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_event(raw: bytes | str) -> Heartbeat | TaskStarted | PriceResult | TaskFailed | CookiesInvalid | Panic:
    """Validate one stream entry's `event` field; raises BadEvent saying what is wrong."""
    if len(raw) > MAX_EVENT_BYTES:
        raise BadEvent("too_large", f"{len(raw)} bytes, limit {MAX_EVENT_BYTES}")
    try:
        return _ADAPTER.validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise BadEvent("malformed_json", first["msg"]) from None
        if first["type"] in ("union_tag_invalid", "union_tag_not_found", "model_attributes_type",
                             "model_type") and not first["loc"]:
            raise BadEvent("unknown_type", first["msg"]) from None
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'event'}: {e['msg']}"
                             for e in exc.errors())
        raise BadEvent("invalid_event", problems) from None
