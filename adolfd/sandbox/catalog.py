"""The sandbox's deterministic catalogue: one source for the Ozon fake and the 1C (`brain_*`) seeding.

Everything is a pure function of (seed, brand, day), drawn from `random.Random` seeded with text keys
(stable across processes), so a test can compute what the fakes will answer and predict alerts and
supply tasks (seed 000 §8.4, DOMAIN.md "Logistic"). Per brand there are tens of articles with a demand
profile each (fast, steady, slow, dead = no sales, out_of_stock = sold out but with recent sales), FBO
stock per cluster that drifts a little from day to day, and internal 1C stock with the cases the
`sync_brain_stocks` validation must handle: scarce and zero articles, articles unknown to Ozon
(unmapped) and one negative quantity (anomaly).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache

from adolfd.sandbox.accounts import BRANDS

SALES_WINDOW_DAYS = 28          # Ozon's `ads` window and DOMAIN.md's velocity window
ARTICLES_PER_BRAND = 36

PROFILES = ("fast", "steady", "slow", "dead", "out_of_stock")
# profile mix per brand: every profile is present whatever the seed
_PROFILE_MIX = {"fast": 6, "steady": 14, "slow": 8, "dead": 3, "out_of_stock": 5}

# the turnover grades this catalogue produces (Ozon's enum has more: COLLECTING_DATA, WAS_POPULAR …)
DEFICIT, POPULAR, ACTUAL, SURPLUS = "DEFICIT", "POPULAR", "ACTUAL", "SURPLUS"
NO_SALES, WAS_NO_SALES, WAS_DEFICIT = "NO_SALES", "WAS_NO_SALES", "WAS_DEFICIT"

ONEC_MAIN_WAREHOUSE = "Основной склад"
ONEC_SECOND_WAREHOUSE = "Склад Подольск"
ONEC_RETURNS_WAREHOUSE = "Склад возвратов"


@dataclass(frozen=True)
class Warehouse:
    warehouse_id: int
    name: str
    type: str = "FULL_FILLMENT"


@dataclass(frozen=True)
class Cluster:
    cluster_id: int
    name: str
    macrolocal_cluster_id: int
    demand_share: float                 # share of a brand's orders placed in this cluster
    warehouses: tuple[Warehouse, ...]


CLUSTERS: tuple[Cluster, ...] = (
    Cluster(4, "Москва, МО и Дальние регионы", 154, 0.34, (
        Warehouse(1020000089903000, "ХОРУГВИНО_РФЦ"),
        Warehouse(1020000075732000, "ПУШКИНО_1_РФЦ"),
        Warehouse(1020000901600000, "НОГИНСК_РФЦ"),
    )),
    Cluster(2, "Санкт-Петербург и СЗО", 152, 0.16, (
        Warehouse(1020000115166000, "САНКТ_ПЕТЕРБУРГ_РФЦ"),
        Warehouse(1020001015780000, "СПБ_БУГРЫ_РФЦ"),
    )),
    Cluster(7, "Казань", 157, 0.10, (
        Warehouse(1020000242281000, "КАЗАНЬ_РФЦ_НОВЫЙ"),
    )),
    Cluster(5, "Екатеринбург", 155, 0.10, (
        Warehouse(1020000134296000, "ЕКАТЕРИНБУРГ_РФЦ_НОВЫЙ"),
    )),
    Cluster(12, "Новосибирск", 162, 0.09, (
        Warehouse(1020000226394000, "НОВОСИБИРСК_РФЦ_НОВЫЙ"),
    )),
    Cluster(17, "Краснодар", 167, 0.13, (
        Warehouse(1020000339785000, "АДЫГЕЙСК_РФЦ"),
        Warehouse(1020001045116000, "КРАСНОДАР_РФЦ"),
    )),
    Cluster(24, "Ростов", 174, 0.08, (
        Warehouse(1020000396112000, "РОСТОВ_НА_ДОНУ_РФЦ"),
    )),
)
_CLUSTER_BY_ID = {c.cluster_id: c for c in CLUSTERS}

_BRAND_PREFIX = {"ohana_market": "OM", "ohana_kids": "OK"}

_NAMES = {
    "ohana_market": (
        ("Плед флисовый", ("150×200 серый", "150×200 бежевый", "200×220 графит")),
        ("Полотенце махровое", ("50×90 белое", "70×140 мятное", "70×140 белое")),
        ("Комплект постельного белья", ("1,5-спальный сатин", "2-спальный перкаль", "евро сатин")),
        ("Подушка", ("50×70 бамбук", "70×70 лебяжий пух", "ортопедическая 40×60")),
        ("Одеяло", ("всесезонное 172×205", "летнее 140×205", "тёплое 200×220")),
        ("Покрывало", ("стёганое 220×240", "вафельное 160×220", "велюр 200×220")),
        ("Скатерть", ("льняная 140×180", "водоотталкивающая 150×220", "круглая 180")),
        ("Халат вафельный", ("женский S", "женский M", "мужской L")),
        ("Наматрасник", ("непромокаемый 160×200", "стёганый 140×200", "детский 60×120")),
        ("Шторы блэкаут", ("200×260 серые", "150×260 бежевые", "200×260 синие")),
        ("Коврик для ванной", ("50×80 серый", "60×100 белый", "набор 2 шт")),
        ("Салфетки кухонные", ("набор 3 шт", "микрофибра 5 шт", "вафельные 4 шт")),
    ),
    "ohana_kids": (
        ("Комбинезон детский", ("демисезонный 86", "зимний 92", "флисовый 80")),
        ("Пижама детская", ("хлопок 104", "хлопок 116", "велюр 110")),
        ("Боди детское", ("набор 3 шт 62", "набор 3 шт 68", "длинный рукав 74")),
        ("Шапка детская", ("вязаная 48", "с помпоном 50", "хлопок 44")),
        ("Носки детские", ("5 пар 16-18", "5 пар 18-20", "махровые 3 пары")),
        ("Футболка детская", ("белая 110", "принт 122", "набор 2 шт 104")),
        ("Платье детское", ("хлопок 98", "трикотаж 110", "нарядное 116")),
        ("Свитшот детский", ("серый 110", "начёс 122", "с капюшоном 128")),
        ("Пелёнка муслиновая", ("80×80 набор 2 шт", "120×120", "набор 3 шт")),
        ("Слип детский", ("56", "62", "68")),
        ("Колготки детские", ("хлопок 92", "махровые 98", "набор 2 шт 104")),
        ("Конверт на выписку", ("летний", "зимний", "трансформер")),
    ),
}


@dataclass(frozen=True)
class Article:
    brand: str
    offer_id: str                # seller's article: Ozon offer_id = 1C article
    product_id: int
    sku: int
    name: str
    price: int                   # roubles
    barcode: str
    profile: str                 # fast | steady | slow | dead | out_of_stock
    base_daily: float            # expected ordered units per day over all clusters
    cluster_ids: tuple[int, ...]  # FBO clusters the article is placed in


@dataclass(frozen=True)
class ClusterStock:
    """An article's FBO stock in a cluster on a day (sum over the cluster's warehouses)."""

    available: int
    transit: int


@dataclass(frozen=True)
class FboStock:
    """One `/v1/analytics/stocks` row: an article at one FBO warehouse on a day."""

    article: Article
    cluster: Cluster
    warehouse: Warehouse
    available: int
    transit: int
    ads: float                   # average daily ordered units, last 28 full days, all clusters
    ads_cluster: float
    idc: float                   # days the stock lasts at `ads` (0 when there are no sales)
    idc_cluster: float
    days_without_sales: int
    days_without_sales_cluster: int
    turnover_grade: str
    turnover_grade_cluster: str


@dataclass(frozen=True)
class OneCStock:
    """One `brain_stock_balance` row: 1C free stock of an article at an internal warehouse."""

    brand: str
    article: str
    product_name: str
    warehouse_name: str
    quantity: int


@dataclass(frozen=True)
class OneCOrderLine:
    """A line of a 1C customer order, supplier order or goods receipt (`brain_*` tables)."""

    brand: str
    number: str
    doc_date: date
    counterparty: str
    article: str
    quantity: int
    amount: float
    status: str
    warehouse_name: str
    expected_date: date | None = None


def _rng(*key: object) -> random.Random:
    return random.Random("|".join(str(k) for k in key))


def clusters() -> tuple[Cluster, ...]:
    return CLUSTERS


def cluster_by_id(cluster_id: int) -> Cluster:
    return _CLUSTER_BY_ID[cluster_id]


def _check_brand(brand: str) -> None:
    if brand not in _BRAND_PREFIX:
        raise ValueError(f"unknown brand {brand!r}; sandbox brands: {', '.join(BRANDS)}")


@lru_cache(maxsize=64)
def articles(seed: int, brand: str) -> tuple[Article, ...]:
    """The brand's Ozon catalogue, ordered by offer_id."""
    _check_brand(brand)
    rng = _rng(seed, brand, "articles")
    profiles = [p for p, n in _PROFILE_MIX.items() for _ in range(n)]
    rng.shuffle(profiles)
    names = [f"{base} {variant}" for base, variants in _NAMES[brand] for variant in variants]
    rng.shuffle(names)
    prefix = _BRAND_PREFIX[brand]
    brand_no = BRANDS.index(brand) + 1
    result = []
    for i, profile in enumerate(profiles):
        base_daily = {
            "fast": rng.uniform(12.0, 35.0),
            "steady": rng.uniform(2.5, 9.0),
            "slow": rng.uniform(0.2, 1.2),
            "dead": 0.0,
            "out_of_stock": rng.uniform(3.0, 12.0),
        }[profile]
        n_clusters = {
            "fast": len(CLUSTERS),
            "steady": rng.randint(5, len(CLUSTERS)),
            "slow": rng.randint(2, 4),
            "dead": rng.randint(1, 2),
            "out_of_stock": rng.randint(3, 6),
        }[profile]
        others = [c.cluster_id for c in CLUSTERS[1:]]
        rng.shuffle(others)
        placed = (CLUSTERS[0].cluster_id, *sorted(others[: n_clusters - 1]))
        result.append(Article(
            brand=brand,
            offer_id=f"{prefix}-{1001 + i}",
            product_id=800_000_000 + brand_no * 1_000_000 + seed % 1000 * 1000 + i,
            sku=1_500_000_000 + brand_no * 10_000_000 + seed % 1000 * 10_000 + rng.randint(0, 99) * 100 + i,
            name=names[i],
            price=rng.choice((390, 490, 690, 890, 1190, 1490, 1990, 2490, 3290)),
            barcode=f"46{brand_no:02d}{seed % 10000:04d}{i:05d}",
            profile=profile,
            base_daily=round(base_daily, 2),
            cluster_ids=placed,
        ))
    return tuple(result)


def article_by_sku(seed: int, brand: str) -> dict[int, Article]:
    return {a.sku: a for a in articles(seed, brand)}


def article_by_offer_id(seed: int, brand: str) -> dict[str, Article]:
    return {a.offer_id: a for a in articles(seed, brand)}


def cluster_mean_daily(article: Article, cluster_id: int) -> float:
    """Expected ordered units per day of the article in one cluster (0 where it is not placed)."""
    if cluster_id not in article.cluster_ids:
        return 0.0
    total_share = sum(cluster_by_id(c).demand_share for c in article.cluster_ids)
    return article.base_daily * cluster_by_id(cluster_id).demand_share / total_share


_WEEKDAY_FACTOR = (1.0, 0.97, 1.0, 1.04, 1.1, 0.98, 0.91)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


@lru_cache(maxsize=400_000)
def ordered_units(seed: int, article: Article, cluster_id: int, day: date) -> int:
    """Units of the article ordered on Ozon in a cluster on a calendar day."""
    mean = cluster_mean_daily(article, cluster_id)
    if mean == 0:
        return 0
    rng = _rng(seed, article.sku, cluster_id, day.isoformat(), "orders")
    return _poisson(rng, mean * _WEEKDAY_FACTOR[day.weekday()])


def ordered_units_total(seed: int, article: Article, day: date) -> int:
    """Units of the article ordered on a day over all clusters: what `/v1/analytics/data` reports."""
    return sum(ordered_units(seed, article, c, day) for c in article.cluster_ids)


def sales_window(today: date, days: int = SALES_WINDOW_DAYS) -> tuple[date, date]:
    """The last `days` full days before `today` (seed 000 §8.4.2: today−28 … today−1)."""
    return today - timedelta(days=days), today - timedelta(days=1)


def avg_daily_sales(seed: int, article: Article, today: date, cluster_id: int | None = None,
                    days: int = SALES_WINDOW_DAYS) -> float:
    """Average daily ordered units over the last `days` full days, all clusters or one."""
    first, _ = sales_window(today, days)
    total = 0
    for i in range(days):
        day = first + timedelta(days=i)
        total += (ordered_units_total(seed, article, day) if cluster_id is None
                  else ordered_units(seed, article, cluster_id, day))
    return total / days


def _days_without_sales(seed: int, article: Article, today: date, cluster_id: int | None, cap: int = 120) -> int:
    for n in range(cap):
        day = today - timedelta(days=n + 1)
        sold = (ordered_units_total(seed, article, day) if cluster_id is None
                else ordered_units(seed, article, cluster_id, day))
        if sold:
            return n
    return cap


@dataclass(frozen=True)
class _StockPlan:
    cover_days: float            # target days of stock at the expected demand
    fixed_units: int             # dead articles: stock that never sells
    transit_days: float
    split: tuple[float, ...]     # share of the cluster's stock per warehouse


@lru_cache(maxsize=4096)
def _stock_plan(seed: int, article: Article, cluster_id: int) -> _StockPlan:
    rng = _rng(seed, article.sku, cluster_id, "stock-plan")
    cluster = cluster_by_id(cluster_id)
    weights = [rng.uniform(0.2, 1.0) for _ in cluster.warehouses]
    weights[0] += 1.0            # the cluster's first warehouse holds most of the stock
    split = tuple(w / sum(weights) for w in weights)
    fixed = 0
    if article.profile == "dead":
        cover, fixed = 0.0, rng.randint(5, 60)
    elif article.profile == "out_of_stock":
        sold_out = cluster_id == article.cluster_ids[0] or rng.random() < 0.5
        cover = 0.0 if sold_out else rng.uniform(0.5, 5.0)
    else:
        buckets = ((0.5, 2.8), (3.2, 6.8), (8.0, 35.0), (60.0, 150.0))
        weights_by_profile = {"fast": (18, 22, 45, 15), "steady": (18, 22, 45, 15), "slow": (0, 10, 60, 30)}
        low, high = rng.choices(buckets, weights=weights_by_profile[article.profile])[0]
        cover = rng.uniform(low, high)
    in_transit = cover < 7 and article.profile != "dead" and rng.random() < 0.4
    transit_days = rng.uniform(4.0, 10.0) if in_transit else 0.0
    return _StockPlan(cover_days=cover, fixed_units=fixed, transit_days=transit_days, split=split)


def cluster_stock(seed: int, article: Article, cluster_id: int, day: date) -> ClusterStock:
    """FBO stock of an article in a cluster on a day: its planned cover, drifting a few % per day."""
    if cluster_id not in article.cluster_ids:
        return ClusterStock(available=0, transit=0)
    plan = _stock_plan(seed, article, cluster_id)
    drift = _rng(seed, article.sku, cluster_id, day.isoformat(), "drift").uniform(-0.08, 0.08)
    mean = cluster_mean_daily(article, cluster_id)
    available = plan.fixed_units + round(mean * plan.cover_days * (1 + drift))
    transit = round(mean * plan.transit_days)
    return ClusterStock(available=max(0, available), transit=transit)


def turnover_grade(available: int, ads: float) -> str:
    """Ozon's liquidity status from stock and average daily sales (spec thresholds: 28 / 56 / 120 days)."""
    if available <= 0:
        return WAS_DEFICIT if ads > 0 else WAS_NO_SALES
    if ads <= 0:
        return NO_SALES
    days = available / ads
    if days < 28:
        return DEFICIT
    if days < 56:
        return POPULAR
    if days <= 120:
        return ACTUAL
    return SURPLUS


def _split(total: int, shares: tuple[float, ...]) -> list[int]:
    parts = [math.floor(total * s) for s in shares]
    parts[0] += total - sum(parts)
    return parts


def fbo_stocks(seed: int, brand: str, day: date) -> tuple[FboStock, ...]:
    """Every `/v1/analytics/stocks` row of the brand on a day, ordered by (sku, cluster, warehouse).

    A placed (article, cluster) has a row per warehouse holding stock; a sold-out one keeps one zero row
    at the cluster's first warehouse, as Ozon still reports it.
    """
    rows = []
    for article in articles(seed, brand):
        per_cluster = {c: cluster_stock(seed, article, c, day) for c in article.cluster_ids}
        ads = avg_daily_sales(seed, article, day)
        total_available = sum(s.available for s in per_cluster.values())
        dws = _days_without_sales(seed, article, day, None)
        for cluster_id in sorted(article.cluster_ids):
            cluster = cluster_by_id(cluster_id)
            stock = per_cluster[cluster_id]
            ads_c = avg_daily_sales(seed, article, day, cluster_id)
            plan = _stock_plan(seed, article, cluster_id)
            available_parts = _split(stock.available, plan.split)
            transit_parts = _split(stock.transit, plan.split)
            empty = FboStock(
                article=article, cluster=cluster, warehouse=cluster.warehouses[0], available=0, transit=0,
                ads=round(ads, 2), ads_cluster=round(ads_c, 2),
                idc=round(total_available / ads, 1) if ads > 0 else 0.0,
                idc_cluster=round(stock.available / ads_c, 1) if ads_c > 0 else 0.0,
                days_without_sales=dws,
                days_without_sales_cluster=_days_without_sales(seed, article, day, cluster_id),
                turnover_grade=turnover_grade(total_available, ads),
                turnover_grade_cluster=turnover_grade(stock.available, ads_c),
            )
            emitted = False
            for warehouse, available, transit in zip(cluster.warehouses, available_parts, transit_parts, strict=True):
                if available or transit:
                    rows.append(replace(empty, warehouse=warehouse, available=available, transit=transit))
                    emitted = True
            if not emitted:
                rows.append(empty)
    return tuple(rows)


# -- 1C ------------------------------------------------------------------------------------------------

ONEC_PROFILES = ("plenty", "scarce", "zero")


@lru_cache(maxsize=64)
def onec_profiles(seed: int, brand: str) -> dict[str, str]:
    """1C stock profile per Ozon article: most plenty, some scarce, some zero.

    At least one out-of-stock article has zero 1C stock (purchase required, WAREHOUSE_LOW) and at least
    one fast mover is scarce (partial coverage), whatever the seed.
    """
    rng = _rng(seed, brand, "onec-profiles")
    items = list(articles(seed, brand))
    rng.shuffle(items)
    profiles = {}
    for i, article in enumerate(items):
        profiles[article.offer_id] = "zero" if i % 7 == 0 else "scarce" if i % 7 == 1 else "plenty"
    first_oos = next(a for a in items if a.profile == "out_of_stock")
    first_fast = next(a for a in items if a.profile == "fast")
    profiles[first_oos.offer_id] = "zero"
    profiles[first_fast.offer_id] = "scarce"
    return profiles


def unmapped_articles(brand: str) -> tuple[str, ...]:
    """1C articles the Ozon catalogue does not know (samples, discontinued lines)."""
    _check_brand(brand)
    prefix = _BRAND_PREFIX[brand]
    return (f"{prefix}-9001", f"{prefix}-9002")


def anomaly_article(seed: int, brand: str) -> str:
    """The article whose 1C returns-warehouse balance is negative (an extractor/1C data error)."""
    profiles = onec_profiles(seed, brand)
    plenty = sorted(a for a, p in profiles.items() if p == "plenty")
    return _rng(seed, brand, "anomaly").choice(plenty)


def onec_stocks(seed: int, brand: str, day: date) -> tuple[OneCStock, ...]:
    """The 1C stock extract of a brand for a day (rows of `brain_stock_balance`), ordered by article."""
    rows = []
    profiles = onec_profiles(seed, brand)
    for article in articles(seed, brand):
        profile = profiles[article.offer_id]
        rng = _rng(seed, article.offer_id, "onec-base")
        base = {"plenty": rng.randint(150, 1500), "scarce": rng.randint(3, 30), "zero": 0}[profile]
        second = rng.randint(20, 200) if profile == "plenty" and rng.random() < 0.3 else 0
        daily = _rng(seed, article.offer_id, day.isoformat(), "onec-drift")
        if profile == "plenty":
            base = round(base * (1 + daily.uniform(-0.04, 0.04)))
        elif profile == "scarce":
            base = max(1, base + daily.randint(-1, 1))
        rows.append(OneCStock(brand, article.offer_id, article.name, ONEC_MAIN_WAREHOUSE, base))
        if second:
            rows.append(OneCStock(brand, article.offer_id, article.name, ONEC_SECOND_WAREHOUSE, second))
    for n, offer_id in enumerate(unmapped_articles(brand)):
        quantity = _rng(seed, offer_id, "onec-base").randint(10, 60)
        rows.append(OneCStock(brand, offer_id, f"Образец {n + 1} (нет на Ozon)", ONEC_MAIN_WAREHOUSE, quantity))
    anomaly = anomaly_article(seed, brand)
    anomaly_name = article_by_offer_id(seed, brand)[anomaly].name
    rows.append(OneCStock(brand, anomaly, anomaly_name, ONEC_RETURNS_WAREHOUSE,
                          -_rng(seed, brand, "anomaly-qty").randint(3, 15)))
    return tuple(sorted(rows, key=lambda r: (r.article, r.warehouse_name)))


_CUSTOMERS = ("ООО «Текстиль-Опт»", "ИП Кузнецова А.В.", "ООО «Детский мир-Регион»", "ООО «Домашний уют»")
_SUPPLIERS = ("ООО «Ивановский текстиль»", "ООО «Чебоксарский трикотаж»", "ТК «Шёлковый путь»")


def customer_orders(seed: int, brand: str, day: date) -> tuple[OneCOrderLine, ...]:
    """1C customer (wholesale) orders of the last 7 days as extracted on `day` (`brain_customer_orders`)."""
    items = articles(seed, brand)
    prefix = _BRAND_PREFIX[brand]
    lines = []
    for back in range(7):
        doc_day = day - timedelta(days=back)
        rng = _rng(seed, brand, doc_day.isoformat(), "customer-orders")
        for n in range(rng.randint(1, 3)):
            number = f"ЗК-{prefix}-{doc_day:%y%m%d}-{n + 1:02d}"
            customer = rng.choice(_CUSTOMERS)
            status = "Закрыт" if back >= 3 else rng.choice(("К обеспечению", "К отгрузке"))
            for article in rng.sample(items, rng.randint(1, 3)):
                quantity = rng.randint(5, 60)
                lines.append(OneCOrderLine(brand, number, doc_day, customer, article.offer_id, quantity,
                                           float(quantity * article.price * 0.6), status, ONEC_MAIN_WAREHOUSE))
    return tuple(lines)


def supplier_orders(seed: int, brand: str, day: date) -> tuple[OneCOrderLine, ...]:
    """Open 1C purchase orders on `day` (`brain_supplier_orders`): restocking the scarce and zero articles."""
    profiles = onec_profiles(seed, brand)
    short = [a for a in articles(seed, brand) if profiles[a.offer_id] != "plenty"]
    prefix = _BRAND_PREFIX[brand]
    rng = _rng(seed, brand, day.isoformat(), "supplier-orders")
    lines = []
    for n, article in enumerate(short):
        if rng.random() < 0.5:
            continue
        ordered = day - timedelta(days=rng.randint(3, 20))
        quantity = rng.randint(100, 800)
        lines.append(OneCOrderLine(brand, f"ЗП-{prefix}-{ordered:%y%m%d}-{n + 1:02d}", ordered, rng.choice(_SUPPLIERS),
                                   article.offer_id, quantity, float(quantity * article.price * 0.35),
                                   rng.choice(("Согласован", "В пути")), ONEC_MAIN_WAREHOUSE,
                                   expected_date=day + timedelta(days=rng.randint(2, 20))))
    return tuple(lines)


def goods_receipts(seed: int, brand: str, day: date) -> tuple[OneCOrderLine, ...]:
    """1C goods receipts of the last 7 days as extracted on `day` (`brain_goods_receipts`)."""
    items = articles(seed, brand)
    prefix = _BRAND_PREFIX[brand]
    lines = []
    for back in range(7):
        doc_day = day - timedelta(days=back)
        rng = _rng(seed, brand, doc_day.isoformat(), "goods-receipts")
        if rng.random() < 0.4:
            continue
        number = f"ПТ-{prefix}-{doc_day:%y%m%d}"
        supplier = rng.choice(_SUPPLIERS)
        for article in rng.sample(items, rng.randint(1, 4)):
            quantity = rng.randint(50, 400)
            lines.append(OneCOrderLine(brand, number, doc_day, supplier, article.offer_id, quantity,
                                       float(quantity * article.price * 0.35), "Проведён", ONEC_MAIN_WAREHOUSE))
    return tuple(lines)
