"""What an operator does with carsbot (CLI `adolfd carsbot …`, admin bot `/cars_…`): list posts, re-process or
skip one, publish now, sync now, subscriptions ending this week, hand in posts from a file. Plain async functions
over `Ctx`."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from adolfd.engine.context import Ctx
from adolfd.keys import CARSBOT_PROCESS_AGAIN_JOB as PROCESS_AGAIN_JOB
from adolfd.keys import CARSBOT_PUBLISH_AGAIN_JOB as PUBLISH_AGAIN_JOB
from adolfd.keys import CARSBOT_RUN_NOW_JOB
from adolfd.workers.carsbot.pipeline import BadPost, store_post

STATUSES = ("new", "processing", "waiting_llm", "rejected", "duplicate", "ready", "publishing", "published",
            "publish_unknown", "failed", "skipped")


async def posts_by_status(ctx: Ctx, status: str | None = None, limit: int = 20) -> dict[str, Any]:
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown post status {status!r}; statuses: {', '.join(STATUSES)}")
    counts = {r["status"]: r["n"] for r in await ctx.db.fetch(
        "SELECT status, count(*) AS n FROM carsbot_posts GROUP BY status ORDER BY status")}
    rows = await ctx.db.fetch(
        "SELECT id, channel_id, status, received_at, left(text, 60) AS text, error FROM carsbot_posts "
        "WHERE $1::text IS NULL OR status = $1 ORDER BY id DESC LIMIT $2", status, limit)
    return {"counts": counts, "posts": [{**dict(r), "received_at": r["received_at"].isoformat()} for r in rows]}


async def reprocess(ctx: Ctx, post_id: int) -> dict[str, Any]:
    """Run the pipeline on a post again (rejected, failed, duplicate, waiting for the LLM)."""
    done = await ctx.db.fetchval(
        "UPDATE carsbot_posts SET status = 'new', duplicate_of = NULL, error = NULL, updated_at = $2 WHERE id = $1 "
        "AND status IN ('rejected', 'failed', 'duplicate', 'waiting_llm', 'skipped') RETURNING id", post_id, ctx.now())
    if done is None:
        raise ValueError(f"post {post_id} does not exist or is not rejected, failed, duplicate, waiting or skipped")
    job_id = PROCESS_AGAIN_JOB.format(post_id=post_id, reason="operator", n=int(ctx.now().timestamp()))
    await ctx.enqueue("carsbot.process_post_task", post_id=post_id, _job_id=job_id)
    return {"post_id": post_id, "status": "new", "job_id": job_id}


async def skip(ctx: Ctx, post_id: int) -> dict[str, Any]:
    done = await ctx.db.fetchval(
        "UPDATE carsbot_posts SET status = 'skipped', updated_at = $2 WHERE id = $1 "
        "AND status NOT IN ('published', 'publishing') RETURNING id", post_id, ctx.now())
    if done is None:
        raise ValueError(f"post {post_id} does not exist or is published / being published")
    return {"post_id": post_id, "status": "skipped"}


async def publish_now(ctx: Ctx, post_id: int) -> dict[str, Any]:
    """Publish a ready post now, or one the operator checked is not in the channel (publish_unknown, failed)."""
    try:
        done = await ctx.db.fetchval(
            "UPDATE carsbot_posts SET status = 'ready', publish_attempt = NULL, error = NULL, updated_at = $2 "
            "WHERE id = $1 AND status IN ('ready', 'publish_unknown', 'failed') AND generated_text IS NOT NULL "
            "RETURNING id", post_id, ctx.now())
    except asyncpg.UniqueViolationError:
        raise ValueError(f"the same ad as post {post_id} is already published or on its way") from None
    if done is None:
        raise ValueError(f"post {post_id} is not ready, failed or publish_unknown (or has no text yet)")
    job_id = PUBLISH_AGAIN_JOB.format(post_id=post_id, reason="operator", n=int(ctx.now().timestamp()))
    await ctx.enqueue("carsbot.publish_post_task", post_id=post_id, _job_id=job_id)
    return {"post_id": post_id, "job_id": job_id}


async def sync_now(ctx: Ctx) -> dict[str, Any]:
    stamp = int(ctx.now().timestamp())
    return {job: await ctx.enqueue(f"carsbot.{job}", _job_id=CARSBOT_RUN_NOW_JOB.format(job=job, stamp=stamp))
            for job in ("sync_channels_task", "sync_subscribers_task")}


async def expiring_this_week(ctx: Ctx) -> list[dict[str, Any]]:
    today = ctx.now().date()
    rows = await ctx.db.fetch(
        "SELECT telegram_id, username, plan, expires_on FROM carsbot_subscribers WHERE is_active "
        "AND expires_on >= $1 AND expires_on < $2 ORDER BY expires_on, telegram_id", today, today + timedelta(days=7))
    return [{**dict(r), "expires_on": r["expires_on"].isoformat()} for r in rows]


async def ingest_file(ctx: Ctx, path: Path) -> dict[str, Any]:
    """One Telegram Message object per line (docs/carsbot.md "Posts in"); a bad line is reported, not fatal."""
    outcome: dict[str, Any] = {"stored": 0, "merged": 0, "ignored": 0, "errors": []}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                message = json.loads(line)
                if not isinstance(message, dict):
                    raise BadPost("a line must be one JSON object")
                result = await store_post(ctx, message.get("channel_post") or message)
            except (ValueError, BadPost) as exc:
                outcome["errors"].append({"line": number, "error": str(exc)[:200]})
                continue
            outcome[result["status"]] = outcome.get(result["status"], 0) + 1
    return outcome
