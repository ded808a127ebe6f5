"""The `adolfd` command: workers, the schedule, manual runs, job status, failed jobs, migrations, sandbox."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

from adolfd.admin.shell import (
    EXIT_FAILED,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    fail,
    parse_assignments,
    with_redis,
    with_resources,
)
from adolfd.engine.module import Command
from adolfd.errors import BadConfiguration
from adolfd.process.event_loop import run_loop
from adolfd.settings import Settings, load_settings

DEFAULT_WAIT_SECONDS = 300.0

# The platform's own subcommands, declared below with @command; modules bring theirs in their ModuleSpec.
COMMANDS: dict[str, Command] = {}


def command(name: str, help_text: str, arguments: Callable[[argparse.ArgumentParser], object] = lambda p: None):
    def declare(fn: Callable[..., Any]) -> Callable[..., Any]:
        COMMANDS[name] = Command(name, help_text, fn, arguments)
        return fn
    return declare


def defer_options(at: str | None, in_seconds: float | None, *, now: datetime, tz: tzinfo) -> dict[str, Any]:
    """Celery's `eta` (`--at`) and `countdown` (`--in`) as enqueue's `defer_until` / `defer_by`. A naive time
    is read in the configured timezone; a time already past or a negative delay is refused rather than run
    at once, since an operator who asked for later did not mean now."""
    if at is not None:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise ValueError(f"--at {at!r} is not an ISO 8601 time") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=tz)
        if when <= now:
            raise ValueError(f"--at {when.isoformat()} is in the past")
        return {"defer_until": when}
    if in_seconds is not None:
        if not math.isfinite(in_seconds) or in_seconds < 0:
            raise ValueError(f"--in takes zero or more seconds, not {in_seconds:g}")
        return {"defer_by": in_seconds} if in_seconds else {}
    return {}


# -- worker ----------------------------------------------------------------------------------------------
def _worker_args(p: argparse.ArgumentParser) -> None:
    from adolfd.modules import module_names

    p.add_argument("group", choices=("all", *module_names()))
    p.add_argument("--metrics-port", type=int, default=None,
                   help="port of /metrics and /healthz (default: ADOLFD_METRICS_PORT + group index; 0 = off)")


@command("worker", "run the ARQ workers of one module (or all) in this process", _worker_args)
def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.engine.runtime import groups, serve_group
    from adolfd.process.resources import build_resources, close_resources

    port = args.metrics_port
    if port is None:
        port = settings.metrics_port + groups().index(args.group) if settings.metrics_port else 0

    async def main() -> int:
        res = await build_resources(settings)
        try:
            return await serve_group(args.group, res, metrics_port=port)
        finally:
            await close_resources(res)

    return run_loop(main(), settings.event_loop)


# -- schedule ----------------------------------------------------------------------------------------------
def _schedule_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--now", help="ISO 8601 time to compute the next fire times from (default: now)")
    p.add_argument("--json", action="store_true")


@command("schedule", "every periodic job with its next three fire times", _schedule_args)
def cmd_schedule(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.admin.status import schedule_rows

    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            return fail(f"--now {args.now!r} is not an ISO 8601 time", EXIT_USAGE)
        if now.tzinfo is None:
            now = now.replace(tzinfo=settings.tz)
    else:
        now = datetime.now(UTC)
    rows = schedule_rows(now)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    print(f"{'job':<26} {'module':<11} {'queue':<11} {'cron':<20} {'sec':>3} {'tz':<14} {'on':<3} next")
    for r in rows:
        nxt = ", ".join(datetime.fromisoformat(t).strftime("%m-%d %H:%M:%S") for t in r["next"])
        print(f"{r['job']:<26} {r['module']:<11} {r['queue']:<11} {r['cron']:<20} {r['second']:>3} "
              f"{r['timezone']:<14} {'yes' if r['enabled'] else 'off':<3} {nxt}")
    return 0


# -- run / job ---------------------------------------------------------------------------------------------
def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("job")
    p.add_argument("assignments", nargs="*", metavar="key=value")
    p.add_argument("--job-id", help="explicit job id (a second run with the same id is refused)")
    p.add_argument("--yes", action="store_true", help="confirm a job that deletes or cancels (marked in `adolfd jobs`)")
    later = p.add_mutually_exclusive_group()
    later.add_argument("--at", metavar="ISO-TIME",
                       help="run at this time (Celery's eta); without an offset it is read in ADOLFD_TZ")
    later.add_argument("--in", dest="in_seconds", type=float, metavar="SECONDS",
                       help="run this many seconds from now (Celery's countdown)")
    p.add_argument("--wait", nargs="?", type=float, const=DEFAULT_WAIT_SECONDS, metavar="SECONDS",
                   help=f"wait for the result and print it (default {DEFAULT_WAIT_SECONDS:g} s); exit 1 if the "
                        f"job failed, {EXIT_TIMEOUT} if it did not finish in time")


@command("run", "enqueue a job by name with validated arguments, now or later", _run_args)
def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.engine.enqueue import prepare, submit
    from adolfd.errors import BadArguments, NotAllowed, UnknownJob

    try:   # validated once, before connecting: a bad argument names the allowed values and exits 2
        spec, wire = prepare(args.job, parse_assignments(args.assignments), manual=True, confirmed=args.yes,
                             brands=settings.brands)
        defer = defer_options(args.at, args.in_seconds, now=datetime.now(UTC), tz=settings.tz)
        if args.wait is not None and not args.wait >= 0:
            raise ValueError(f"--wait takes zero or more seconds, not {args.wait:g}")
    except (UnknownJob, BadArguments, NotAllowed, ValueError) as exc:
        return fail(exc.args[0] if exc.args else str(exc), EXIT_USAGE)   # not str(): a LookupError quotes it

    async def go(redis) -> int:
        queued = await submit(redis, spec, wire, job_id=args.job_id, **defer)
        if queued is None:
            return fail(f"a job with id {args.job_id!r} already exists")
        record: dict[str, Any] = {"job_id": queued.job_id, "job": spec.key, "queue": spec.queue_name,
                                  "status": "queued"}
        if defer:
            score = await redis.zscore(spec.queue_name, queued.job_id)
            if score is not None:
                record["due"] = datetime.fromtimestamp(score / 1000, settings.tz).isoformat()
        print(json.dumps(record, default=str), flush=True)
        if args.wait is None:
            return 0
        return await report_result(redis, queued.job_id, args.wait)

    return asyncio.run(with_redis(settings, go))


async def report_result(redis, job_id: str, timeout: float) -> int:
    """`run --wait`: print the job's outcome as JSON once it has one (Celery's `AsyncResult.get`)."""
    from adolfd.engine.jobinfo import wait_for_result

    result = await wait_for_result(redis, job_id, timeout)
    if result is None:
        return fail(f"job {job_id} did not finish within {timeout:g} s; it stays queued or running "
                    f"(`adolfd job {job_id}` shows it)", EXIT_TIMEOUT)
    outcome: dict[str, Any] = {"job_id": job_id, "status": "complete", "success": result.success,
                               "tries": result.job_try}
    if result.success:
        outcome["result"] = result.result
    else:
        outcome["error"] = error_text(result.result)
    print(json.dumps(outcome, ensure_ascii=False, default=str), flush=True)
    return 0 if result.success else fail(f"job {job_id} failed: {outcome['error']}")


def error_text(error: Any) -> str:
    """A failed job's stored result: the exception ARQ kept, as `Type: message`."""
    from adolfd.engine.serialization import JobFailed

    if isinstance(error, JobFailed):      # already `Type: message` of the original exception
        return str(error)
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return str(error)


@command("job", "status and result of one job", lambda p: p.add_argument("job_id"))
def cmd_job(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.engine.jobinfo import job_info

    async def go(redis) -> int:
        info = await job_info(redis, args.job_id)
        print(json.dumps(info, ensure_ascii=False, default=str, indent=1))
        return 0 if info["status"] != "not_found" else EXIT_FAILED

    return asyncio.run(with_redis(settings, go))


@command("jobs", "every job adolfd knows, with its arguments (--queued: the jobs waiting in the queues)",
         lambda p: p.add_argument("--queued", action="store_true"))
def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.engine.jobs import catalog

    if args.queued:
        return asyncio.run(with_redis(settings, print_queued))
    for spec in sorted(catalog().all_jobs(), key=lambda s: s.key):
        flag = ("manual" + ("+yes" if spec.destructive else "")) if spec.manual else ""
        print(f"{spec.key:<40} {spec.queue_name:<28} {flag:<10} {spec.describe_args()}")
    return 0


# -- scheduled / purge: what waits in the queues --------------------------------------------------------------
@command("scheduled", "deferred jobs of every queue (run --at/--in, retries waiting), soonest first",
         lambda p: p.add_argument("--json", action="store_true"))
def cmd_scheduled(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.engine.waiting_jobs import deferred_jobs

    async def go(redis) -> int:
        rows = [job.as_dict(settings.tz) for job in await deferred_jobs(redis, datetime.now(UTC))]
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, default=str, indent=1))
            return 0
        if not rows:
            print("no deferred jobs")
        for r in rows:
            due = datetime.fromisoformat(r["due"]).strftime("%Y-%m-%d %H:%M:%S")
            print(f"{due}  {r['job'] or '?':<36} {r['queue']:<28} {r['job_id']}  "
                  f"{json.dumps(r['args'], ensure_ascii=False, default=str)}")
        return 0

    return asyncio.run(with_redis(settings, go))


def _purge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("queue", help="adolfd:MODULE:QUEUE or MODULE:QUEUE")
    p.add_argument("--yes", action="store_true", help="really remove the waiting jobs")


@command("purge", "remove every job waiting in one queue; running jobs stay (Celery's purge)", _purge_args)
def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.engine.waiting_jobs import UnknownQueue, purge_queue, resolve_queue, waiting_ids

    try:
        queue = resolve_queue(args.queue)
    except UnknownQueue as exc:
        return fail(str(exc), EXIT_USAGE)

    async def go(redis) -> int:
        if not args.yes:
            waiting = len(await waiting_ids(redis, queue))
            return fail(f"{waiting} waiting job(s) in {queue} would be removed; add --yes to remove them",
                        EXIT_USAGE)
        removed = await purge_queue(redis, queue)
        print(json.dumps({"queue": queue, "removed": removed}))
        return 0

    return asyncio.run(with_redis(settings, go))


async def print_queued(redis) -> int:
    """One line a waiting job; a legacy pickled job says what it was and how to enqueue it again."""
    from adolfd.engine.jobinfo import LEGACY, queued_jobs

    jobs = await queued_jobs(redis)
    if not jobs:
        print("no queued jobs")
    for j in jobs:
        if j.get("kind"):
            print(f"{j['job_id']:<40} {j['queue']:<28} {j['kind']}: {j['error']}")
        else:
            print(f"{j['job_id']:<40} {j['queue']:<28} {j['status']:<11} {j.get('function')} "
                  f"{json.dumps(j.get('args'), ensure_ascii=False)}")
    legacy = sum(1 for j in jobs if j.get("kind") == LEGACY)
    return EXIT_FAILED if legacy else 0


# -- status / failed / retry / migrate ----------------------------------------------------------------------
@command("status", "queues, workers, cron runs, failed jobs", lambda p: p.add_argument("--json", action="store_true"))
def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    import html
    import re

    from adolfd.admin.bot.replies import render_status
    from adolfd.admin.status import system_status
    from adolfd.outside_text import printable

    async def go(res) -> int:
        status = await system_status(res.redis, res.db)
        if args.json:
            print(json.dumps(status, default=str, indent=1))
        else:   # the bot's phone-sized summary, without its HTML markup or outside text's terminal escapes
            print(printable(html.unescape(re.sub(r"</?[a-z][^>]*>", "", render_status(status, settings.tz)))))
        return 0

    return asyncio.run(with_resources(settings, go))


@command("failed", "jobs that exhausted their tries", lambda p: p.add_argument("--all", action="store_true"))
def cmd_failed(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.engine.failures import failed_overview
    from adolfd.outside_text import printable

    async def go(res) -> int:
        rows, notes = await failed_overview(res.db, res.redis, include_retried=args.all)
        for note in notes:
            print(f"warning: {note}", file=sys.stderr)
        if not rows:
            print("no failed jobs")
        for r in rows:
            retried = f" retried as {r['retry_job_id']}" if r["retried_at"] else ""
            print(printable(f"#{r['id']} {r['failed_at']:%Y-%m-%d %H:%M:%S} {r['module']}.{r['job_name']} "
                            f"tries={r['tries']} args={json.dumps(r['args'], ensure_ascii=False)}{retried}")
                  + "\n    " + printable(r["error"]))
        return 0

    return asyncio.run(with_resources(settings, go))


@command("retry", "re-enqueue a failed job", lambda p: p.add_argument("failed_id", type=int))
def cmd_retry(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.engine.failures import retry_failed

    async def go(res) -> int:
        try:
            job_id = await retry_failed(res.db, res.redis, args.failed_id)
        except LookupError as exc:
            return fail(str(exc).strip("'\""))
        print(json.dumps({"failed_id": args.failed_id, "job_id": job_id, "status": "queued"}))
        return 0

    return asyncio.run(with_resources(settings, go))


@command("migrate", "apply schema.sql (idempotent)")
def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    import asyncpg

    from adolfd.process.db import migrate

    async def go() -> int:
        conn = await asyncpg.connect(settings.database_url.get_secret_value())
        try:
            await migrate(conn)
        except FileNotFoundError as exc:     # not a service that is down: an incomplete installation
            return fail(str(exc))
        finally:
            await conn.close()
        print("schema applied")
        return 0

    return asyncio.run(go())


# -- sandbox and demo ----------------------------------------------------------------------------------------
def _sandbox_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8900)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--no-seed-db", action="store_true", help="do not write the 1C extractor's brain_* tables")


async def seed_brain(database_url: str, seed: int) -> dict[str, int]:
    """Write today's 1C extract into brain_* as the extractor would (the sandbox has no 1C), in a database
    marked as a sandbox one (adolfd.sandbox.database)."""
    import asyncpg

    from adolfd.process.db import migrate
    from adolfd.sandbox.brain import seed_brain_tables
    from adolfd.sandbox.database import claim_sandbox_database

    conn = await asyncpg.connect(database_url)
    try:
        await claim_sandbox_database(conn)     # never the real 1C rows: NotASandboxDatabase, nothing written
        await migrate(conn)
        return await seed_brain_tables(conn, seed=seed, now=datetime.now(UTC))
    finally:
        await conn.close()


@command("sandbox", "serve the local fake of every external API", _sandbox_args)
def cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.sandbox import serve
    from adolfd.sandbox.database import NotASandboxDatabase

    if not args.no_seed_db:
        try:
            rows = asyncio.run(seed_brain(settings.database_url.get_secret_value(), args.seed))
        except NotASandboxDatabase as exc:
            return fail(f"{exc}; or start with --no-seed-db to write no database", EXIT_USAGE)
        print(json.dumps({"brain_rows": rows}))
    serve(args.host, args.port, args.seed, settings=settings)
    return 0


# Jobs the demo runs once at start so every module has data at once, not only after the nightly schedule.
DEMO_WARMUP = ("logistic.sync_ozon_warehouses", "logistic.sync_ozon_analytics", "logistic.sync_ozon_stocks",
               "logistic.sync_brain_stocks", "marketing.sync_campaigns", "watcher.generate_daily_tasks")
# ... and these once the warm-up is done, after a delay (s): the watcher's alerts over what the fleet parsed
DEMO_DEFERRED = (("watcher.check_alerts", 120.0),)


async def warm_up(res, stamp: str) -> None:
    """Run each source sync once, in order (the 1C sync maps articles the Ozon catalogue sync brought)."""
    from adolfd.engine.enqueue import enqueue
    from adolfd.errors import UnknownJob

    for name in DEMO_WARMUP:
        try:
            queued = await enqueue(res.redis, name, {}, job_id=f"demo-warmup:{name}:{stamp}")
        except UnknownJob:
            continue
        if queued is not None:
            with contextlib.suppress(Exception):   # a failure shows in the logs and in `adolfd failed`
                await queued.result(timeout=180, poll_delay=0.2)
    for name, delay in DEMO_DEFERRED:
        with contextlib.suppress(UnknownJob):
            await enqueue(res.redis, name, {}, job_id=f"demo-warmup:{name}:{stamp}", defer_by=delay)


async def cancel_tasks(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel and wait for background tasks, so none outlives the resources it uses."""
    pending = [t for t in tasks if t is not None and not t.done()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8900, help="sandbox port")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--env-file", default="var/demo.sandbox.env",
                   help="where to write the settings that point the CLI at the demo's sandbox")


def demo_settings(settings: Settings, sandbox_url: str) -> Settings:
    """The operator's settings with every external API pointed at the sandbox and its accounts."""
    from adolfd.sandbox.environment import sandbox_settings

    data = settings.model_dump()
    overrides = sandbox_settings(sandbox_url)
    data.update(api_urls=overrides["api_urls"], credentials=overrides["credentials"], environment="demo")
    for section in ("ops", "carsbot", "llm"):
        data[section] = {**data[section], **overrides[section]}
    return Settings.model_validate(data)


@command("demo", "migrate, start the sandbox, seed 1C data and run every worker against it", _demo_args)
def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from adolfd.engine.runtime import serve_group
    from adolfd.process.resources import build_resources, close_resources
    from adolfd.sandbox import run_companions, start_sandbox
    from adolfd.sandbox.brain import run_extractor
    from adolfd.sandbox.database import NotASandboxDatabase, claim_database_url
    from adolfd.sandbox.environment import sandbox_env
    from adolfd.sandbox.watcher_agents import seed_demo_catalogue
    from adolfd.workers.carsbot.channel_bot import serve_carsbot_bot

    try:   # the demo's workers and fake 1C write this database: a sandbox one only, checked before anything starts
        asyncio.run(claim_database_url(settings.database_url.get_secret_value()))
    except NotASandboxDatabase as exc:
        return fail(str(exc), EXIT_USAGE)

    async def main() -> int:
        running = await start_sandbox(port=args.port, seed=args.seed)
        demo = demo_settings(settings, running.url)
        env_file = Path(args.env_file)
        env_file.parent.mkdir(parents=True, exist_ok=True)
        env_file.write_text("".join(f"{k}={v}\n" for k, v in sandbox_env(running.url).items()))
        brain = await seed_brain(demo.database_url.get_secret_value(), args.seed)
        database_url = demo.database_url.get_secret_value()
        extractor = asyncio.create_task(run_extractor(running.sandbox, database_url))  # 1C at 06:00 daily
        res = await build_resources(demo)
        watched = await seed_demo_catalogue(res.db, datetime.now(UTC))
        companions = asyncio.create_task(run_companions(running.sandbox, demo))   # the watcher's agent fleet
        warming: asyncio.Task[None] | None = None
        carsbot_bot: asyncio.Task[None] | None = None
        try:
            workers = asyncio.create_task(serve_group("all", res, metrics_port=demo.metrics_port))
            carsbot_bot = asyncio.create_task(serve_carsbot_bot(demo, res))   # on the sandbox's Bot API
            await asyncio.sleep(0)   # serve_group takes over SIGTERM/SIGINT before its first await
            print(json.dumps({"sandbox": running.url, "brain_rows": brain, "watcher_seeded": watched,
                              "metrics": demo.metrics_port,
                              "try": ["./dev.sh adolfd status", "./dev.sh adolfd run generate_supply_tasks",
                                      "./dev.sh adolfd watcher agents", "./dev.sh adolfd watcher alerts",
                                      f"curl -d '{{\"chat_id\": -1001000000001, \"text\": \"Продам Toyota Camry "
                                      f"2018, 1.9 млн, Москва, +79161234567\"}}' {running.url}/telegram/_sandbox/"
                                      "channel_posts"]}),
                  flush=True)
            # The warm-up waits for job results only the workers produce: once they have drained it must not
            # wait on (it did, up to three minutes per job), so it runs beside them and stops with them.
            warming = asyncio.create_task(warm_up(res, stamp=f"{datetime.now():%Y%m%d%H}"))
            await workers
        finally:
            await cancel_tasks(warming, extractor, companions, carsbot_bot)
            await close_resources(res)
            await running.close()
        return 0

    return run_loop(main(), settings.event_loop)


def all_commands() -> dict[str, Command]:
    """The platform's commands, then each module's (adolfd.modules.MODULES); a name is never taken twice."""
    from adolfd.admin.bot.commands import COMMANDS as BOT_COMMANDS
    from adolfd.modules import MODULES

    commands = {**COMMANDS, **{c.name: c for c in BOT_COMMANDS}}
    for module in MODULES:
        for cmd in module.loaded("commands"):
            if cmd.name in commands:
                raise RuntimeError(f"module {module.name} declares command {cmd.name!r}, which already exists")
            commands[cmd.name] = cmd
    return commands


def build_parser(commands: dict[str, Command]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adolfd", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for cmd in commands.values():
        cmd.arguments(sub.add_parser(cmd.name, help=cmd.help, description=cmd.help))
    return parser


def main(argv: list[str] | None = None) -> int:
    from asyncpg import InterfaceError, PostgresError, UndefinedTableError
    from redis.exceptions import ConnectionError as RedisConnectionError

    from adolfd.process.logs import configure

    commands = all_commands()
    args = build_parser(commands).parse_args(argv)
    try:
        settings = load_settings()
    except Exception as exc:  # noqa: BLE001 — a bad setting is a clear message, not a traceback
        # BadConfiguration names the variable only; any other error's text could quote a value: not shown
        detail = str(exc) if isinstance(exc, BadConfiguration) else f"{type(exc).__name__} while reading settings"
        return fail(f"bad configuration: {detail}", EXIT_USAGE)
    long_running = ("worker", "bot", "carsbot-bot", "sandbox", "demo")
    configure(settings.log_level, stream=sys.stderr if args.command not in long_running else None)
    try:
        return commands[args.command].run(args, settings)
    except KeyboardInterrupt:
        return 130
    except (OSError, RedisConnectionError) as exc:
        return fail(f"cannot reach a service: {exc}")
    except UndefinedTableError as exc:
        return fail(f"the database has no adolfd schema ({exc}); run `adolfd migrate`")
    except (PostgresError, InterfaceError) as exc:
        return fail(f"database error: {exc}")

