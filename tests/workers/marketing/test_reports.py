"""generate_report delivered as a file to the chat that asked (Bot API sendDocument on the sandbox)."""
from __future__ import annotations

import csv
import io
from datetime import date

from adolfd.engine.context import Ctx
from adolfd.engine.jobs import resolve
from adolfd.sandbox.accounts import TELEGRAM_BOT
from adolfd.sandbox.telegram import telegram_fake
from adolfd.workers.marketing.reports import generate_report
from pydantic import SecretStr


async def test_report_is_sent_to_the_chat_once(res, sandbox, run_job, monkeypatch, sync_campaigns):
    monkeypatch.setattr(res.settings.ops, "bot_token", SecretStr(TELEGRAM_BOT.token))
    await sync_campaigns()
    campaign = await res.db.fetchval("SELECT id FROM marketing_campaigns WHERE brand_id = 'ohana_market' LIMIT 1")
    await res.db.execute(
        "INSERT INTO marketing_stats_daily (campaign_id, marketplace, brand_id, stat_date, views, clicks, spent, "
        "orders, revenue, drr) SELECT id, marketplace, brand_id, '2026-01-05', 100, 10, 50, 1, 500, 10 "
        "FROM marketing_campaigns WHERE id = $1", campaign)
    chat = 111
    out = await run_job("marketing.generate_report", _job_id="report-1", date_from="2026-01-01",
                        date_to="2026-01-31", brand_id="ohana_market", chat_id=chat)
    assert out["success"], out
    fake = telegram_fake(sandbox.sandbox)
    [sent] = fake.messages(chat)
    assert sent.method == "sendDocument" and out["result"]["message_id"] == sent.message_id
    assert sent.document["file_name"] == "marketing_ohana_market_20260101_20260131.csv"
    rows = list(csv.DictReader(io.StringIO(sent.document["content"].decode())))
    assert [(r["stat_date"], r["spent"], r["drr"]) for r in rows] == [("2026-01-05", "50.00", "10.00")]
    # the same job again (a retry after the send): the mark keeps it from a second message
    again = await generate_report(Ctx(res, job_id="report-1", spec=resolve("marketing.generate_report")),
                                  date_from=date(2026, 1, 1), date_to=date(2026, 1, 31), brand_id="ohana_market",
                                  chat_id=chat)
    assert again["message_id"] == sent.message_id and len(fake.messages(chat)) == 1
