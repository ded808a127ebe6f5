"""`adolfd logistic tasks | task | confirm | start | complete | cancel`: supply tasks as the operations team
handles them (seed 000 §8.4.6). Refusals (unknown task, wrong state, bad quantity) exit 2 and change nothing."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import json
from datetime import date
from typing import Any

from adolfd.admin.shell import EXIT_USAGE, fail, with_resources
from adolfd.domain.logistic.task_lifecycle import PRIORITIES, STATUSES
from adolfd.engine.module import Command
from adolfd.settings import Settings


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="tasks_command", metavar="ACTION", required=True)
    ls = sub.add_parser("tasks", help="list supply tasks (open ones unless --status)")
    ls.add_argument("--brand", help="brand id (default: every brand)")
    ls.add_argument("--priority", choices=PRIORITIES)
    ls.add_argument("--status", choices=(*STATUSES, "all"), help="one status, or all (default: the open ones)")
    ls.add_argument("--date", type=_day, help="plan date YYYY-MM-DD")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--json", action="store_true")
    one = sub.add_parser("task", help="one task in full: what, where, how many, why, and who did what")
    one.add_argument("task_number")
    for name, text in (("confirm", "confirm a new task"), ("start", "mark a confirmed task as shipped")):
        a = sub.add_parser(name, help=text)
        a.add_argument("task_number")
        a.add_argument("--by", help="who acts (default: the system user)")
    done = sub.add_parser("complete", help="complete a shipped task with the quantity actually sent")
    done.add_argument("task_number")
    done.add_argument("quantity_sent", type=int)
    done.add_argument("--by")
    stop = sub.add_parser("cancel", help="cancel an open task with a reason")
    stop.add_argument("task_number")
    stop.add_argument("reason", nargs="+")
    stop.add_argument("--by")


def _line(t: dict[str, Any]) -> str:
    days = "∞" if t["days_of_stock"] is None else f"{t['days_of_stock']:g}"
    return (f"{t['task_number']}  {t['status']:<11} {t['priority']:<11} {t['brand_id']}  {t['article']} → "
            f"{t['cluster_name']}  {t['quantity']} pcs (deficit {t['deficit']}, {days} days of stock)")


def cmd_logistic(args: argparse.Namespace, settings: Settings) -> int:
    from adolfd.domain.logistic.task_lifecycle import TaskActionRefused
    from adolfd.workers.logistic.tasks import OPEN, TaskFilter, UnknownTask, act_on_task, get_task, list_tasks

    async def go(res) -> int:
        what = args.tasks_command
        try:
            if what == "tasks":
                if args.brand is not None and args.brand not in settings.brands:
                    return fail(f"unknown brand {args.brand!r}; expected one of {', '.join(settings.brands)}",
                                EXIT_USAGE)
                statuses = OPEN if args.status is None else None if args.status == "all" else (args.status,)
                tasks = await list_tasks(res.db, TaskFilter(args.brand, args.priority, statuses, args.date,
                                                            args.limit))
                if args.json:
                    print(json.dumps(tasks, ensure_ascii=False, default=str))
                else:
                    print("\n".join(_line(t) for t in tasks) if tasks else "no supply tasks match")
                return 0
            if what == "task":
                print(json.dumps(await get_task(res.db, args.task_number), ensure_ascii=False, default=str,
                                 indent=1))
                return 0
            actor = f"cli:{args.by or getpass.getuser()}"
            move = await act_on_task(res.db, args.task_number, what, actor=actor, now=res.clock.now(),
                                     quantity_sent=getattr(args, "quantity_sent", None),
                                     reason=" ".join(args.reason) if what == "cancel" else None)
        except (UnknownTask, TaskActionRefused) as exc:
            return fail(str(exc).strip("'\""), EXIT_USAGE)
        print(json.dumps({"task_number": args.task_number, "action": move.action.value, "status": move.to_status,
                          "by": actor, "quantity_sent": move.quantity_sent, "reason": move.reason},
                         ensure_ascii=False))
        return 0

    return asyncio.run(with_resources(settings, go))


COMMANDS = (
    Command("logistic", "supply tasks: tasks | task | confirm | start | complete | cancel", cmd_logistic,
            _arguments),
)
