"""Publishing an ad to our channel exactly once (seed 004 `publish_post_task`, queue publishing).

The post is claimed in PostgreSQL first (status `publishing`, a fresh attempt id, the time), so a duplicate job
finds nothing to claim. Then one Telegram call: text (`sendMessage`), one photo with the post as caption
(`sendPhoto`) or an album (`sendMediaGroup`, caption on the first photo), paced by the shared limiter (Telegram's
20 messages a minute per channel). What Telegram answers decides:

- sent → `published` with the message ids, written only if the claim is still ours;
- 429 → not sent: the claim is released and the job re-enqueued after `retry_after`;
- 5xx → not sent: released, and the job fails into its retry policy (exponential backoff);
- 403 (the bot is not an admin of the channel), 401 (a revoked token) and 400 (bad caption, file) → `failed`
  with Telegram's words and a critical alert: repeating the same call cannot succeed;
- no answer (timeout, connection lost after sending) or an unreadable one → `publish_unknown` and an alert:
  Telegram may have posted it, and the Bot API cannot tell us, so adolfd never sends it again by itself (an
  operator looks at the channel and publishes it with `publish-now` if it is not there).

A claim older than `publish_lease_seconds` belonged to a worker that died mid-send: the same reasoning makes it
`publish_unknown`, never a second send.
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from adolfd.clients.bot_api import (
    BotApi,
    BotBadRequest,
    BotBadResponse,
    BotForbidden,
    BotNetworkError,
    BotRetryAfter,
    BotServerError,
    BotUnauthorized,
)
from adolfd.cron import CARSBOT_RETRY
from adolfd.engine.arguments import Id
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import job
from adolfd.keys import CARSBOT_PUBLISH_AGAIN_JOB as PUBLISH_AGAIN_JOB
from adolfd.workers.carsbot.resources import carsbot_bot

ALBUM_MAX = 10

_CLAIM = """
UPDATE carsbot_posts SET status = 'publishing', publish_attempt = $2, publish_started_at = $3, updated_at = $3
WHERE id = $1 AND status = 'ready'
RETURNING *
"""

_EXPIRED_CLAIM = """
UPDATE carsbot_posts SET status = 'publish_unknown', updated_at = $2,
       error = 'the worker sending this post stopped mid-send; check the channel before publishing again'
WHERE id = $1 AND status = 'publishing' AND publish_started_at <= $3
RETURNING id
"""


async def _send(bot: BotApi, chat_id: int, text: str, photos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Messages Telegram made of the post."""
    if not photos:
        return [await bot.send_message(chat_id, text, parse_mode="HTML")]
    if len(photos) == 1:
        return [await bot.send_photo(chat_id, photos[0]["file_id"], caption=text, parse_mode="HTML")]
    media = [{"type": "photo", "media": p["file_id"], **({"caption": text, "parse_mode": "HTML"} if i == 0 else {})}
             for i, p in enumerate(photos[:ALBUM_MAX])]
    return await bot.send_media_group(chat_id, media)


async def _settle(ctx: Ctx, post_id: int, attempt: uuid.UUID, status: str, *, error: str | None = None,
                  message_ids: list[int] | None = None) -> bool:
    """Write the outcome only if the claim is still ours."""
    return await ctx.db.fetchval(
        "UPDATE carsbot_posts SET status = $3, error = $4, published_message_ids = coalesce($5, published_message_ids),"
        " published_at = CASE WHEN $3 = 'published' THEN $6 ELSE published_at END, updated_at = $6 "
        "WHERE id = $1 AND publish_attempt = $2 RETURNING true",
        post_id, attempt, status, error, message_ids, ctx.now()) is not None


@job(queue="publishing", retry=CARSBOT_RETRY, timeout=1800, soft_timeout=1500, manual=True)
async def publish_post_task(ctx: Ctx, post_id: Id) -> dict:
    """Send one ready post to the target channel, once (module docstring)."""
    now = ctx.now()
    lease = timedelta(seconds=ctx.settings.carsbot.publish_lease_seconds)
    if await ctx.db.fetchval(_EXPIRED_CLAIM, post_id, now, now - lease):
        await ctx.alert("PUBLISH_UNKNOWN", "high", f"Пост {post_id}: отправка прервалась, проверьте канал",
                        dedup_key=f"carsbot:publish_unknown:{post_id}", post_id=post_id)
        return {"status": "publish_unknown", "post_id": post_id}
    attempt = uuid.uuid4()
    post = await ctx.db.fetchrow(_CLAIM, post_id, attempt, now)
    if post is None:
        status = await ctx.db.fetchval("SELECT status FROM carsbot_posts WHERE id = $1", post_id)
        if status is None:
            raise LookupError(f"no carsbot post {post_id}")
        return {"status": "skipped", "post_id": post_id, "post_status": status}
    target = ctx.settings.carsbot.target_channel_id
    if not target:
        await _settle(ctx, post_id, attempt, "ready")
        raise LookupError("no target channel configured (ADOLFD_CARSBOT__TARGET_CHANNEL_ID)")
    try:
        sent = await _send(carsbot_bot(ctx), target, post["generated_text"], post["photos"])
    except BotRetryAfter as exc:
        await _settle(ctx, post_id, attempt, "ready")
        await ctx.enqueue("carsbot.publish_post_task", post_id=post_id, _defer_by=float(exc.retry_after),
                          _job_id=PUBLISH_AGAIN_JOB.format(post_id=post_id, reason="429", n=attempt.hex[:8]))
        return {"status": "rate_limited", "post_id": post_id, "retry_in": exc.retry_after}
    except BotServerError:
        await _settle(ctx, post_id, attempt, "ready")
        raise
    except (BotForbidden, BotUnauthorized, BotBadRequest) as exc:
        await _settle(ctx, post_id, attempt, "failed", error=exc.description[:500])
        await ctx.alert("PUBLISH_FAILED", "critical", f"Пост {post_id} не опубликован: {exc.description}",
                        dedup_key=f"carsbot:publish_failed:{post_id}", post_id=post_id)
        return {"status": "failed", "post_id": post_id, "error": exc.description}
    except (BotNetworkError, BotBadResponse) as exc:
        await _settle(ctx, post_id, attempt, "publish_unknown",
                      error=f"no usable answer from Telegram: {exc.description}"[:500])
        await ctx.alert("PUBLISH_UNKNOWN", "high", f"Пост {post_id}: Telegram не ответил, проверьте канал",
                        dedup_key=f"carsbot:publish_unknown:{post_id}", post_id=post_id)
        return {"status": "publish_unknown", "post_id": post_id}
    ids = [m["message_id"] for m in sent]
    await _settle(ctx, post_id, attempt, "published", message_ids=ids)
    return {"status": "published", "post_id": post_id, "message_ids": ids}
