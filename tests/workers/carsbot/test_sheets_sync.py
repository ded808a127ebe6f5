"""Channels and subscribers mirrored from the sheet; garbled rows; Sheets 429 and 5xx; overlapping syncs."""
from __future__ import annotations

import asyncio
from datetime import date

from adolfd.sandbox.google_sheets import SPREADSHEET_ID, tab_values

from .conftest import CHANNEL, CHANNELS, OTHER_CHANNEL


async def _channels(res):
    return {r["channel_id"]: dict(r) for r in await res.db.fetch("SELECT * FROM carsbot_channels")}


async def test_rows_added_changed_and_removed_are_mirrored(res, sheet, run_job):
    sheet("Каналы", CHANNELS)
    first = await run_job("carsbot.sync_channels_task")
    assert first["result"]["upserted"] == 2 and first["result"]["deactivated"] == 0
    sheet("Каналы", [CHANNELS[0], [str(CHANNEL), "@auto_msk", "Авто Москва (новое)", "нет"],
                     ["-1001000000003", "", "Авто Казань", ""]])
    second = await run_job("carsbot.sync_channels_task", _job_id="again")
    assert second["result"] == {"status": "success", "upserted": 2, "deactivated": 1, "issues": []}
    rows = await _channels(res)
    assert rows[CHANNEL]["title"] == "Авто Москва (новое)" and not rows[CHANNEL]["is_active"]
    assert not rows[OTHER_CHANNEL]["is_active"] and not rows[OTHER_CHANNEL]["in_sheet"]
    assert rows[-1001000000003]["is_active"] and rows[-1001000000003]["sheet_row"] == 3


async def test_garbled_rows_are_reported_and_the_rest_syncs(res, sheet, run_job):
    sheet("Подписчики", [["Telegram ID", "username", "plan", "expires_at"],
                         ["700000001", "ivan", "pro", "2026-04-01"],
                         ["abc", "", "pro", "2026-04-01"],
                         ["700000003", "", "pro", "вчера"],
                         ["", "petr", "", ""],
                         ["700000005", "", "", "15.04.2026"]])
    out = await run_job("carsbot.sync_subscribers_task")
    assert out["result"]["upserted"] == 2
    assert [i["row"] for i in out["result"]["issues"]] == [3, 4, 5]
    subs = {r["telegram_id"]: r for r in await res.db.fetch("SELECT * FROM carsbot_subscribers")}
    assert subs[700000005]["expires_on"] == date(2026, 4, 15) and subs[700000005]["plan"] == "basic"
    alert = await res.db.fetchrow("SELECT * FROM alerts WHERE alert_type = 'SHEET_ROWS_INVALID'")
    assert alert["severity"] == "warning" and "row 3" in alert["message"] and "row 4" in alert["message"]
    await run_job("carsbot.sync_subscribers_task", _job_id="again")
    assert await res.db.fetchval("SELECT count(*) FROM alerts") == 1          # the same problems alert once


async def test_a_renamed_required_header_changes_nothing(res, sheet, run_job, channels):
    await channels()
    sheet("Каналы", [["канал", "username", "title", "active"], [str(CHANNEL), "", "", ""]])
    out = await run_job("carsbot.sync_channels_task", _job_id="renamed")
    assert out["result"]["status"] == "sheet_unusable" and out["result"]["issues"][0]["row"] == 1
    assert all(r["is_active"] for r in (await _channels(res)).values())


async def test_sheets_5xx_then_success_and_429_fails_the_try(res, sandbox, sheet, run_job):
    sheet("Каналы", CHANNELS)
    res.settings.http.backoff = 0.01
    sandbox.sandbox.add_fault("google-sheets", "5xx", count=2, path="/values/")
    ok = await run_job("carsbot.sync_channels_task")
    assert ok["success"] and ok["result"]["upserted"] == 2
    sandbox.sandbox.set_limit("google-sheets", "read", 1 / 3600, 1)       # one read an hour is left
    assert (await run_job("carsbot.sync_channels_task", _job_id="last-read"))["success"]
    limited = await run_job("carsbot.sync_channels_task", _job_id="limited")
    sandbox.sandbox.set_limit("google-sheets", "read", 1, 60)
    assert not limited["success"] and "429" in str(limited["result"]) and limited["tries"] == 4
    failed = await res.db.fetchrow("SELECT * FROM failed_jobs WHERE job_name = 'sync_channels_task'")
    assert "RateLimited" in failed["error"]
    res.settings.http.backoff = 0.5


async def test_overlapping_syncs_run_once(res, sheet, ctx):
    from adolfd.engine.context import Ctx
    from adolfd.engine.jobs import resolve

    sheet("Каналы", CHANNELS)
    spec = resolve("carsbot.sync_channels_task")
    runs = [Ctx(res, spec=spec, job_id=f"j{i}") for i in range(3)]
    results = await asyncio.gather(*(spec.func(c) for c in runs))
    statuses = sorted(r["status"] for r in results)
    assert statuses == ["skipped", "skipped", "success"]
    assert len(await _channels(res)) == 2


async def test_analytics_per_channel_and_day_written_to_the_sheet(res, sandbox, channels, run_job, ctx):
    from adolfd.workers.carsbot.pipeline import store_post

    from .conftest import message

    await channels()
    await store_post(ctx, message(message_id=1))
    await store_post(ctx, message("Куплю Ладу", message_id=2))
    await run_job("carsbot.process_post_task", post_id=1)
    await run_job("carsbot.process_post_task", post_id=2)
    out = await run_job("carsbot.update_analytics_task")
    assert out["success"] and out["result"]["rows"] == 1
    values = tab_values(sandbox.sandbox, SPREADSHEET_ID, "Аналитика")
    assert values[0] == ["date", "channel_id", "channel", "posts_received", "ads_found", "published", "rejected"]
    assert values[1][1:] == [str(CHANNEL), "Авто Москва", "2", "1", "0", "1"]
