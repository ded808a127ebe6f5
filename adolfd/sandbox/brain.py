"""Stand-in for the 1C extractor: writes a day's extract of the `brain_*` tables from the catalogue.

The real extractor loads 1C data at 06:00 (seed 000 §8.5); adolfd only reads these tables. The sandbox
writes the same shape from `adolfd.sandbox.catalog`, so the demo and the tests see 1C stock that agrees
with the Ozon fake (same articles, plus unmapped ones and one negative balance). Loading a day again
replaces that day's rows of the given brands: the extract is idempotent.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal

import asyncpg
import structlog

from adolfd.sandbox import catalog
from adolfd.sandbox.accounts import BRANDS
from adolfd.sandbox.core import MSK, Sandbox

log = structlog.get_logger(__name__)

EXTRACT_TIME = time(6, 0)      # the extractor loads 1C data at 06:00 MSK (seed 000 §8.5)

BRAIN_TABLES = ("brain_stock_balance", "brain_customer_orders", "brain_supplier_orders", "brain_goods_receipts")

_COLUMNS = {
    "brain_stock_balance": ("extract_date", "brand_id", "article", "product_name", "warehouse_name", "quantity",
                            "loaded_at"),
    "brain_customer_orders": ("extract_date", "brand_id", "order_number", "order_date", "customer_name", "article",
                              "quantity", "amount", "status", "loaded_at"),
    "brain_supplier_orders": ("extract_date", "brand_id", "order_number", "order_date", "supplier_name", "article",
                              "quantity", "amount", "expected_date", "status", "loaded_at"),
    "brain_goods_receipts": ("extract_date", "brand_id", "document_number", "receipt_date", "supplier_name",
                             "article", "warehouse_name", "quantity", "amount", "loaded_at"),
}


def _records(table: str, seed: int, brand: str, now: datetime) -> list[tuple]:
    day = now.astimezone(MSK).date()
    if table == "brain_stock_balance":
        return [(day, brand, r.article, r.product_name, r.warehouse_name, r.quantity, now)
                for r in catalog.onec_stocks(seed, brand, day)]
    if table == "brain_customer_orders":
        return [(day, brand, x.number, x.doc_date, x.counterparty, x.article, x.quantity, _money(x.amount),
                 x.status, now) for x in _summed(catalog.customer_orders(seed, brand, day))]
    if table == "brain_supplier_orders":
        return [(day, brand, x.number, x.doc_date, x.counterparty, x.article, x.quantity, _money(x.amount),
                 x.expected_date, x.status, now) for x in _summed(catalog.supplier_orders(seed, brand, day))]
    return [(day, brand, x.number, x.doc_date, x.counterparty, x.article, x.warehouse_name, x.quantity,
             _money(x.amount), now) for x in _summed(catalog.goods_receipts(seed, brand, day))]


def _money(amount: float) -> Decimal:
    return Decimal(str(round(amount, 2)))


def _summed(lines: Iterable[catalog.OneCOrderLine]) -> list[catalog.OneCOrderLine]:
    """One line per (document, article), as the tables' unique keys require."""
    merged: dict[tuple[str, str], catalog.OneCOrderLine] = {}
    for line in lines:
        key = (line.number, line.article)
        known = merged.get(key)
        if known is None:
            merged[key] = line
        else:
            merged[key] = catalog.OneCOrderLine(
                known.brand, known.number, known.doc_date, known.counterparty, known.article,
                known.quantity + line.quantity, known.amount + line.amount, known.status, known.warehouse_name,
                known.expected_date,
            )
    return list(merged.values())


async def seed_brain_tables(
    conn: asyncpg.Connection,
    *,
    seed: int,
    now: datetime,
    brands: Iterable[str] = BRANDS,
    tables: Iterable[str] = BRAIN_TABLES,
) -> dict[str, int]:
    """Write the extract of `now`'s Moscow day with `loaded_at = now`; returns rows written per table.

    Re-running for the same day replaces that day's rows of these brands (no duplicates). Leave a table
    out of `tables` to let it go stale (check_brain_freshness tests).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    brands, tables = tuple(brands), tuple(tables)
    unknown = set(tables) - set(BRAIN_TABLES)
    if unknown:
        raise ValueError(f"unknown brain tables: {', '.join(sorted(unknown))}")
    for brand in brands:
        if brand not in BRANDS:
            raise ValueError(f"unknown brand {brand!r}; sandbox brands: {', '.join(BRANDS)}")
    day = now.astimezone(MSK).date()
    written: dict[str, int] = {}
    async with conn.transaction():
        for table in tables:
            await conn.execute(f"DELETE FROM {table} WHERE extract_date = $1 AND brand_id = ANY($2::text[])",
                               day, list(brands))
            records = [rec for brand in brands for rec in _records(table, seed, brand, now)]
            await conn.copy_records_to_table(table, records=records, columns=_COLUMNS[table])
            written[table] = len(records)
    return written


async def run_extractor(sandbox: Sandbox, database_url: str, *, poll_seconds: float = 30.0) -> None:
    """Load today's extract at start, then each Moscow day once the sandbox clock passes 06:00.

    Polls the sandbox clock, so a demo that advances the clock gets the next day's extract too. A failed
    load (e.g. the schema is not migrated yet) is logged and retried at the next poll.
    """
    loaded: date | None = None
    while True:
        now = sandbox.now()
        moscow = now.astimezone(MSK)
        due = loaded is None or (moscow.date() > loaded and moscow.time() >= EXTRACT_TIME)
        if due:
            try:
                conn = await asyncpg.connect(database_url)
                try:
                    written = await seed_brain_tables(conn, seed=sandbox.seed, now=now)
                finally:
                    await conn.close()
            except (OSError, asyncpg.PostgresError) as exc:
                log.error("sandbox_brain_extract_failed", error=str(exc))
            else:
                loaded = moscow.date()
                sandbox.count("brain_extracts", loaded.isoformat())
                log.info("sandbox_brain_extract_loaded", day=loaded.isoformat(), **written)
        await asyncio.sleep(poll_seconds)
