"""Reputation fixtures: fast HTTP retries, the sandbox's customer streams, polling a platform to pending replies."""
from __future__ import annotations

from typing import Any

import pytest
from adolfd.engine.jobs import resolve
from adolfd.engine.retry import RetryPolicy
from adolfd.sandbox import feedback_feed

# sandbox state key of each platform's customer stream (adolfd/sandbox/{wb_feedbacks,ozon_reviews,ym_feedback}.py)
FEEDS = {"wb": "wb-feedbacks", "ozon": "ozon-reviews", "ym": "ym-feedback"}
POLLS = {("wb", "review"): "poll_wb_reviews", ("wb", "question"): "poll_wb_questions",
         ("ozon", "review"): "poll_ozon_reviews", ("ozon", "question"): "poll_ozon_questions",
         ("ym", "review"): "poll_ym_reviews", ("ym", "question"): "poll_ym_questions"}


@pytest.fixture
def fast(res, monkeypatch):
    """One HTTP attempt per call and retries of the reputation jobs within milliseconds."""
    monkeypatch.setattr(res.settings.http, "attempts", 1)
    monkeypatch.setattr(res.settings.http, "backoff", 0.01)
    for name in ("analyze_item", "generate_response", "regenerate_response", "send_response",
                 *POLLS.values()):
        monkeypatch.setattr(resolve(f"reputation.{name}"), "retry", RetryPolicy(tries=1, delay=0.01))
    return res


@pytest.fixture
def feed(sandbox):
    """`feed("wb", backlog=3)`: shape a platform's customer stream before it is first read."""

    def configure(platform: str, **options: Any) -> dict[str, Any]:
        return feedback_feed.configure(sandbox.sandbox, FEEDS[platform], **options)

    return configure


@pytest.fixture
def replies(sandbox):
    """`replies("wb", "review", external_id)`: how many replies the sandbox marketplace received for an item."""

    def count(platform: str, kind: str, external_id: str) -> int:
        return feedback_feed.replies_published(sandbox.sandbox, FEEDS[platform], kind, external_id)

    return count


@pytest.fixture
def answers(sandbox):
    """`answers("wb", "review", external_id)`: the replies the sandbox marketplace holds for an item."""

    def held(platform: str, kind: str, external_id: str) -> list[dict[str, Any]]:
        return feedback_feed.answers(sandbox.sandbox, FEEDS[platform], kind, external_id)

    return held


@pytest.fixture
def poll(run_job):
    """`await poll("wb", "review")`: run the schedule's poll job and everything it enqueues."""

    async def run(platform: str, kind: str) -> dict[str, Any]:
        return await run_job(f"reputation.{POLLS[(platform, kind)]}")

    return run


@pytest.fixture
def items(res):
    async def fetch(**where: Any) -> list[dict[str, Any]]:
        clauses = " AND ".join(f"i.{k} = ${n}" for n, k in enumerate(where, start=1)) or "true"
        rows = await res.db.fetch(
            "SELECT i.*, r.draft_text, r.final_text, r.generation, r.publish_retry_count, r.publish_error, "
            "r.approved_by, r.auto_approved FROM reputation_items i "
            f"LEFT JOIN reputation_responses r ON r.item_id = i.id WHERE {clauses} ORDER BY i.id", *where.values())
        return [dict(r) for r in rows]

    return fetch
