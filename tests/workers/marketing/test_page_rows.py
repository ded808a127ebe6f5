"""Pages of many campaigns read in one statement (PageRows): which pages share a statement, and what a failing
statement does to the campaigns waiting on it."""
from __future__ import annotations

import asyncio

import pytest
from adolfd.workers.marketing.page_rows import PageRows


class Statements:
    """Stands in for the page statement: answers each unit with its campaign and name, after `hold` seconds;
    remembers what each statement carried, and fails the ones that carry a unit named in `failing`."""

    def __init__(self, hold: float = 0.0, failing: tuple[str, ...] = ()) -> None:
        self.hold, self.failing = hold, failing
        self.carried: list[list[tuple[int, str]]] = []

    async def __call__(self, units: list[tuple[int, str]]) -> dict:
        self.carried.append(units)
        await asyncio.sleep(self.hold)
        if any(u in self.failing for _, u in units):
            raise RuntimeError("statement failed")
        return {(cid, u): f"row {cid}/{u}" for cid, u in units}


async def test_pages_handed_in_together_share_one_statement():
    statements = Statements()
    pages = PageRows[str, str](statements, asyncio.Semaphore(4))
    found = await asyncio.gather(*(pages.rows(cid, [f"u{cid}a", f"u{cid}b"]) for cid in range(20)))
    assert len(statements.carried) == 1 and len(statements.carried[0]) == 40
    assert all(found[cid][(cid, f"u{cid}b")] == f"row {cid}/u{cid}b" for cid in range(20))


async def test_a_page_handed_in_during_a_statement_goes_in_the_next():
    statements = Statements(hold=0.05)
    pages = PageRows[str, str](statements, asyncio.Semaphore(4))
    first = asyncio.create_task(pages.rows(1, ["a"]))
    await asyncio.sleep(0.01)                               # the first statement is running
    later = [asyncio.create_task(pages.rows(cid, ["b"])) for cid in (2, 3)]
    await asyncio.gather(first, *later)
    assert statements.carried == [[(1, "a")], [(2, "b"), (3, "b")]]


async def test_a_statement_carries_whole_pages_up_to_its_size():
    statements = Statements()
    pages = PageRows[str, str](statements, asyncio.Semaphore(4), most=5)
    await asyncio.gather(*(pages.rows(cid, ["x", "y", "z"]) for cid in range(4)))
    assert [len(units) for units in statements.carried] == [3, 3, 3, 3]      # 3 + 3 > 5: a page is never split
    big = PageRows[str, str](statements, asyncio.Semaphore(4), most=5)
    assert len(await big.rows(9, [str(n) for n in range(8)])) == 8           # a page larger than `most` still goes


async def test_a_failing_statement_fails_its_pages_and_the_next_one_still_runs():
    statements = Statements(hold=0.02, failing=("bad",))
    pages = PageRows[str, str](statements, asyncio.Semaphore(1))
    failed = asyncio.create_task(pages.rows(1, ["bad"]))
    await asyncio.sleep(0.005)
    fine = asyncio.create_task(pages.rows(2, ["good"]))
    with pytest.raises(RuntimeError, match="statement failed"):
        await failed
    assert await fine == {(2, "good"): "row 2/good"}


async def test_statements_in_flight_are_bounded_by_the_shared_gate():
    running = 0
    most_at_once = 0

    async def statement(units: list[tuple[int, str]]) -> dict:
        nonlocal running, most_at_once
        running += 1
        most_at_once = max(most_at_once, running)
        await asyncio.sleep(0.02)
        running -= 1
        return {(cid, u): u for cid, u in units}

    gate = asyncio.Semaphore(2)
    accounts = [PageRows[str, str](statement, gate) for _ in range(5)]     # five accounts of one cycle
    await asyncio.gather(*(account.rows(1, ["a"]) for account in accounts))
    assert most_at_once == 2
