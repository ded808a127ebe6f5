"""`adolfd worker all` must not import aiogram: its pydantic models cost ~155 MiB of the daemon's 120 MiB budget
(docs/performance.md). Workers send through adolfd.clients.bot_api; aiogram belongs to the bot processes."""
from __future__ import annotations

import json
import subprocess
import sys

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
print(json.dumps({"jobs": jobs, "aiogram": sorted(n for n in sys.modules if n.split(".")[0] == "aiogram")}))
"""


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


@pytest.mark.slow
def test_the_check_sees_aiogram_when_it_is_imported():
    """The same probe notices aiogram, so the test above cannot pass by looking in the wrong place."""
    loaded = worker_side_modules("adolfd.clients.telegram")
    assert "aiogram" in loaded["aiogram"]
