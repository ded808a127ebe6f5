"""Retention deletes in short transactions.

The bid history grows by up to a million rows a day per large account, so each night's retention removes about
as many. One `DELETE` of all of them is one transaction that grows with the accounts (seconds for a million rows
on a small host), holding back vacuum while it runs, and a job stopped halfway (SIGTERM, timeout) rolls all of
it back. Batches of rows, each committed on its own, keep every transaction short; a stopped run keeps what it
deleted and leaves the rest for the next."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import asyncpg

BATCH_ROWS = 10_000


async def delete_older(db: asyncpg.Pool | asyncpg.Connection, table: str, column: str, cutoff: date | datetime, *,
                       where: str = "", args: Sequence[Any] = (), batch: int = BATCH_ROWS,
                       stopping: Callable[[], bool] = lambda: False) -> int:
    """Delete `table`'s rows whose `column` is before `cutoff` (and `where`, an `AND …` clause over `$2…` =
    `args`), `batch` rows a transaction, until none is left or `stopping()`; returns how many went.

    `table`, `column` and `where` are adolfd's own identifiers, never input. Rows are found by their physical
    address (a TID scan), so a table needs no particular key."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    statement = (f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("
                 f"SELECT ctid FROM {table} WHERE {column} < $1 {where} LIMIT {int(batch)}))")
    deleted = 0
    while True:
        status = await db.execute(statement, cutoff, *args)
        gone = int(status.split()[-1])
        deleted += gone
        if gone == 0 or stopping():
            return deleted
