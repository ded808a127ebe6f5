"""docs/grafana/adolfd.json queries only metrics adolfd exports (adolfd.process.metrics)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from adolfd.process import metrics  # noqa: F401  (registers adolfd's metrics)
from prometheus_client import REGISTRY

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "adolfd.json"
_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
             "gauge": ("",), "summary": ("_count", "_sum", "_created")}


def exported() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
    return names


def test_every_queried_metric_is_exported() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\badolfd_[a-z0-9_]+", target["expr"])}
    assert queried, "the dashboard queries no adolfd metric"
    missing = queried - exported()
    assert not missing, f"the dashboard queries metrics adolfd does not export: {sorted(missing)}"


def test_a_misspelt_metric_would_be_caught() -> None:
    assert "adolfd_job_runs_total" in exported() and "adolfd_job_run_total" not in exported()
