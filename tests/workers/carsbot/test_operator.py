"""Operator commands: ingest a JSONL file, posts by status, re-process, skip, publish now, expiring this week."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from adolfd.admin.cli import all_commands, build_parser
from adolfd.workers.carsbot import operator

from .conftest import message


async def test_ingest_file_reports_bad_lines_and_stores_the_rest(res, channels, ctx, tmp_path):
    await channels()
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join([json.dumps(message(message_id=1)), "{not json", json.dumps({"text": "no chat"}),
                               json.dumps({"channel_post": message(message_id=1)}), ""]), encoding="utf-8")
    out = await operator.ingest_file(ctx, path)
    assert (out["stored"], out["merged"]) == (1, 1) and [e["line"] for e in out["errors"]] == [2, 3]
    assert await res.db.fetchval("SELECT count(*) FROM carsbot_posts") == 1


async def test_reprocess_skip_publish_now(res, channels, ctx, run_job):
    await channels()
    from adolfd.workers.carsbot.pipeline import store_post
    await store_post(ctx, message("Куплю Ладу Гранту до 500 тыс", message_id=1))
    await run_job("carsbot.process_post_task", post_id=1, _job_id="carsbot:process:1")
    listed = await operator.posts_by_status(ctx, "rejected")
    assert listed["counts"] == {"rejected": 1} and listed["posts"][0]["id"] == 1
    assert (await operator.skip(ctx, 1))["status"] == "skipped"
    again = await operator.reprocess(ctx, 1)
    assert again["status"] == "new"
    try:
        await operator.publish_now(ctx, 1)
    except ValueError as exc:
        assert "not ready" in str(exc)
    else:
        raise AssertionError("a post without text cannot be published")


async def test_expiring_this_week(res, sheet, clock, run_job, ctx):
    clock.set(datetime(2026, 3, 2, 12, tzinfo=UTC))
    sheet("Подписчики", [["telegram_id", "plan", "expires_at"], ["700000001", "pro", "2026-03-05"],
                         ["700000002", "pro", "2026-03-20"], ["700000003", "pro", "2026-03-08"]])
    await run_job("carsbot.sync_subscribers_task")
    assert [s["telegram_id"] for s in await operator.expiring_this_week(ctx)] == [700000001, 700000003]


def test_cli_knows_every_carsbot_action():
    parser = build_parser(all_commands())
    assert parser.parse_args(["carsbot", "publish-now", "5"]).post_id == 5
    assert parser.parse_args(["carsbot", "posts", "--status", "ready"]).status == "ready"
    assert str(parser.parse_args(["carsbot", "ingest", "posts.jsonl"]).file) == "posts.jsonl"


def test_carsbot_bot_without_its_token_exits_2(settings, capsys):
    from pydantic import SecretStr

    args = build_parser(all_commands()).parse_args(["carsbot-bot"])
    no_token = settings.model_copy(update={"carsbot": settings.carsbot.model_copy(
        update={"bot_token": SecretStr("")})})
    assert args.command == "carsbot-bot"
    assert all_commands()["carsbot-bot"].run(args, no_token) == 2
    assert "ADOLFD_CARSBOT__BOT_TOKEN" in capsys.readouterr().err


async def test_an_unknown_post_status_is_refused_naming_the_statuses(ctx):
    try:
        await operator.posts_by_status(ctx, "sold")
    except ValueError as exc:
        assert "publish_unknown" in str(exc) and "'sold'" in str(exc)
    else:
        raise AssertionError("an unknown status must be refused")
