"""Nightly advertising analytics (seed 002 §7.3.4 `calculate_analytics`, DOMAIN.md "Marketing").

Works on one campaign's daily series (`marketing_stats_daily`, campaign level) and is run by the worker
per campaign:

- spend anomaly: a day whose spend exceeds 1.5 × the mean of the 7 days before it (seed: `period_days=7,
  threshold=1.5`). Days without a row inside the window count as zero spend, but the series must reach
  back the whole window (a 3-day-old campaign has no baseline yet) and the baseline must be positive
  (a restart after a pause is not a spike);
- trends over 14 days: the last 7 days against the 7 before them, per figure; a change within ±10 % is
  `flat`, ratios (CTR, CPC, CPO, DRR) are computed from the sums of each half;
- offline recommendations: the rules provider's advice, used when no LLM is configured and as the facts
  handed to one when it is (`recommend`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from adolfd.domain.marketing.ad_money import kopecks_to_roubles, percent


@dataclass(frozen=True)
class DailyFigures:
    day: date
    views: int = 0
    clicks: int = 0
    spent: int = 0       # kopecks
    orders: int = 0
    revenue: int = 0     # kopecks


@dataclass(frozen=True)
class AnalyticsRules:
    anomaly_window_days: int = 7
    anomaly_factor: Decimal = Decimal("1.5")
    trend_days: int = 14
    flat_percent: Decimal = Decimal(10)
    wasted_keyword_clicks: int = 50          # half the pause threshold: worth a look before it pauses
    budget_limited_days: int = 3

    def __post_init__(self) -> None:
        if self.anomaly_window_days < 1 or self.trend_days < 2 or self.trend_days % 2:
            raise ValueError("anomaly window must be ≥ 1 day and the trend period an even number ≥ 2")
        if self.anomaly_factor <= 1:
            raise ValueError("anomaly_factor must exceed 1")


@dataclass(frozen=True)
class SpendAnomaly:
    day: date
    spent: int
    baseline: Decimal      # mean daily spend of the window before `day`, kopecks
    ratio: Decimal


def _by_day(series: Sequence[DailyFigures]) -> dict[date, DailyFigures]:
    index: dict[date, DailyFigures] = {}
    for row in series:
        if row.day in index:
            raise ValueError(f"two rows for {row.day}")
        index[row.day] = row
    return index


def spend_anomaly(series: Sequence[DailyFigures], day: date,
                  rules: AnalyticsRules = AnalyticsRules()) -> SpendAnomaly | None:
    """Whether `day` is a spend anomaly against the trailing window."""
    index = _by_day(series)
    if day not in index or not index:
        return None
    window = rules.anomaly_window_days
    if min(index) > day - timedelta(days=window):
        return None
    baseline = Decimal(sum(index[d].spent for d in _days(day - timedelta(days=window), window) if d in index)) / window
    spent = index[day].spent
    if baseline <= 0 or spent <= baseline * rules.anomaly_factor:
        return None
    return SpendAnomaly(day, spent, baseline, (Decimal(spent) / baseline).quantize(Decimal("0.01")))


def spend_anomalies(series: Sequence[DailyFigures], first: date, last: date,
                    rules: AnalyticsRules = AnalyticsRules()) -> tuple[SpendAnomaly, ...]:
    found = (spend_anomaly(series, d, rules) for d in _days(first, (last - first).days + 1))
    return tuple(a for a in found if a is not None)


def _days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(count)]


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    FLAT = "flat"


@dataclass(frozen=True)
class MetricTrend:
    before: Decimal | None
    after: Decimal | None
    change_percent: Decimal | None
    direction: Direction


@dataclass(frozen=True)
class Totals:
    views: int = 0
    clicks: int = 0
    spent: int = 0
    orders: int = 0
    revenue: int = 0

    @classmethod
    def of(cls, rows: Sequence[DailyFigures]) -> Totals:
        return cls(sum(r.views for r in rows), sum(r.clicks for r in rows), sum(r.spent for r in rows),
                   sum(r.orders for r in rows), sum(r.revenue for r in rows))

    @property
    def ctr(self) -> Decimal | None:
        return percent(self.clicks, self.views)

    @property
    def cpc(self) -> Decimal | None:
        return Decimal(self.spent) / self.clicks if self.clicks else None

    @property
    def cpo(self) -> Decimal | None:
        return Decimal(self.spent) / self.orders if self.orders else None

    @property
    def drr(self) -> Decimal | None:
        return percent(self.spent, self.revenue)

    def figure(self, name: str) -> Decimal | None:
        value = getattr(self, name)
        return None if value is None else Decimal(value)


TREND_FIGURES = ("views", "clicks", "spent", "orders", "revenue", "ctr", "cpc", "cpo", "drr")


@dataclass(frozen=True)
class CampaignTrend:
    start: date
    end: date
    before: Totals
    after: Totals
    figures: Mapping[str, MetricTrend]


def trend(series: Sequence[DailyFigures], end: date, rules: AnalyticsRules = AnalyticsRules()) -> CampaignTrend:
    """The `trend_days` ending at `end` (inclusive): second half against first half."""
    half = rules.trend_days // 2
    start = end - timedelta(days=rules.trend_days - 1)
    middle = start + timedelta(days=half)
    rows = [r for r in series if start <= r.day <= end]
    before = Totals.of([r for r in rows if r.day < middle])
    after = Totals.of([r for r in rows if r.day >= middle])
    figures = {name: _compare(before.figure(name), after.figure(name), rules.flat_percent) for name in TREND_FIGURES}
    return CampaignTrend(start, end, before, after, figures)


def _compare(before: Decimal | None, after: Decimal | None, flat: Decimal) -> MetricTrend:
    if before is None or after is None:
        return MetricTrend(before, after, None, Direction.FLAT)
    if before == 0:
        return MetricTrend(before, after, None, Direction.UP if after > 0 else Direction.FLAT)
    change = ((after - before) * 100 / before).quantize(Decimal("0.1"))
    direction = Direction.FLAT if abs(change) <= flat else (Direction.UP if change > 0 else Direction.DOWN)
    return MetricTrend(before, after, change, direction)


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True)
class KeywordSummary:
    label: str
    views: int
    clicks: int
    orders: int
    spent: int


@dataclass(frozen=True)
class CampaignProfile:
    name: str
    strategy: str
    daily_limit: int | None = None
    target_drr: Decimal | None = None
    target_cpo: int | None = None


@dataclass(frozen=True)
class Recommendation:
    kind: str
    priority: Priority
    text: str
    details: Mapping[str, object] = field(default_factory=dict)


def recommend(profile: CampaignProfile, campaign_trend: CampaignTrend, anomalies: Sequence[SpendAnomaly],
              keywords: Sequence[KeywordSummary], last_days: Sequence[DailyFigures],
              rules: AnalyticsRules = AnalyticsRules()) -> tuple[Recommendation, ...]:
    """The offline rules provider's recommendations for one campaign, most urgent first."""
    out: list[Recommendation] = []
    week = campaign_trend.after
    for anomaly in anomalies:
        out.append(Recommendation("spend_anomaly", Priority.HIGH,
                                  f"{anomaly.day:%d.%m}: расход {kopecks_to_roubles(anomaly.spent)}₽ — в "
                                  f"{anomaly.ratio}× выше среднего за 7 дней; проверьте ставки и ключи",
                                  {"day": anomaly.day.isoformat(), "ratio": str(anomaly.ratio)}))
    if profile.target_drr is not None and week.spent > 0:
        drr = week.drr
        if drr is None or drr > profile.target_drr:
            high = drr is None or drr > profile.target_drr * Decimal("1.5")
            shown = "—" if drr is None else f"{drr:.1f}%"
            out.append(Recommendation("drr_above_target", Priority.HIGH if high else Priority.MEDIUM,
                                      f"ДРР за 7 дней {shown} при цели {profile.target_drr}%: снизьте ставки "
                                      f"или отключите ключи без заказов", {"drr": None if drr is None else str(drr)}))
        elif drr < profile.target_drr / 2:
            out.append(Recommendation("drr_headroom", Priority.LOW,
                                      f"ДРР за 7 дней {drr:.1f}% — вдвое ниже цели {profile.target_drr}%: "
                                      f"можно поднять ставки ради охвата", {"drr": str(drr)}))
    if profile.target_cpo is not None and week.spent > 0:
        cpo = week.cpo
        if cpo is None or cpo > profile.target_cpo:
            shown = "—" if cpo is None else f"{kopecks_to_roubles(int(cpo))}₽"
            out.append(Recommendation("cpo_above_target", Priority.MEDIUM,
                                      f"Стоимость заказа за 7 дней {shown} при цели "
                                      f"{kopecks_to_roubles(profile.target_cpo)}₽: снизьте ставки",
                                      {"cpo": None if cpo is None else str(cpo)}))
    ctr = campaign_trend.figures["ctr"]
    if ctr.change_percent is not None and ctr.change_percent <= -2 * rules.flat_percent:
        out.append(Recommendation("ctr_falling", Priority.MEDIUM,
                                  f"CTR упал на {-ctr.change_percent}% за неделю: обновите фото и заголовки",
                                  {"change_percent": str(ctr.change_percent)}))
    spent, orders = campaign_trend.figures["spent"], campaign_trend.figures["orders"]
    if (spent.change_percent is not None and spent.change_percent >= 2 * rules.flat_percent
            and orders.direction is not Direction.UP):
        out.append(Recommendation("spend_up_orders_flat", Priority.MEDIUM,
                                  f"Расход вырос на {spent.change_percent}%, заказы не растут: "
                                  f"пересмотрите стратегию", {"spent_change": str(spent.change_percent)}))
    wasted = sorted((k for k in keywords if k.clicks >= rules.wasted_keyword_clicks and k.orders == 0),
                    key=lambda k: k.spent, reverse=True)
    if wasted:
        names = ", ".join(k.label for k in wasted[:5])
        out.append(Recommendation("keywords_without_orders", Priority.MEDIUM,
                                  f"Без заказов при {rules.wasted_keyword_clicks}+ кликах: {names}",
                                  {"keywords": [k.label for k in wasted]}))
    if profile.daily_limit is not None:
        capped = sum(1 for d in last_days if d.spent >= profile.daily_limit)
        if capped >= rules.budget_limited_days:
            out.append(Recommendation("budget_limited", Priority.LOW,
                                      f"Дневной лимит исчерпан {capped} дн. из {len(last_days)}: "
                                      f"поднимите лимит, если ДРР в норме", {"days": capped}))
    if week.views == 0:
        out.append(Recommendation("no_impressions", Priority.MEDIUM,
                                  "Нет показов за 7 дней: проверьте ставки относительно минимальных и модерацию"))
    order = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}
    return tuple(sorted(out, key=lambda r: order[r.priority]))
