"""/run, /job, /failed, /retry: the CLI's job commands, answered in chat."""
from __future__ import annotations

import shlex

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from adolfd.admin.bot.replies import answer, esc, render_failed, render_job, short_queue
from adolfd.admin.shell import parse_assignments
from adolfd.engine.context import Resources
from adolfd.engine.enqueue import prepare, submit
from adolfd.engine.failures import failed_overview, retry_failed
from adolfd.engine.jobinfo import job_info
from adolfd.errors import BadArguments, NotAllowed, UnknownJob

FAILED_SHOWN = 10


async def run(message: Message, command: CommandObject, res: Resources) -> None:
    try:
        words = shlex.split(command.args or "")
    except ValueError as exc:
        await message.answer(f"Cannot read the arguments: {esc(exc)}")
        return
    if not words:
        await message.answer("Usage: /run JOB [key=value …] [--yes], e.g. /run sync_ozon_stocks brand_id=ohana_market")
        return
    name, pairs = words[0], [w for w in words[1:] if w != "--yes"]
    try:
        spec, wire = prepare(name, parse_assignments(pairs), manual=True, confirmed="--yes" in words[1:],
                             brands=res.settings.brands)
        queued = await submit(res.redis, spec, wire)
    except (UnknownJob, BadArguments, NotAllowed, ValueError) as exc:
        await message.answer(f"❌ {esc(exc.args[0] if exc.args else str(exc))}")
        return
    if queued is None:
        await message.answer(f"Already queued or running: {esc(spec.key)}")
        return
    await message.answer(f"✅ queued <b>{esc(spec.key)}</b> on {esc(short_queue(spec.queue_name))}\n"
                         f"id: <code>{esc(queued.job_id)}</code>\n/job {esc(queued.job_id)}")


async def job(message: Message, command: CommandObject, res: Resources) -> None:
    job_id = (command.args or "").strip()
    if not job_id:
        await message.answer("Usage: /job ID")
        return
    await answer(message, render_job(await job_info(res.redis, job_id), res.settings.tz))


async def failed(message: Message, res: Resources) -> None:
    rows, notes = await failed_overview(res.db, res.redis, limit=FAILED_SHOWN)
    await answer(message, "\n".join([*(f"⚠️ {esc(n)}" for n in notes), render_failed(rows, res.settings.tz)]))


async def retry(message: Message, command: CommandObject, res: Resources) -> None:
    raw = (command.args or "").strip().lstrip("#")
    if not raw.isdigit():
        await message.answer("Usage: /retry ID (the # number from /failed)")
        return
    try:
        job_id = await retry_failed(res.db, res.redis, int(raw))
    except LookupError as exc:
        await message.answer(f"❌ {esc(str(exc).strip(chr(39) + chr(34)))}")
        return
    await message.answer(f"✅ failed job #{raw} queued again\nid: <code>{esc(job_id)}</code>\n/job {esc(job_id)}")

def router() -> Router:
    """A fresh router (a Router can be attached to one dispatcher only)."""
    r = Router(name="jobs")
    r.message.register(run, Command("run"))
    r.message.register(job, Command("job"))
    r.message.register(failed, Command("failed"))
    r.message.register(retry, Command("retry"))
    return r
