"""A metric and a model added from files outside the package run in the smoke preset, reach the
headline tables, and an edit of either recomputes exactly the nodes that use it.

The how-tos' examples (``examples/my_metric.py``, ``examples/my_model.py``) are copied into a
temporary folder and given to the CLI with ``--metrics-from`` and ``--models-from`` on a reduced
smoke configuration (LocCNN and the plug-in model, one method). Each run's ``run_summary.json``
lists the nodes it computed (as in ``tests/harness/test_cache_keys.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import ssl_xai_bench
from ssl_xai_bench.report.citable import write_citable
from tests.harness.test_cache_keys import CODE_EDIT
from tests.harness.test_cache_keys import CONFIG as KEYS_CONFIG

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIG = (KEYS_CONFIG.replace('name = "keys"', 'name = "plugins"')
          .replace('models = ["loccnn", "samplecnn"]', 'models = ["loccnn", "tiny"]')
          .replace('methods = ["lrp", "gradient", "doubled_input"]', 'methods = ["gradient"]')
          + "[training.per_model.tiny]\nlr = 0.001\n")


def _cli(root: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(ssl_xai_bench.__file__).parents[1])}
    proc = subprocess.run([sys.executable, "-m", "ssl_xai_bench.cli", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def _run(root: Path) -> set[tuple[str, str]]:
    _cli(root, "run", "--config", "config.toml", "--metrics-from", "user/my_metric.py",
         "--models-from", "user/my_model.py", "--store", "store", "--results-dir", "results",
         "--no-report")
    summary = json.loads((root / "results" / "plugins" / "run_summary.json").read_text())
    return {(n["stage"], n["label"]) for n in summary["computed_nodes"]}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plugins")
    (root / "user").mkdir()
    for name in ("my_metric.py", "my_model.py"):
        shutil.copy(EXAMPLES / name, root / "user" / name)
    (root / "config.toml").write_text(CONFIG)
    return root


def test_plugins_run_reach_the_headline_and_edits_recompute_their_nodes(workspace):
    cold = _run(workspace)
    assert {label.split()[0] for _, label in cold if " " in label} >= {"loccnn", "tiny"}
    results = workspace / "results" / "plugins"
    board = pd.read_csv(results / "leaderboard.csv")
    rows = board[board["metric"] == "mic_entropy"]
    assert set(rows["model"]) == {"loccnn", "tiny"} and (rows["status"] == "ok").all()
    spec = next(m for m in json.loads((results / "metrics.json").read_text())
                if m["name"] == "mic_entropy")
    assert spec["source"].startswith("file:") and spec["headline"]["short"] == "Spread"

    tables = write_citable(results).files["sanity"].parent  # the report reads metrics.json
    overall = pd.read_csv(tables / "headline_overall.csv")
    assert "mic_entropy" in set(overall["metric"])
    tiny = pd.read_csv(tables / "headline_tiny.csv")
    assert set(tiny["method"]) == {"gradient"}
    assert "Spread ↑" in (tables / "headline_tiny.md").read_text("utf-8")

    with open(workspace / "user" / "my_model.py", "a", encoding="utf-8") as f:
        f.write(CODE_EDIT)
    tiny_nodes = {node for node in cold if node[1].startswith("tiny ")}
    assert {stage for stage, _ in tiny_nodes} == {"model", "controls", "attribution", "metrics"}
    assert _run(workspace) == tiny_nodes
    with open(workspace / "user" / "my_metric.py", "a", encoding="utf-8") as f:
        f.write(CODE_EDIT)
    metric_nodes = {node for node in cold if node[0] == "metrics"}
    assert len(metric_nodes) == 2  # one per model: the metric scores every cell again
    assert _run(workspace) == metric_nodes
