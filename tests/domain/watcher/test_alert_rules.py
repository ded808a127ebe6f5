"""The three alert rules of seed 001 §7.4 and the 24-hour dedup across overlapping windows."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from adolfd.domain.watcher.alert_rules import AlertType, ParsedPrice, evaluate, new_alerts

T0 = datetime(2026, 2, 16, 1, 0, tzinfo=UTC)


def parse(price, *, prev=None, ours=None, in_stock=True, prev_stock=True, at=T0, competitor=7):
    return ParsedPrice(competitor, "OM-1", "wb", "ohana_market", None if price is None else D(price), in_stock, at,
                       None if prev is None else D(prev), prev_stock, None if ours is None else D(ours))


def kinds(price):
    return sorted(str(c.alert_type) for c in evaluate(price))


def test_price_drop_edge_is_ten_percent():
    assert kinds(parse("90", prev="100")) == ["price_drop"]
    assert kinds(parse("90.01", prev="100")) == []
    assert kinds(parse("110", prev="100")) == []
    assert kinds(parse("90")) == []                       # no previous price: nothing to compare


def test_dumping_edge_is_fifteen_percent_below_ours():
    assert kinds(parse("85", ours="100")) == ["dumping_detected"]
    assert kinds(parse("85.01", ours="100")) == []
    assert kinds(parse("85", ours=None)) == []


def test_out_of_stock_only_when_it_stops_selling():
    assert kinds(parse(None, in_stock=False, prev="100", prev_stock=True)) == ["out_of_stock"]
    assert kinds(parse(None, in_stock=False, prev="100", prev_stock=False)) == []
    assert kinds(parse(None, in_stock=False, prev=None, prev_stock=None)) == []


def test_severities():
    found = {c.alert_type: c.severity for c in evaluate(parse("80", prev="100", ours="100"))}
    assert found == {AlertType.PRICE_DROP: "warning", AlertType.DUMPING: "critical"}


def test_dedup_across_overlapping_windows():
    """A parse at 01:00 is seen by the 01:00 run (window 00:40–01:00) and the 01:15 run (00:55–01:15)."""
    seen = parse("80", prev="100")
    first = new_alerts([seen], {}, now=T0 + timedelta(minutes=1))
    assert [c.alert_type for c in first] == [AlertType.PRICE_DROP]
    recent = {first[0].key: T0 + timedelta(minutes=1)}
    assert new_alerts([seen], recent, now=T0 + timedelta(minutes=15)) == []
    # a new drop of the same competitor 23 h 59 min later is still inside 24 h; after 24 h it is raised again
    again = parse("70", prev="80", at=T0 + timedelta(hours=23))
    assert new_alerts([again], recent, now=T0 + timedelta(hours=24)) == []
    assert len(new_alerts([again], recent, now=T0 + timedelta(hours=24, minutes=1))) == 1


def test_one_alert_per_key_within_a_run_and_per_competitor():
    a = parse("80", prev="100", at=T0)
    b = parse("70", prev="80", at=T0 + timedelta(minutes=5))
    other = parse("80", prev="100", competitor=8)
    found = new_alerts([b, a, other], {}, now=T0 + timedelta(minutes=6))
    assert sorted(c.competitor_id for c in found) == [7, 8]
    assert next(c for c in found if c.competitor_id == 7).details["new_price"] == "80"   # the earlier parse wins
