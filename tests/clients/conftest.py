"""Client test helpers."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
import pytest


@dataclass
class ParallelProbe:
    """A Yandex Market bids endpoint (MockTransport) that answers every call after `seconds` and records the
    most requests it had in progress at once."""

    seconds: float
    running: int = 0
    peak: int = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.running += 1
        self.peak = max(self.peak, self.running)
        await asyncio.sleep(self.seconds)
        self.running -= 1
        return httpx.Response(200, json={"status": "OK", "result": {"bids": [{"sku": "A", "bid": 500}]}})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url="https://ym.test", transport=httpx.MockTransport(self.handle))


@pytest.fixture
def parallel_probe():
    """`parallel_probe(seconds)`: a fresh `ParallelProbe`."""
    return ParallelProbe
