"""Marketing test helpers: sandbox-backed campaigns configured the way an operator would."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from adolfd.engine.jobs import resolve
from adolfd.engine.retry import RetryPolicy
from adolfd.settings import CampaignDefaults


@pytest.fixture(autouse=True)
def campaigns_arrive_manual(res, monkeypatch):
    """These tests set each campaign's strategy and limits themselves (`configure`): new campaigns arrive
    `manual` without a limit here, not with the production defaults (test_campaign_admin.py covers those)."""
    monkeypatch.setattr(res.settings.marketing, "campaign_defaults",
                        CampaignDefaults(strategy="manual", target_drr=None, daily_limit_rub=None))


@pytest.fixture
def configure(res):
    """`await configure(marketplace, brand=None, **columns)`: set strategy/limits on the synced campaigns."""

    async def run(marketplace: str, brand: str | None = None, external_id: str | None = None,
                  **columns: Any) -> list[int]:
        sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(columns, start=4))
        rows = await res.db.fetch(
            f"UPDATE marketing_campaigns SET {sets} WHERE marketplace = $1 AND ($2::text IS NULL OR brand_id = $2) "
            f"AND ($3::text IS NULL OR external_id = $3) RETURNING id",
            marketplace, brand, external_id,
            *[Decimal(str(v)) if isinstance(v, float) else v for v in columns.values()])
        return [r["id"] for r in rows]

    return run


@pytest.fixture
def fast_retries(monkeypatch):
    """Give marketing jobs retries that wait milliseconds."""

    def run(name: str, tries: int = 2) -> None:
        monkeypatch.setattr(resolve(name), "retry", RetryPolicy(tries=tries, delay=0.01))

    return run


@pytest.fixture
def sync_campaigns(from_snapshot, run_job):
    """`await sync_campaigns()`: the campaigns and keywords of every account synced from the sandbox
    (`marketing.sync_campaigns`, new campaigns `manual`). The sync is rate-limited (seconds), so it runs once a
    session and later tests start from a restored copy of the state it left (tables, Redis, sandbox)."""

    async def build() -> dict[str, Any]:
        result = await run_job("marketing.sync_campaigns")
        assert result["success"], result
        return result

    async def run() -> dict[str, Any]:
        return await from_snapshot("marketing.sync_campaigns", build)

    return run
