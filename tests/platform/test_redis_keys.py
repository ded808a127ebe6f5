"""Every Redis key name, channel and job id is written in `adolfd/keys.py` and nowhere else, so a key can be found,
renamed or documented in one place (as arq keeps its own in `arq/constants.py`)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from adolfd import keys

PACKAGE = Path(keys.__file__).parent
ROOT = PACKAGE.parent
# adolfd's own prefixes and the modules' (ARQ's `arq:` keys are ARQ's); a word character right after the colon, so
# a message such as "adolfd: bad argument" is not a key, a bare prefix such as "adolfd:" is
KEY_LITERAL = re.compile(r"^(adolfd|office|logistic|marketing|reputation|watcher|carsbot):([\w{*]|$)")
# string arguments that look like keys but live elsewhere: alert dedup keys are a PostgreSQL column, help is text
NOT_REDIS = {"dedup_key", "help"}


def key_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string or f-string in `source` that starts like a Redis key."""
    tree = ast.parse(source)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skipped.add(id(first.value))                        # a docstring
        elif isinstance(node, ast.keyword) and node.arg in NOT_REDIS:
            skipped.add(id(node.value))
        elif isinstance(node, ast.JoinedStr):
            skipped.update(id(part) for part in node.values)         # judged as the whole f-string
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(p.value if isinstance(p, ast.Constant) else "{}" for p in node.values)
        else:
            continue
        if KEY_LITERAL.match(text):
            found.append((node.lineno, text))
    return found


def test_the_check_finds_key_literals_and_ignores_dedup_keys_messages_and_docstrings() -> None:
    source = '''"""watcher:generation:{date} is the record."""
NAME = "watcher:claimed:{agent}"
def f(ctx, row):
    """marketing:lock:bid_cycle guards it."""
    ctx.enqueue("watcher.x", _job_id=f"watcher:notify:{row['id']}")
    alert(dedup_key=f"carsbot:sheet:{row}")
    print(f"adolfd: {row}")
    add_argument("queue", help="adolfd:MODULE:QUEUE")
    return "adolfd:" + row, "arq:job:" + row
'''
    assert key_literals(source) == [(2, "watcher:claimed:{agent}"), (5, "watcher:notify:{}"), (9, "adolfd:")]


def test_no_redis_key_literal_outside_adolfd_keys() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == Path(keys.__file__):
            continue
        offenders += [f"{path.relative_to(ROOT)}:{line}: {text!r}"
                      for line, text in key_literals(path.read_text(encoding="utf-8"))]
    assert offenders == [], "Redis key names belong in adolfd/keys.py:\n" + "\n".join(offenders)


def test_no_module_keeps_its_own_keys_file() -> None:
    assert sorted(str(p.relative_to(ROOT)) for p in PACKAGE.glob("workers/*/keys.py")) == []


def test_the_agents_protocol_keys_are_the_documented_ones() -> None:
    """docs/agents.md is a contract with programs outside adolfd: these names never change."""
    assert keys.WATCHER_TASK_QUEUE == "watcher:task_queue:{marketplace}"
    assert keys.WATCHER_TASK_PAYLOAD == "watcher:task:{task_id}"
    assert keys.WATCHER_CLAIMED == "watcher:claimed:{agent}"
    assert keys.WATCHER_EVENTS == "watcher:agent_events"
    assert keys.WATCHER_DEAD_LETTER == "watcher:agent_events:dead"
    assert keys.WATCHER_IP_BLOCKED == "watcher:ip_blocked:{ip}"
    assert keys.WATCHER_CONSUMER_GROUP == "adolfd"
    documented = (ROOT / "docs" / "agents.md").read_text(encoding="utf-8")
    for key in (keys.WATCHER_TASK_QUEUE, keys.WATCHER_TASK_PAYLOAD, keys.WATCHER_CLAIMED, keys.WATCHER_EVENTS,
                keys.WATCHER_DEAD_LETTER, keys.WATCHER_IP_BLOCKED):
        assert key in documented, key
