"""Fixtures for the sandbox's own tests: a fresh sandbox per test on a free port, frozen at a known time."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
from adolfd.sandbox import RunningSandbox, start_sandbox
from adolfd.sandbox.accounts import ACCOUNTS
from adolfd.sandbox.core import MSK

SEED = 42
# a Tuesday noon in Moscow: far from midnight, so "today" cannot change under a test
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=MSK)


def ozon_headers(brand: str = "ohana_market") -> dict[str, str]:
    account = ACCOUNTS[brand].ozon_seller
    return {"Client-Id": account.client_id, "Api-Key": account.api_key}


@pytest.fixture
async def running() -> AsyncIterator[RunningSandbox]:
    """A fresh sandbox; its clock is frozen at NOON (rate buckets refill only when a test advances it)."""
    sandbox = await start_sandbox(port=0, seed=SEED)
    sandbox.sandbox.set_now(NOON, frozen=True)
    yield sandbox
    await sandbox.close()


@pytest.fixture
async def control(running: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=running.url, timeout=5) as client:
        yield client


@pytest.fixture
async def ozon(running: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """An Ozon Seller client of ohana_market pointed at the sandbox."""
    async with httpx.AsyncClient(base_url=running.api_url("ozon-seller"), headers=ozon_headers(), timeout=5) as client:
        yield client
