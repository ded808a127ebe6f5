"""`adolfd worker all` must not import aiogram: its pydantic models cost ~155 MiB of the daemon's 120 MiB budget
(docs/performance.md). Workers send through adolfd.clients.bot_api; aiogram belongs to the bot processes."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

# What `adolfd worker all` loads before it serves: the command line, the runtime and its scheduler, resources,
# then every module's clients and the ARQ functions and cron rows of every queue (which imports every job).
WORKER_SIDE = """
import json, sys
from adolfd.admin import cli
from adolfd.engine import runtime, scheduler
from adolfd.modules import MODULES
from adolfd.process import resources

jobs = {}
for module in MODULES:
    module.loaded("clients")
    for queue in module.queues:
        functions, cron = runtime.worker_functions(module.name, queue.name)
        jobs[module.name] = jobs.get(module.name, 0) + len(functions)
for extra in sys.argv[1:]:
    __import__(extra)
print(json.dumps({"jobs": jobs, "aiogram": sorted(n for n in sys.modules if n.split(".")[0] == "aiogram"),
                  "files": {n: m.__file__ for n, m in sys.modules.items()
                            if n.startswith("adolfd.") and getattr(m, "__file__", None)}}))
"""

# Imports that bring aiogram in when they run (a job's lazy import would load it at its first run, not at start).
AIOGRAM_SIDE = ("aiogram", "adolfd.clients.telegram", "adolfd.admin.alert_delivery", "adolfd.admin.bot")
# The command line dispatches to the bot processes' commands (`adolfd bot`, `adolfd carsbot-bot`) lazily.
CLI = "adolfd.admin.cli"


def worker_side_modules(*extra: str) -> dict:
    done = subprocess.run([sys.executable, "-c", WORKER_SIDE, *extra], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_worker_side_of_every_module_does_not_import_aiogram():
    from adolfd.modules import MODULES

    loaded = worker_side_modules()
    assert set(loaded["jobs"]) == {m.name for m in MODULES}
    assert loaded["jobs"]["carsbot"] >= 5            # the carsbot jobs that talk to Telegram were imported
    assert loaded["aiogram"] == [], f"the worker imports aiogram: {loaded['aiogram'][:5]}"


def aiogram_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of the aiogram side, at any depth, except under `if TYPE_CHECKING:`."""
    tree = ast.parse(source)
    typing_only = {id(n) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, n) for n in names if n == "aiogram" or n.startswith(tuple(f"{p}." for p in
                  AIOGRAM_SIDE)) or n in AIOGRAM_SIDE]
    return found


def test_no_job_imports_aiogram_when_it_runs():
    """A job's own lazy import (`from aiogram.types import …` inside a function) would bring aiogram in at its
    first run: none of the worker's modules has one."""
    loaded = worker_side_modules()
    lazy = {name: aiogram_imports(Path(path).read_text()) for name, path in loaded["files"].items() if name != CLI}
    assert {name: found for name, found in lazy.items() if found} == {}
    assert aiogram_imports("def send():\n    from aiogram.types import BufferedInputFile\n") == [
        (2, "aiogram.types")]                                        # the scan sees a lazy import


@pytest.mark.slow
def test_the_check_sees_aiogram_when_it_is_imported():
    """The same probe notices aiogram, so the test above cannot pass by looking in the wrong place."""
    loaded = worker_side_modules("adolfd.clients.telegram")
    assert "aiogram" in loaded["aiogram"]
