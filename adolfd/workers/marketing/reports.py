"""CSV reports of daily campaign figures (seed 002 §7.1 `generate_report`), written on the worker host and, when
asked from a chat (the bot's /report, or `chat_id=` from the CLI), sent to that chat as a file."""
from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

from adolfd.engine.arguments import BrandId, ChatId, Id, JobDate
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import BadArguments
from adolfd.keys import MARKETING_REPORT_SENT as REPORT_SENT
from adolfd.workers.marketing.alerts import marketing_job

REPORT_COLUMNS = ("stat_date", "brand_id", "marketplace", "campaign_id", "campaign", "views", "clicks", "ctr",
                  "spent", "cpc", "orders", "revenue", "cpo", "drr")


@marketing_job(queue="low", timeout=600)
async def generate_report(ctx: Ctx, date_from: JobDate, date_to: JobDate, campaign_id: Id | None = None,
                          brand_id: BrandId | None = None, chat_id: ChatId | None = None) -> dict:
    """A CSV of daily campaign figures for one campaign or one brand over a period; the path is in the result.
    The same request writes the same file (replaced atomically). With `chat_id` the file is sent to that chat
    (Bot API sendDocument); a retry after a send that succeeded does not send it again (a per-job mark)."""
    if date_to < date_from:
        raise BadArguments("date_to is before date_from")
    if (campaign_id is None) == (brand_id is None):
        raise BadArguments("give campaign_id or brand_id (one of them)")
    if brand_id is not None:
        ctx.brands(brand_id)
    rows = await ctx.db.fetch(
        "SELECT d.stat_date, d.brand_id, d.marketplace, d.campaign_id, c.name AS campaign, d.views, d.clicks, d.ctr, "
        "d.spent, d.cpc, d.orders, d.revenue, d.cpo, d.drr FROM marketing_stats_daily d "
        "JOIN marketing_campaigns c ON c.id = d.campaign_id WHERE d.keyword_id IS NULL "
        "AND d.stat_date BETWEEN $1 AND $2 AND ($3::bigint IS NULL OR d.campaign_id = $3) "
        "AND ($4::text IS NULL OR d.brand_id = $4) ORDER BY d.stat_date, d.campaign_id",
        date_from, date_to, campaign_id, brand_id)
    scope = f"campaign{campaign_id}" if campaign_id is not None else brand_id
    folder = Path(ctx.settings.report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"marketing_{scope}_{date_from:%Y%m%d}_{date_to:%Y%m%d}.csv"
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    with partial.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(REPORT_COLUMNS)
        for r in rows:
            writer.writerow([r[c] for c in REPORT_COLUMNS])
    partial.replace(path)
    result: dict = {"path": str(path), "rows": len(rows), "date_from": date_from.isoformat(),
                    "date_to": date_to.isoformat()}
    if chat_id is not None:
        result["sent_to"] = chat_id
        result["message_id"] = await _send_report(ctx, chat_id, path, len(rows), date_from, date_to)
    return result


async def _send_report(ctx: Ctx, chat_id: int, path: Path, rows: int, date_from: date, date_to: date) -> int:
    from adolfd.clients.bot_api import admin_bot

    mark = REPORT_SENT.format(job_id=ctx.job_id)
    sent = await ctx.redis.get(mark)
    if sent is not None:
        return int(sent)
    message = await admin_bot(ctx.res).send_document(
        chat_id, path.name, path.read_bytes(), mime_type="text/csv",
        caption=f"Отчёт по рекламе {date_from:%d.%m.%Y}–{date_to:%d.%m.%Y}: {rows} строк")
    message_id: int = message["message_id"]
    await ctx.redis.set(mark, message_id, ex=86400)
    ctx.log.info("report_sent", chat_id=chat_id, file=path.name, rows=rows, message_id=message_id)
    return message_id
