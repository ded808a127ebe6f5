"""Ozon syncs (seed 000 §8.4.1–§8.4.3): FBO stock per cluster with its Redis cache, ordered units over 28
days, and the FBO clusters with their warehouses."""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from typing import Any

from adolfd.clients.ozon import OzonSellerClient, ProductInfo, StockItem
from adolfd.domain.logistic.stock_monitor import LogisticRules, avg_daily_sales, days_of_stock, split_units
from adolfd.engine.arguments import BrandId
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.keys import LOGISTIC_ALERTS_AFTER_JOB
from adolfd.keys import LOGISTIC_STOCKS_CACHE as CACHE_KEY
from adolfd.workers.logistic.inputs import _MARK_INPUT, _finite, _rules, _slot

_SAVE_PRODUCTS = """
INSERT INTO logistic_products (brand_id, article, sku, product_id, name, synced_at)
SELECT $1, p.article, p.sku, p.product_id, p.name, $3
FROM jsonb_to_recordset($2::jsonb) AS p(article text, sku bigint, product_id bigint, name text)
ON CONFLICT (brand_id, article) DO UPDATE
SET sku = EXCLUDED.sku, product_id = EXCLUDED.product_id, name = EXCLUDED.name, synced_at = EXCLUDED.synced_at
"""

_LATEST_UNITS = """
SELECT sku, ordered_units FROM logistic_sales_analytics
WHERE brand_id = $1 AND period_to = (SELECT max(period_to) FROM logistic_sales_analytics WHERE brand_id = $1)
"""

_SAVE_SNAPSHOTS = """
INSERT INTO cluster_stock_snapshots (brand_id, slot, sku, cluster_id, article, cluster_name, fbo_stock, in_transit,
                                     ordered_units_28d, avg_daily_sales, days_of_stock, ads_cluster,
                                     turnover_grade_cluster, captured_at)
SELECT $1, $2, s.sku, s.cluster_id, s.article, s.cluster_name, s.fbo_stock, s.in_transit, s.ordered_units_28d,
       s.avg_daily_sales, s.days_of_stock, s.ads_cluster, s.turnover_grade_cluster, $4
FROM jsonb_to_recordset($3::jsonb) AS s(sku bigint, cluster_id bigint, article text, cluster_name text,
     fbo_stock int, in_transit int, ordered_units_28d int, avg_daily_sales numeric, days_of_stock numeric,
     ads_cluster numeric, turnover_grade_cluster text)
ON CONFLICT (brand_id, slot, sku, cluster_id) DO UPDATE
SET fbo_stock = EXCLUDED.fbo_stock, in_transit = EXCLUDED.in_transit, ordered_units_28d = EXCLUDED.ordered_units_28d,
    avg_daily_sales = EXCLUDED.avg_daily_sales, days_of_stock = EXCLUDED.days_of_stock,
    ads_cluster = EXCLUDED.ads_cluster, turnover_grade_cluster = EXCLUDED.turnover_grade_cluster,
    article = EXCLUDED.article, cluster_name = EXCLUDED.cluster_name, captured_at = EXCLUDED.captured_at
"""


def cluster_snapshots(products: list[ProductInfo], items: list[StockItem], units: dict[int, int],
                      rules: LogisticRules) -> list[dict[str, Any]]:
    """Ozon's per-warehouse rows summed per (SKU, cluster), enriched with the cluster's share of sales."""
    article_of = {p.sku: p.offer_id for p in products}
    per_cluster: dict[tuple[int, int], dict[str, Any]] = {}
    for item in items:
        row = per_cluster.setdefault((item.sku, item.cluster_id), {
            "sku": item.sku, "cluster_id": item.cluster_id, "cluster_name": item.cluster_name,
            "article": article_of.get(item.sku) or item.offer_id, "fbo_stock": 0, "in_transit": 0,
            "ads_cluster": 0.0, "turnover_grade_cluster": item.turnover_grade_cluster})
        row["fbo_stock"] += max(item.available_stock_count, 0)
        row["in_transit"] += max(item.transit_stock_count, 0)
        row["ads_cluster"] = max(row["ads_cluster"], item.ads_cluster)
    by_sku: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in per_cluster.values():
        by_sku[row["sku"]].append(row)
    for sku, rows in by_sku.items():
        shares = split_units(units.get(sku, 0), {r["cluster_id"]: max(r["ads_cluster"], 0.0) for r in rows})
        for row in rows:
            row["ordered_units_28d"] = shares[row["cluster_id"]]
            velocity = avg_daily_sales(row["ordered_units_28d"], rules.velocity_window_days)
            row["avg_daily_sales"] = round(float(velocity), 4)
            row["days_of_stock"] = _finite(days_of_stock(row["fbo_stock"], velocity))
    return sorted(per_cluster.values(), key=lambda r: (r["article"], r["cluster_id"]))


async def _cache_positions(ctx: Ctx, brand: str, rows: list[dict[str, Any]]) -> None:
    key = CACHE_KEY.format(brand=brand)
    mapping = {f"{r['article']}:{r['cluster_id']}": json.dumps(
        {k: r[k] for k in ("sku", "cluster_name", "fbo_stock", "in_transit", "avg_daily_sales", "days_of_stock")},
        ensure_ascii=False) for r in rows}
    async with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        if mapping:
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, ctx.settings.logistic.cache_ttl_seconds)
        await pipe.execute()


@job(queue="sync", manual=True)
async def sync_ozon_stocks(ctx: Ctx, brand_id: BrandId = "all") -> dict:
    """FBO stock per cluster (seed 000 §8.4.1) → cluster_stock_snapshots + Redis cache, then generate_alerts.
    Safe to run twice: snapshots upsert per (brand, 30-minute slot, SKU, cluster)."""
    results: dict[str, dict[str, int]] = {}
    for brand in ctx.brands(brand_id):
        rules = _rules(ctx, brand)
        client = ctx.client(OzonSellerClient, brand)
        products = await client.products()
        items = await client.stocks([p.sku for p in products]) if products else []
        now = ctx.now()
        slot = _slot(ctx.fire_time.astimezone(now.tzinfo) if ctx.fire_time else now)
        async with ctx.db.acquire() as conn, conn.transaction():
            await conn.execute(_SAVE_PRODUCTS, brand, [
                {"article": p.offer_id, "sku": p.sku, "product_id": p.id, "name": p.name} for p in products], now)
            units = {r["sku"]: r["ordered_units"] for r in await conn.fetch(_LATEST_UNITS, brand)}
            rows = cluster_snapshots(products, items, units, rules)
            await conn.execute(_SAVE_SNAPSHOTS, brand, slot, rows, now)
            await conn.execute(_MARK_INPUT, brand, "sync_ozon_stocks", now, {"slot": slot.isoformat()})
        await _cache_positions(ctx, brand, rows)
        if not units:
            ctx.log.warning("no_sales_analytics", brand=brand)
        results[brand] = {"snapshots_saved": len(rows), "clusters": len({r["cluster_id"] for r in rows}),
                          "articles": len({r["article"] for r in rows})}
    # the seed's chain sync_ozon_stocks → generate_alerts; the job id makes a retry enqueue nothing new
    await ctx.enqueue("logistic.generate_alerts", _job_id=LOGISTIC_ALERTS_AFTER_JOB.format(job_id=ctx.job_id),
                      brand_id=brand_id)
    return {"status": "success", "results": results}


_SAVE_UNITS = """
INSERT INTO logistic_sales_analytics (brand_id, sku, period_from, period_to, ordered_units, synced_at)
SELECT $1, u.sku, $2, $3, u.units, $5 FROM jsonb_to_recordset($4::jsonb) AS u(sku bigint, units int)
"""


@job(queue="sync", manual=True)
async def sync_ozon_analytics(ctx: Ctx, brand_id: BrandId = "all") -> dict:
    """Ordered units per SKU over the last 28 full days (seed 000 §8.4.2). Safe to run twice: the period's
    rows are replaced."""
    results: dict[str, dict[str, int]] = {}
    for brand in ctx.brands(brand_id):
        rules = _rules(ctx, brand)
        today = ctx.now().date()
        date_from, date_to = today - timedelta(days=rules.velocity_window_days), today - timedelta(days=1)
        units = await ctx.client(OzonSellerClient, brand).ordered_units(date_from, date_to)
        now = ctx.now()
        async with ctx.db.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM logistic_sales_analytics WHERE brand_id = $1 AND period_to = $2",
                               brand, date_to)
            await conn.execute(_SAVE_UNITS, brand, date_from, date_to,
                               [{"sku": sku, "units": max(n, 0)} for sku, n in sorted(units.items())], now)
            await conn.execute(_MARK_INPUT, brand, "sync_ozon_analytics", now,
                               {"period_from": date_from.isoformat(), "period_to": date_to.isoformat()})
        results[brand] = {"records_saved": len(units)}
    return {"status": "success", "results": results}


_SAVE_CLUSTERS = """
INSERT INTO logistic_clusters (cluster_id, name, cluster_type, macrolocal_cluster_id, warehouses, is_active, synced_at)
SELECT c.id, c.name, c.type, c.macrolocal_cluster_id, c.warehouses, true, $2
FROM jsonb_to_recordset($1::jsonb) AS c(id bigint, name text, type text, macrolocal_cluster_id bigint, warehouses jsonb)
ON CONFLICT (cluster_id) DO UPDATE
SET name = EXCLUDED.name, cluster_type = EXCLUDED.cluster_type, macrolocal_cluster_id = EXCLUDED.macrolocal_cluster_id,
    warehouses = EXCLUDED.warehouses, is_active = true, synced_at = EXCLUDED.synced_at
"""


@job(queue="sync", manual=True)
async def sync_ozon_warehouses(ctx: Ctx) -> dict:
    """FBO clusters and their warehouses (seed 000 §8.4.3). Clusters are the same for every account, so
    the first brand with Ozon credentials is asked; a cluster Ozon no longer lists is marked inactive."""
    clusters = None
    for brand in ctx.brands():
        try:
            client = ctx.client(OzonSellerClient, brand)
        except LookupError:
            continue
        clusters = await client.clusters()
        break
    if clusters is None:
        raise LookupError("no brand has ozon_seller credentials: cannot list FBO clusters")
    rows = [{"id": c.id, "name": c.name, "type": c.type or "CLUSTER_TYPE_OZON",
             "macrolocal_cluster_id": c.macrolocal_cluster_id,
             "warehouses": [w.model_dump() for w in c.warehouses]} for c in clusters]
    async with ctx.db.acquire() as conn, conn.transaction():
        await conn.execute(_SAVE_CLUSTERS, rows, ctx.now())
        gone = await conn.fetch("UPDATE logistic_clusters SET is_active = false WHERE is_active "
                                "AND NOT (cluster_id = ANY($1::bigint[])) RETURNING cluster_id",
                                [c.id for c in clusters])
    return {"status": "success", "results": {"clusters_synced": len(rows), "deactivated": len(gone)}}
