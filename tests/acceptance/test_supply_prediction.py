"""Acceptance: `adolfd run generate_supply_tasks` creates exactly the supply tasks DOMAIN.md "Logistic" predicts.

The sandbox's data is a pure function of (seed, brand, day) (`adolfd.sandbox.catalog`), so the expected tasks
are computed here from the catalogue alone, with DOMAIN.md's formulas written out again (nothing from
`adolfd.domain` is used for the expectation):

- velocity = Ozon ordered units over the 28 full days before the planning day ÷ 28;
- days of stock = fbo ÷ velocity; target = ceil(velocity × 14); deficit = target − fbo − in_transit (> 0 only);
- priority urgent < 3 days, planned < 7, else recommended;
- the 1C stock of an article is handed out urgent → planned → recommended, then fewest days first;
  coverage full / partial / none; none → no task, one WAREHOUSE_LOW for the position.

Choices DOMAIN.md leaves open, mirrored as adolfd documents them:

- velocity is per article (Ozon analytics has no cluster dimension), planning per cluster: the article's
  units are shared among its clusters in proportion to Ozon's per-cluster `ads_cluster` (2 decimals), by
  largest remainder, ties to the cluster id first in text order (workers/logistic.py module docstring,
  domain/stock_monitor.py `split_units`);
- the 1C stock is summed per article over all warehouses; rows of articles Ozon does not know are skipped, and
  so is an (article, warehouse) with a negative quantity (domain/brain_validation.py);
- ties after priority and days go by (article, cluster id as text) (domain/supply_engine.py docstring).
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from adolfd.sandbox import catalog
from adolfd.sandbox.accounts import BRANDS

MSK = ZoneInfo("Europe/Moscow")
PLAN_AT = datetime(2026, 3, 10, 7, 0, tzinfo=MSK)       # a Tuesday; generate_supply_tasks fires at 07:00
SEED = 42                                               # the test sandbox's seed (tests/conftest.py)

WINDOW_DAYS = 28
TARGET_DAYS = 14
URGENT_DAYS, PLANNED_DAYS = 3, 7
PRIORITIES = ("urgent", "planned", "recommended")


# -- the independent prediction ------------------------------------------------------------------------

@dataclass(frozen=True)
class Position:
    brand: str
    article: str
    cluster: int
    units_28d: int              # the position's share of the article's ordered units
    fbo: int
    in_transit: int

    @property
    def target(self) -> int:
        return -(-self.units_28d * TARGET_DAYS // WINDOW_DAYS)          # ceil(units / 28 × 14), exact

    @property
    def deficit(self) -> int:
        return self.target - self.fbo - self.in_transit

    @property
    def days(self) -> Fraction | float:
        return math.inf if self.units_28d == 0 else Fraction(self.fbo * WINDOW_DAYS, self.units_28d)

    @property
    def priority(self) -> str:
        return "urgent" if self.days < URGENT_DAYS else "planned" if self.days < PLANNED_DAYS else "recommended"


@dataclass(frozen=True)
class Expected:
    position: Position
    quantity: int

    @property
    def coverage(self) -> str:
        p = self.position
        return "none" if self.quantity == 0 else "full" if self.quantity == p.deficit else "partial"

    @property
    def row(self) -> tuple[str, str, int, str, int, str]:
        p = self.position
        return (p.brand, p.article, p.cluster, p.priority, self.quantity, self.coverage)


def window(day: date) -> list[date]:
    """The 28 full days before the planning day."""
    return [day - timedelta(days=WINDOW_DAYS - i) for i in range(WINDOW_DAYS)]


def shared_units(total: int, cluster_units: dict[int, int]) -> dict[int, int]:
    """The article's units per cluster by Ozon's ads_cluster (units ÷ 28 rounded to 2 decimals)."""
    weight = {c: int(Decimal(repr(round(u / WINDOW_DAYS, 2))) * 100) for c, u in cluster_units.items()}
    mass = sum(weight.values())
    exact = {c: Fraction(total * w, mass) if mass else Fraction(total, len(weight)) for c, w in weight.items()}
    parts = {c: math.floor(x) for c, x in exact.items()}
    by_text = sorted(exact, key=str)
    for c in sorted(by_text, key=lambda c: parts[c] - exact[c])[: total - sum(parts.values())]:
        parts[c] += 1
    return parts


def positions(seed: int, brand: str, day: date) -> list[Position]:
    result = []
    for article in catalog.articles(seed, brand):
        own = {c: sum(catalog.ordered_units(seed, article, c, d) for d in window(day)) for c in article.cluster_ids}
        units = shared_units(sum(own.values()), own)
        for c in article.cluster_ids:
            stock = catalog.cluster_stock(seed, article, c, day)
            result.append(Position(brand, article.offer_id, c, units[c], stock.available, stock.transit))
    return result


def warehouse_stock(seed: int, brand: str, day: date) -> dict[str, int]:
    """1C free stock per article: known articles only, negative (article, warehouse) balances left out."""
    known = {a.offer_id for a in catalog.articles(seed, brand)}
    rows = catalog.onec_stocks(seed, brand, day)
    negative = {(r.article, r.warehouse_name) for r in rows if r.quantity < 0}
    stock: dict[str, int] = defaultdict(int)
    for r in rows:
        if r.article in known and (r.article, r.warehouse_name) not in negative:
            stock[r.article] += r.quantity
    return dict(stock)


def predict(seed: int, brand: str, day: date) -> list[Expected]:
    """Every position with a deficit, in allocation order, with the units the 1C warehouse gives it."""
    short = [p for p in positions(seed, brand, day) if p.deficit > 0]
    short.sort(key=lambda p: (PRIORITIES.index(p.priority), p.days, p.article, str(p.cluster)))
    left = warehouse_stock(seed, brand, day)
    out = []
    for p in short:
        give = min(p.deficit, left.get(p.article, 0))
        left[p.article] = left.get(p.article, 0) - give
        out.append(Expected(p, give))
    return out


def _difference(got: Counter, expected: Counter) -> tuple[list, list]:
    """(unexpected, missing), readable in a failure."""
    return sorted((got - expected).elements()), sorted((expected - got).elements())


# -- the run ---------------------------------------------------------------------------------------------

async def _morning_inputs(at, extract, run_job) -> None:
    """The morning schedule up to 07:00: the 05:00 Ozon syncs (the half-hourly stock sync among them, which
    also lists the Ozon catalogue 1C rows are matched against), the 06:00 1C extract, the 06:30 brain and
    stock syncs."""
    at(PLAN_AT.replace(hour=5))
    for name in ("logistic.sync_ozon_warehouses", "logistic.sync_ozon_analytics", "logistic.sync_ozon_stocks"):
        out = await run_job(name)
        assert out["success"], (name, out)
    at(PLAN_AT.replace(hour=6))
    await extract(PLAN_AT.replace(hour=6))
    at(PLAN_AT.replace(hour=6, minute=30))
    for name in ("logistic.sync_brain_stocks", "logistic.sync_ozon_stocks"):
        out = await run_job(name)
        assert out["success"], (name, out)
    at(PLAN_AT)


async def test_generate_supply_tasks_creates_exactly_the_predicted_tasks(res, sandbox, at, extract, run_job,
                                                                         adolfd_run):
    assert sandbox.sandbox.seed == SEED
    day = PLAN_AT.date()
    predicted = {brand: predict(SEED, brand, day) for brand in BRANDS}
    everything = [e for brand in BRANDS for e in predicted[brand]]
    tasks_expected = [e for e in everything if e.coverage != "none"]
    low_expected = [e for e in everything if e.coverage == "none"]
    # the day exercises every rule: all priorities and coverages, and the allocation order decides something
    assert {e.position.priority for e in tasks_expected} == set(PRIORITIES)
    assert {e.coverage for e in everything} == {"full", "partial", "none"}
    per_article = defaultdict(set)
    for e in everything:
        per_article[(e.position.brand, e.position.article)].add(e.coverage)
    assert any("full" in c and len(c) > 1 for c in per_article.values())

    await _morning_inputs(at, extract, run_job)

    # the inputs as the planner reads them (these pinpoint a failure before the plan is compared)
    stored_stock = {(r["brand_id"], r["article"]): r["q"] for r in await res.db.fetch(
        "SELECT brand_id, article, sum(quantity)::int AS q FROM warehouse_stocks GROUP BY 1, 2")}
    assert stored_stock == {(b, a): q for b in BRANDS for a, q in warehouse_stock(SEED, b, day).items()}
    snapshot = {(r["brand_id"], r["article"], r["cluster_id"]): (r["ordered_units_28d"], r["fbo_stock"],
                                                                 r["in_transit"])
                for r in await res.db.fetch("SELECT * FROM cluster_stock_snapshots WHERE slot = $1",
                                            PLAN_AT.replace(hour=6, minute=30))}
    assert snapshot == {(p.brand, p.article, p.cluster): (p.units_28d, p.fbo, p.in_transit)
                        for b in BRANDS for p in positions(SEED, b, day)}

    first = await adolfd_run("generate_supply_tasks")
    assert first["success"], first
    result = first["result"]

    tasks = await res.db.fetch("SELECT * FROM supply_tasks ORDER BY task_number")
    got = Counter((t["brand_id"], t["article"], t["cluster_id"], t["priority"], t["quantity"], t["coverage"])
                  for t in tasks)
    assert _difference(got, Counter(e.row for e in tasks_expected)) == ([], [])
    by_key = {(e.position.brand, e.position.article, e.position.cluster): e.position for e in tasks_expected}
    for t in tasks:
        p = by_key[(t["brand_id"], t["article"], t["cluster_id"])]
        assert (t["deficit"], t["target_stock"], t["fbo_stock"], t["in_transit"]) == (
            p.deficit, p.target, p.fbo, p.in_transit), t["task_number"]
        assert t["status"] == "new" and t["plan_date"] == day and t["created_at"] == PLAN_AT
    assert [t["task_number"] for t in tasks] == [f"SUP-{day:%Y%m%d}-{n:04d}" for n in range(1, len(tasks) + 1)]

    low = await res.db.fetch("SELECT * FROM alerts WHERE alert_type = 'WAREHOUSE_LOW'")
    assert _difference(Counter((a["brand_id"], a["details"]["article"], int(a["details"]["cluster"])) for a in low),
                       Counter((e.position.brand, e.position.article, e.position.cluster) for e in low_expected)
                       ) == ([], [])
    assert all(a["severity"] == "high" and "Требуется закупка" in a["message"] for a in low)

    count = Counter(e.position.priority for e in tasks_expected)
    assert result == {
        "status": "success", "total_tasks": len(tasks_expected),
        "total_quantity": sum(e.quantity for e in tasks_expected),
        "urgent": count["urgent"], "planned": count["planned"], "recommended": count["recommended"],
        "purchase_required": len(low_expected), "deferred": [], "stale_inputs": {},
    }
    generated = await res.db.fetch("SELECT * FROM alerts WHERE alert_type = 'TASKS_GENERATED' ORDER BY brand_id")
    assert sorted(a["brand_id"] for a in generated) == sorted(BRANDS)
    for a in generated:
        mine = [e for e in tasks_expected if e.position.brand == a["brand_id"]]
        urgent = sum(1 for e in mine if e.position.priority == "urgent")
        assert re.search(rf"Сформировано {len(mine)} заданий \({urgent} urgent\), "
                         rf"{sum(e.quantity for e in mine)} шт", a["message"]), a["message"]

    # the same morning, twenty minutes later: nothing new
    alerts_before = await res.db.fetch("SELECT id, alert_type, resolved_at FROM alerts ORDER BY id")
    at(PLAN_AT + timedelta(minutes=20))
    second = await adolfd_run("generate_supply_tasks")
    assert second["success"], second
    assert second["result"]["total_tasks"] == 0 and second["result"]["total_quantity"] == 0
    assert second["result"]["purchase_required"] == len(low_expected)
    assert await res.db.fetch("SELECT * FROM supply_tasks ORDER BY task_number") == tasks
    assert await res.db.fetch("SELECT id, alert_type, resolved_at FROM alerts ORDER BY id") == alerts_before
