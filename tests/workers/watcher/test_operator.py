"""Operator commands: products and competitors (one by one and from CSV), agents, panic, IP blocks, alerts,
generation record, queues, regeneration — as functions and as `adolfd watcher VERB` (exit 2 on a refusal)."""
from __future__ import annotations

import argparse
import asyncio
import json
from datetime import date

import pytest
from adolfd.admin.cli import all_commands, build_parser
from adolfd.engine.context import Ctx
from adolfd.engine.serialization import arq_job
from adolfd.keys import WATCHER_IP_BLOCKED as IP_BLOCKED
from adolfd.workers.watcher import operator as op
from arq.jobs import JobStatus
from structlog.testing import capture_logs

TABLES = ("watcher_products", "watcher_competitors", "watcher_agents", "watcher_alerts", "watcher_agent_logs")


async def snapshot(res) -> dict:
    return {t: [dict(r) for r in await res.db.fetch(f"SELECT * FROM {t} ORDER BY id")] for t in TABLES}


@pytest.fixture
def ctx(res):
    return Ctx(res)


@pytest.fixture
def cli(settings, capsys):
    """`await cli("watcher", "products")` → (exit code, its JSON line, stderr), the command's own function in a
    thread (structlog's test default prints log lines to stdout: the JSON is the last line)."""

    async def run(*argv: str) -> tuple[int, str, str]:
        args = build_parser(all_commands()).parse_args(list(argv))
        code = await asyncio.wait_for(asyncio.to_thread(all_commands()[args.command].run, args, settings), 60)
        out, err = capsys.readouterr()
        return code, (out.strip().splitlines() or [""])[-1], err

    return run


async def test_products_and_competitors_added_listed_removed(res, ctx, catalogue):
    with capture_logs() as logs:
        added = await op.add_product(ctx, "OM-9", "ozon", "ohana_market", name="Плед", by="cli:olga")
        again = await op.add_product(ctx, "OM-9", "ozon", "ohana_market", name="Плед", by="cli:olga")
        comp = await op.add_competitor(ctx, "OM-9", "ozon", "C-91", priority_value="75", by="cli:olga")
        same = await op.add_competitor(ctx, "OM-9", "ozon", "C-91", priority_value="75", by="cli:olga")
    assert (added["status"], again["status"], comp["status"], same["status"]) == (
        "created", "unchanged", "created", "unchanged")
    assert [e["by"] for e in logs if e["event"] == "watcher_operator_action"] == ["cli:olga"] * 4
    products = {p["sku"]: p for p in await op.list_products(ctx, "ozon")}
    assert set(products) == {"OM-1", "OM-2", "OM-9"} and products["OM-9"]["competitors"] == 1
    [listed] = await op.list_competitors(ctx, "OM-9")
    assert (listed["competitor_sku"], listed["priority"], listed["id"]) == ("C-91", 75, comp["competitor_id"])
    assert (await op.remove_competitor(ctx, comp["competitor_id"], by="t"))["status"] == "removed"
    assert await op.list_competitors(ctx, "OM-9") == []
    assert (await op.remove_product(ctx, "OM-9", "ozon", by="t"))["status"] == "removed"
    assert "OM-9" not in {p["sku"] for p in await op.list_products(ctx)}
    assert (await op.add_product(ctx, "OM-9", "wildberries", "ohana_kids", by="t"))["marketplace"] == "wb"


@pytest.mark.parametrize(("call", "message"), [
    (lambda c: op.add_product(c, "OM-9", "amazon", "ohana_market", by="t"), "unknown marketplace 'amazon'"),
    (lambda c: op.add_product(c, "OM-9", "ozon", "acme", by="t"), "unknown brand 'acme'"),
    (lambda c: op.add_competitor(c, "NOPE", "ozon", "C-1", by="t"), "unknown SKU 'NOPE'"),
    (lambda c: op.add_competitor(c, "OM-1", "ozon", "C-1", priority_value="101", by="t"), "from 0 to 100"),
    (lambda c: op.add_competitor(c, "OM-1", "ozon", "C-1", priority_value="-1", by="t"), "from 0 to 100"),
    (lambda c: op.add_competitor(c, "OM-1", "ozon", "C-1", priority_value="high", by="t"), "whole number"),
    (lambda c: op.remove_product(c, "NOPE", "ozon", by="t"), "unknown SKU 'NOPE'"),
    (lambda c: op.remove_competitor(c, 424242, by="t"), "unknown competitor id 424242"),
    (lambda c: op.clear_panic(c, "ghost", by="t"), "unknown agent 'ghost'"),
    (lambda c: op.unblock_ip(c, "not-an-ip", by="t"), "is not an IP address"),
    (lambda c: op.unblock_ip(c, "203.0.113.9", by="t"), "IP 203.0.113.9 is not blocked"),
    (lambda c: op.resolve_alert(c, 424242, by="t"), "unknown alert id 424242"),
])
async def test_refusals_name_the_problem_and_change_nothing(res, ctx, catalogue, call, message):
    before = await snapshot(res)
    with pytest.raises(op.Refused, match=message):
        await call(ctx)
    assert await snapshot(res) == before


async def test_csv_import_reports_bad_rows_imports_the_rest_and_reimport_changes_nothing(res, ctx, catalogue,
                                                                                        tmp_path):
    path = tmp_path / "watch.csv"
    path.write_text(
        "marketplace,our_sku,brand,product_name,competitor_sku,competitor_url,priority\n"
        "ozon,NEW-1,ohana_market,Плед,,,\n"                      # row 2: our product only
        "ozon,NEW-1,,,X-1,https://ozon.ru/x1,80\n"               # row 3: a competitor of it
        "ozon,NEW-1,,,X-2,,\n"                                   # row 4: default priority
        "amazon,NEW-2,ohana_market,,,,\n"                        # row 5: bad marketplace
        "ozon,GHOST,,,X-3,,\n"                                   # row 6: our SKU unknown, no brand
        "wb,OK-1,,,X-4,,150\n"                                   # row 7: priority out of range
        "\n"
        "wildberries,OK-1,,,X-5,,10\n",                          # row 9: wb spelled as the agents do
        encoding="utf-8")
    first = await op.import_csv(ctx, path, by="cli:olga")
    assert [(e["row"], e["error"].split(";")[0]) for e in first["errors"]] == [
        (5, "unknown marketplace 'amazon'"), (6, "our SKU 'GHOST' is not monitored on ozon"),
        (7, "priority must be from 0 to 100, got 150")]
    assert first["products"] == {"created": 1, "updated": 0, "unchanged": 0}
    assert first["competitors"] == {"created": 3, "updated": 0, "unchanged": 0}
    rows = {r["competitor_sku"]: r for r in await op.list_competitors(ctx)}
    assert (rows["X-1"]["priority"], rows["X-1"]["url"], rows["X-2"]["priority"]) == (80, "https://ozon.ru/x1", 50)
    assert rows["X-5"]["marketplace"] == "wb" and "X-4" not in rows
    before = await snapshot(res)
    second = await op.import_csv(ctx, path, by="cli:olga")
    assert second["products"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert second["competitors"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert await snapshot(res) == before


async def test_csv_with_unknown_columns_is_refused_whole(res, ctx, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("marketplace,sku,brand\nozon,A,ohana_market\n", encoding="utf-8")
    with pytest.raises(op.Refused, match="unknown: sku; missing: our_sku"):
        await op.import_csv(ctx, path, by="t")
    assert await res.db.fetchval("SELECT count(*) FROM watcher_products") == 0


async def test_csv_that_is_not_utf8_is_refused_before_any_row(res, ctx, tmp_path):
    path = tmp_path / "cp1251.csv"
    path.write_bytes("marketplace,our_sku,brand,product_name\nozon,A,ohana_market,Плед\n".encode("cp1251"))
    with pytest.raises(op.Refused, match="is not UTF-8 text"):
        await op.import_csv(ctx, path, by="t")
    with pytest.raises(op.Refused, match="cannot read"):
        await op.import_csv(ctx, tmp_path / "missing.csv", by="t")
    assert await res.db.fetchval("SELECT count(*) FROM watcher_products") == 0


async def test_agents_panic_cleared_ip_unblocked(res, ctx, at, catalogue, run_job, fleet, consume):
    await run_job("watcher.generate_daily_tasks")
    await fleet.heartbeat()
    agent = fleet.agent("ozon-1")
    agent.switches.cookies_invalid = True
    agent.switches.panic = True
    await agent.work_one()
    await consume()
    agents = {a["name"]: a for a in await op.list_agents(ctx)}
    assert len(agents) == 6
    panicked = agents["ozon-1"]
    assert (panicked["status"], panicked["cookies_valid"], panicked["ip"], panicked["ip_blocked"]) == (
        "panic", False, agent.ip, True)
    assert agents["ozon-2"]["status"] == "online" and agents["ozon-2"]["last_heartbeat"] is not None
    with pytest.raises(op.Refused, match="ozon-2 is online, not in panic"):
        await op.clear_panic(ctx, "ozon-2", by="t")
    assert (await op.clear_panic(ctx, "ozon-1", by="telegram:olga"))["status"] == "cleared"
    assert await res.db.fetchval("SELECT status FROM watcher_agents WHERE name = 'ozon-1'") == "online"
    log = await res.db.fetchrow("SELECT details FROM watcher_agent_logs WHERE event_type = 'panic_cleared'")
    assert log["details"] == {"by": "telegram:olga"}
    assert (await op.unblock_ip(ctx, agent.ip, by="t"))["ip"] == agent.ip
    assert await res.redis.exists(IP_BLOCKED.format(ip=agent.ip)) == 0
    # cleared, the agent's events are applied again
    agent.dead, agent.switches.panic = False, False
    await agent.work_one()
    assert (await consume()).by_type == {"task_started": 1, "price_result": 1}


async def test_resolve_alert_closes_the_platform_alert_too(res, ctx, catalogue, users):
    platform = await res.db.fetchval("INSERT INTO alerts (module, alert_type, severity, message) VALUES "
                                     "('watcher', 'price_drop', 'warning', 'x') RETURNING id")
    alert = await res.db.fetchval(
        "INSERT INTO watcher_alerts (alert_type, severity, sku, marketplace, platform_alert_id) "
        "VALUES ('price_drop', 'warning', 'OM-1', 'ozon', $1) RETURNING id", platform)
    assert [a["id"] for a in await op.open_alerts(ctx)] == [alert]
    assert (await op.resolve_alert(ctx, alert, by="t"))["status"] == "resolved"
    assert await res.db.fetchval("SELECT resolved_at IS NOT NULL FROM alerts WHERE id = $1", platform)
    assert await op.open_alerts(ctx) == []
    with pytest.raises(op.Refused, match="already resolved"):
        await op.resolve_alert(ctx, alert, by="t")


async def test_generation_record_queues_and_regenerate(res, ctx, at, catalogue, run_job, run_queue):
    assert (await op.generation_record(ctx, date(2026, 2, 16)))["record"] is None
    await run_job("watcher.generate_daily_tasks")
    record = await op.generation_record(ctx, date(2026, 2, 16))
    assert record["record"]["status"] == "completed" and record["tasks"] == {"pending": 10}
    assert await op.queues(ctx) == {"wildberries": 2, "ozon": 8, "yandex_market": 0}
    first = int(await res.redis.lpop("watcher:task_queue:ozon"))
    await res.db.execute("UPDATE watcher_tasks SET status = 'failed', retry_count = 3, error = 'captcha' "
                         "WHERE id = $1", first)                 # failed for good on its third try
    out = await op.regenerate(ctx, date(2026, 2, 16), by="t")
    job = arq_job(res.redis, out["job_id"], "adolfd:watcher:default")
    assert await job.status() == JobStatus.queued
    assert (await job.info()).kwargs == {"scheduled_date": "2026-02-16"}
    await run_queue("watcher", "default")
    assert (await job.result(timeout=5))["regenerated_count"] == 1
    assert await res.db.fetchval("SELECT status FROM watcher_tasks WHERE id = $1", first) == "pending"
    assert int((await res.redis.lrange("watcher:task_queue:ozon", -1, -1))[0]) == first


async def test_cli_prints_json_and_refuses_with_exit_2(res, cli, catalogue, tmp_path):
    code, out, _ = await cli("watcher", "add-competitor", "OM-1", "ozon", "C-99", "--priority", "40", "--by", "olga")
    assert code == 0 and json.loads(out)["status"] == "created"
    code, out, _ = await cli("watcher", "competitors", "--sku", "OM-1")
    assert code == 0 and [c["competitor_sku"] for c in json.loads(out)] == ["C-12", "C-13", "C-99", "C-11"]
    before = await snapshot(res)
    for argv, message in ((("add-competitor", "OM-1", "ozon", "C-98", "--priority", "101"), "from 0 to 100"),
                          (("add-product", "X", "etsy", "ohana_market"), "expected one of wb, ozon, ym"),
                          (("remove-product", "NOPE", "ozon"), "unknown SKU 'NOPE'"),
                          (("resolve-alert", "77"), "unknown alert id 77"),
                          (("clear-panic", "ghost"), "unknown agent 'ghost'")):
        code, out, err = await cli("watcher", *argv)
        assert (code, out) == (2, "") and message in err, (argv, err)
    assert await snapshot(res) == before
    code, out, _ = await cli("watcher", "queues")
    assert code == 0 and json.loads(out) == {"wildberries": 0, "ozon": 0, "yandex_market": 0}


def test_cli_parses_every_verb_and_refuses_a_bad_date():
    parser = build_parser(all_commands())
    assert parser.parse_args(["watcher", "generation", "2026-02-16"]).date == date(2026, 2, 16)
    assert parser.parse_args(["watcher", "import", "w.csv"]).file.name == "w.csv"
    assert parser.parse_args(["watcher", "remove-competitor", "5"]).competitor_id == 5
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["watcher", "generation", "16.02.2026"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["watcher", "teleport"])
    assert isinstance(parser, argparse.ArgumentParser)
