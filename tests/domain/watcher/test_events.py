"""Agent events are validated strictly; every bad one says why."""
import json

import pytest
from adolfd.domain.watcher.events import BadEvent, Panic, PriceResult, parse_event

BASE = {"event_id": "wb-1:000001", "agent": "wb-1", "ts": "2026-02-16T01:00:00+03:00"}


def raw(**fields) -> bytes:
    return json.dumps({**BASE, **fields}).encode()


def test_valid_events():
    price = parse_event(raw(type="price_result", task_id=5, in_stock=True, price=1299.9, discount_percent=15))
    assert isinstance(price, PriceResult) and str(price.price) == "1299.9"
    panic = parse_event(raw(type="panic", reason="captcha", ip="10.1.2.3"))
    assert isinstance(panic, Panic) and str(panic.ip) == "10.1.2.3" and panic.details == {}


@pytest.mark.parametrize("payload, reason, needle", [
    (b"{not json", "malformed_json", "JSON"),
    (raw(type="teleport"), "unknown_type", "teleport"),
    (raw(type="task_started", task_id=-1), "invalid_event", "task_id"),
    (raw(type="task_started", task_id="5"), "invalid_event", "task_id"),
    (raw(type="price_result", task_id=5, in_stock=True), "invalid_event", "needs a price"),
    (raw(type="price_result", task_id=5, in_stock=False, price=-1), "invalid_event", "price"),
    (raw(type="panic", reason="tired", ip="10.1.2.3"), "invalid_event", "reason"),
    (raw(type="panic", reason="ban", ip="not-an-ip"), "invalid_event", "ip"),
    (raw(type="heartbeat", marketplace="wb"), "invalid_event", "marketplace"),
    (raw(type="heartbeat", marketplace="ozon", extra=1), "invalid_event", "extra"),
    (json.dumps({**BASE, "ts": "2026-02-16T01:00:00", "type": "heartbeat", "marketplace": "ozon"}).encode(),
     "invalid_event", "timezone"),
    (b"x" * 20000, "too_large", "bytes"),
])
def test_bad_events_say_why(payload, reason, needle):
    with pytest.raises(BadEvent) as caught:
        parse_event(payload)
    assert caught.value.reason == reason
    assert needle in caught.value.detail
