"""Posts in, through the AI pipeline (seed 004 "AI обработка", queue ai_processing → `ai`).

Posts arrive as Telegram `Message` objects (the carsbot bot's `channel_post` / `edited_channel_post`, or
`adolfd carsbot ingest FILE.jsonl` from an external monitor; docs/carsbot.md "Posts in"). Each is stored once per
(channel, message id); the several updates of one album share a `media_group_id` and become one post, whose
processing waits `album_wait_seconds` so the album is complete. Posts of channels not in the channels sheet (or
inactive there) are ignored.

`process_post_task` classifies, extracts and generates through the configured LLM provider, then hands a new
ad to `publish_post_task`. The same ad already published (or on its way) from another channel makes the post a
`duplicate`. An LLM outage (`Unavailable`, `RateLimited`) parks the post in `waiting_llm` and re-enqueues it with
a doubling delay capped at `llm_retry_max_seconds`, for as long as it takes: no post is stranded.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from adolfd.clients.errors import ApiError
from adolfd.cron import CARSBOT_RETRY
from adolfd.domain.carsbot.answers import (
    CarAdFields,
    CarAdVerdict,
    CarPostText,
    classification_prompt,
    extraction_prompt,
    generation_prompt,
)
from adolfd.domain.carsbot.post_text import CAPTION_LIMIT, TEXT_LIMIT, fingerprint
from adolfd.engine.arguments import Id
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.errors import is_retryable
from adolfd.keys import CARSBOT_PROCESS_AGAIN_JOB as PROCESS_AGAIN_JOB
from adolfd.keys import CARSBOT_PROCESS_JOB as PROCESS_JOB
from adolfd.keys import CARSBOT_PUBLISH_JOB as PUBLISH_JOB
from adolfd.workers.carsbot.resources import llm

PROCESSABLE = ("new", "waiting_llm", "processing")
LLM_FIRST_WAIT = 60.0


class BadPost(ValueError):
    """A handed-in post is not a Telegram channel message (the error says which field)."""


def post_of_message(message: dict[str, Any]) -> dict[str, Any]:
    """A Telegram `Message` (channel post) → the row to store; raises BadPost naming what is missing."""
    try:
        channel_id = int(message["chat"]["id"])
        message_id = int(message["message_id"])
    except (KeyError, TypeError, ValueError):
        raise BadPost("a post needs message_id and chat.id (a Telegram Message object)") from None
    photos = message.get("photo") or []
    if not isinstance(photos, list):
        raise BadPost("photo must be a list of PhotoSize objects")
    largest = max(photos, key=lambda p: (p.get("width", 0) * p.get("height", 0), p.get("file_size", 0)),
                  default=None)
    group = message.get("media_group_id")
    date = message.get("date")
    return {
        "channel_id": channel_id, "message_id": message_id, "media_group_id": str(group) if group else None,
        "source_key": f"album:{group}" if group else f"msg:{message_id}",
        "text": str(message.get("text") or message.get("caption") or ""),
        "photos": [{"message_id": message_id, "file_id": largest["file_id"]}] if largest else [],
        "posted_at": datetime.fromtimestamp(int(date), UTC) if isinstance(date, (int, float)) else None,
    }


# An album part merges into its post: photos added in message order, the caption taken if the post had none. A
# caption arriving after the captionless parts were already rejected (a part later than album_wait_seconds)
# makes the post `new` again (`revived`), to be processed with its text.
_STORE = """
WITH before AS (SELECT status FROM carsbot_posts WHERE channel_id = $1 AND source_key = $2),
stored AS (
INSERT INTO carsbot_posts (channel_id, source_key, message_id, media_group_id, text, photos, posted_at, received_at,
                           updated_at)
SELECT $1, $2, $3, $4, $5, $6::jsonb, $7, $8, $8
WHERE EXISTS (SELECT 1 FROM carsbot_channels WHERE channel_id = $1 AND is_active)
ON CONFLICT (channel_id, source_key) DO UPDATE SET
    text = CASE WHEN carsbot_posts.text = '' THEN EXCLUDED.text ELSE carsbot_posts.text END,
    status = CASE WHEN carsbot_posts.text = '' AND EXCLUDED.text <> '' AND carsbot_posts.status = 'rejected'
                  THEN 'new' ELSE carsbot_posts.status END,
    photos = (SELECT coalesce(jsonb_agg(p ORDER BY (p->>'message_id')::bigint), '[]'::jsonb)
              FROM (SELECT DISTINCT ON (x->>'message_id') x AS p
                    FROM jsonb_array_elements(carsbot_posts.photos || EXCLUDED.photos) AS x) AS merged),
    message_id = least(carsbot_posts.message_id, EXCLUDED.message_id),
    updated_at = EXCLUDED.updated_at
RETURNING id, (xmax = 0) AS inserted, status)
SELECT stored.*, (SELECT status FROM before) = 'rejected' AND stored.status = 'new' AS revived FROM stored
"""

_EDIT = """
UPDATE carsbot_posts SET text = $3, edited_at = $4, updated_at = $4,
       status = CASE WHEN status IN ('rejected', 'failed') THEN 'new' ELSE status END
WHERE channel_id = $1 AND source_key = $2 AND status IN ('new', 'waiting_llm', 'rejected', 'failed')
      AND text IS DISTINCT FROM $3
RETURNING id
"""


async def store_post(ctx: Ctx, message: dict[str, Any], *, edited: bool = False) -> dict[str, Any]:
    """Store one channel post (or album part, or edit) and enqueue its processing once."""
    post = post_of_message(message)
    now = ctx.now()
    if edited:
        post_id = await ctx.db.fetchval(_EDIT, post["channel_id"], post["source_key"], post["text"], now)
        if post_id is None:
            return {"status": "ignored", "reason": "unknown, unchanged or already processed"}
        await ctx.enqueue("carsbot.process_post_task", post_id=post_id, _job_id=PROCESS_AGAIN_JOB.format(
            post_id=post_id, reason="edit", n=int(now.timestamp())))
        return {"status": "edited", "post_id": post_id}
    row = await ctx.db.fetchrow(_STORE, post["channel_id"], post["source_key"], post["message_id"],
                                post["media_group_id"], post["text"], post["photos"],
                                post["posted_at"], now)
    if row is None:
        return {"status": "ignored", "reason": f"channel {post['channel_id']} is not monitored"}
    if row["revived"]:
        await ctx.enqueue("carsbot.process_post_task", post_id=row["id"], _job_id=PROCESS_AGAIN_JOB.format(
            post_id=row["id"], reason="caption", n=post["message_id"]))
        return {"status": "merged", "post_id": row["id"], "reprocess": True}
    wait = ctx.settings.carsbot.album_wait_seconds if post["media_group_id"] else None
    await ctx.enqueue("carsbot.process_post_task", post_id=row["id"],
                      _job_id=PROCESS_JOB.format(post_id=row["id"]), _defer_by=wait)
    return {"status": "stored" if row["inserted"] else "merged", "post_id": row["id"]}


async def _wait_for_llm(ctx: Ctx, post: asyncpg.Record, error: ApiError) -> dict[str, Any]:
    waits = await ctx.db.fetchval(
        "UPDATE carsbot_posts SET status = 'waiting_llm', error = $2, updated_at = $3 WHERE id = $1 "
        "RETURNING process_tries", post["id"], str(error)[:500], ctx.now())
    delay = min(LLM_FIRST_WAIT * 2 ** max(waits - 1, 0), ctx.settings.carsbot.llm_retry_max_seconds)
    await ctx.enqueue("carsbot.process_post_task", post_id=post["id"], _defer_by=delay,
                      _job_id=PROCESS_AGAIN_JOB.format(post_id=post["id"], reason="llm", n=waits))
    ctx.log.warning("carsbot_llm_unavailable", post_id=post["id"], retry_in=delay, error=str(error)[:200])
    return {"status": "waiting_llm", "post_id": post["id"], "retry_in": delay}


_READY = """
UPDATE carsbot_posts SET status = 'ready', is_ad = true, verdict = $2, fields = $3, fingerprint = $4,
       generated_text = $5, error = NULL, updated_at = $6
WHERE id = $1
"""

_DUPLICATE = """
UPDATE carsbot_posts SET status = 'duplicate', is_ad = true, verdict = $2, fields = $3, fingerprint = $4,
       duplicate_of = (SELECT id FROM carsbot_posts WHERE fingerprint = $4
                       AND status IN ('ready', 'publishing', 'published', 'publish_unknown') LIMIT 1),
       error = NULL, updated_at = $5
WHERE id = $1
"""


@job(queue="ai", retry=CARSBOT_RETRY, timeout=1800, soft_timeout=1500, manual=True)
async def process_post_task(ctx: Ctx, post_id: Id) -> dict:
    """Classify → extract → generate one post (seed 004 `process_post_task`). Safe to repeat: only a post still
    new, waiting for the LLM, or interrupted mid-processing is worked on."""
    post = await ctx.db.fetchrow(
        "UPDATE carsbot_posts SET status = 'processing', process_tries = process_tries + 1, updated_at = $2 "
        "WHERE id = $1 AND status = ANY($3::text[]) RETURNING *", post_id, ctx.now(), list(PROCESSABLE))
    if post is None:
        status = await ctx.db.fetchval("SELECT status FROM carsbot_posts WHERE id = $1", post_id)
        if status is None:
            raise LookupError(f"no carsbot post {post_id}")
        return {"status": "skipped", "post_id": post_id, "post_status": status}
    provider, text, max_year = llm(ctx), post["text"], ctx.now().year + 1
    try:
        verdict = await provider.complete_json(classification_prompt(text, max_year), CarAdVerdict)
        if not verdict.is_ad:
            await ctx.db.execute("UPDATE carsbot_posts SET status = 'rejected', is_ad = false, verdict = $2, "
                                 "error = NULL, updated_at = $3 WHERE id = $1",
                                 post_id, verdict.model_dump(), ctx.now())
            return {"status": "rejected", "post_id": post_id, "reasons": verdict.reasons}
        fields = await provider.complete_json(extraction_prompt(text, max_year), CarAdFields)
        limit = CAPTION_LIMIT if post["photos"] else TEXT_LIMIT
        generated = await provider.complete_json(generation_prompt(text, fields, limit), CarPostText)
    except ApiError as exc:
        if is_retryable(exc):
            return await _wait_for_llm(ctx, post, exc)
        await ctx.db.execute("UPDATE carsbot_posts SET status = 'failed', error = $2, updated_at = $3 WHERE id = $1",
                             post_id, str(exc)[:500], ctx.now())
        raise
    identity = fingerprint(fields.to_ad(), text)
    try:
        await ctx.db.execute(_READY, post_id, verdict.model_dump(), fields.model_dump(), identity, generated.text,
                             ctx.now())
    except asyncpg.UniqueViolationError:
        await ctx.db.execute(_DUPLICATE, post_id, verdict.model_dump(), fields.model_dump(), identity, ctx.now())
        return {"status": "duplicate", "post_id": post_id}
    await ctx.enqueue("carsbot.publish_post_task", post_id=post_id, _job_id=PUBLISH_JOB.format(post_id=post_id))
    return {"status": "ready", "post_id": post_id, "fields": fields.model_dump()}
