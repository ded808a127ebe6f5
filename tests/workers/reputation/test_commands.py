"""`adolfd reviews | approve` as an operator runs them (the installed console script); `skip` and `regenerate`
call the same functions, tested in test_publishing.py. Each run starts a Python process, so the runs are few."""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from adolfd.sandbox.environment import sandbox_env
from adolfd.testing import service_env

ADOLFD = str(Path(sys.executable).with_name("adolfd"))


async def adolfd(settings, sandbox, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, **sandbox_env(sandbox.url), **service_env(settings),
           "ADOLFD_LOG_LEVEL": "warning"}
    proc = await asyncio.create_subprocess_exec(ADOLFD, *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


async def test_operator_commands(res, settings, sandbox, feed, poll, items, run_queue, replies):
    feed("wb", backlog=3)
    await poll("wb", "question")
    first, second = (await items(platform="wb", item_type="question"))[:2]

    last = (await items(platform="wb", item_type="question"))[-1]
    await res.db.execute("UPDATE reputation_items SET ai_analysis = ai_analysis || "
                         "'{\"escalate\": true, \"reasons\": [\"safety\"]}'::jsonb WHERE id = $1", last["id"])
    await res.db.execute("UPDATE reputation_responses SET guard_reason = 'link (t.me/x)' WHERE item_id = $1",
                         last["id"])
    code, out, _ = await adolfd(settings, sandbox, "reviews")
    assert code == 0 and f"#{first['id']} wb question" in out and "→ Здравствуйте" in out
    assert out.startswith(f"#{last['id']} wb question") and "⚠ ESCALATED (safety)" in out.splitlines()[0]
    assert "⚠ held by the content guard: link (t.me/x)" in out
    code, out, err = await adolfd(settings, sandbox, "reviews", "--status", "x")
    assert code == 2 and "unknown status 'x'; expected one of new, analyzed, pending_review" in err, err
    assert "Traceback" not in err

    code, out, _ = await adolfd(settings, sandbox, "approve", str(first["id"]), "--by", "olga")
    assert code == 0 and json.loads(out) == {"status": "approved", "item_id": first["id"], "by": "olga"}
    code, _, err = await adolfd(settings, sandbox, "approve", str(first["id"]))
    assert code == 2 and f"item {first['id']} is approved" in err

    await run_queue("reputation", "default")
    assert (await items(id=first["id"]))[0]["status"] == "published"
    assert replies("wb", "question", first["external_id"]) == 1
    assert (await items(id=second["id"]))[0]["status"] == "pending_review"

    code, out, _ = await adolfd(settings, sandbox, "status", "--json")
    assert code == 0 and {b["breaker"] for b in json.loads(out)["breakers"]} >= {"reputation:wb:question"}


async def test_reviews_refuses_an_unknown_status_and_strips_terminal_escapes(res, settings, sandbox, feed, poll,
                                                                               items):
    code, out, err = await adolfd(settings, sandbox, "reviews", "--status", "x")
    assert code == 2 and "unknown status 'x'" in err and "pending_review" in err and "Traceback" not in err
    code, _, err = await adolfd(settings, sandbox, "reviews", "--limit", "0")
    assert code == 2 and "allowed: 1 to 500" in err

    feed("wb", backlog=1)
    await poll("wb", "question")
    item = (await items(platform="wb", item_type="question"))[0]
    await res.db.execute("UPDATE reputation_items SET text = $2 WHERE id = $1", item["id"], "hi\x1b]0;owned\x07")
    await res.db.execute("UPDATE reputation_responses SET draft_text = $2, final_text = NULL WHERE item_id = $1",
                         item["id"], "Спасибо\x1b[2J\x1b[31m!")
    code, out, _ = await adolfd(settings, sandbox, "reviews")
    assert code == 0 and "→ Спасибо!" in out and "\x1b" not in out and "\x07" not in out
