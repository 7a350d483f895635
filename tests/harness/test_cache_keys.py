"""A cache that can never serve stale results: an edit recomputes exactly what depends on it.

The test copies the package into a temporary folder, runs a tiny smoke configuration there (both
models; ``lrp``, ``gradient`` and a user method that imports a helper module beside it), then
edits one file at a time and reruns. Each run's ``run_summary.json`` lists the nodes it computed;
they must be exactly the nodes whose code imports the edited file (directly or through another
module), and their downstream nodes. An edit that no stage imports, or one of a docstring only,
recomputes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ssl_xai_bench

pytestmark = pytest.mark.slow

CONFIG = """
preset = "smoke"
name = "keys"
[scene.sources]
n_train = 6
n_val = 3
n_test = 3
[matrix]
models = ["loccnn", "samplecnn"]
methods = ["lrp", "gradient", "doubled_input"]
[training]
max_epochs = 1
[attribution]
n_test_windows = 4
[metrics]
quantus_metrics = ["sparseness"]
manipulation_fractions = [0.0, 0.1]
tdoa_pairs = [[0, 1]]
srp_phat = false
[runner]
mode = "inprocess"
progress = false
"""
HELPER = "def scale(x):\n    return 2.0 * x\n"
METHODS = '''"""A user's method file that imports a helper module beside it."""

import my_helper

from ssl_xai_bench.attributions import register_method


@register_method("doubled_input", family="user")
def doubled_input(model, inputs, target):
    return my_helper.scale(inputs)
'''
CODE_EDIT = "\n\ndef _an_edit():\n    return 1\n"


def _run(root: Path) -> set[tuple[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    cmd = [sys.executable, "-m", "ssl_xai_bench.cli", "run", "--config", "config.toml",
           "--methods-from", "user/my_methods.py", "--store", "store", "--results-dir",
           "results", "--no-report"]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((root / "results" / "keys" / "run_summary.json").read_text())
    return {(n["stage"], n["label"]) for n in summary["computed_nodes"]}


def _edit(path: Path, text: str) -> None:
    path.write_text(path.read_text("utf-8") + text, "utf-8")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("keys")
    shutil.copytree(Path(ssl_xai_bench.__file__).parent, root / "src" / "ssl_xai_bench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "user").mkdir()
    (root / "user" / "my_helper.py").write_text(HELPER)
    (root / "user" / "my_methods.py").write_text(METHODS)
    (root / "config.toml").write_text(CONFIG)
    return root


def test_each_edit_recomputes_exactly_its_dependants(workspace):
    pkg = workspace / "src" / "ssl_xai_bench"
    cold = _run(workspace)
    stages = {stage for stage, _ in cold}
    assert stages == {"rirs", "windows", "baselines", "signals", "model", "controls",
                      "attribution", "metrics"}
    assert _run(workspace) == set(), "a rerun with no edit computes nothing"

    # acoustics/audio.py: imported by speech.py, which the windows stage imports; the RIRs
    # do not depend on it, everything downstream of the windows does
    _edit(pkg / "acoustics" / "audio.py", CODE_EDIT)
    assert _run(workspace) == {node for node in cold if node[0] != "rirs"}

    # SampleCNN's canonizers: only SampleCNN's LRP relevance and its metrics
    _edit(pkg / "models" / "samplecnn" / "canonizers.py", CODE_EDIT)
    lrp_samplecnn = {node for node in cold if node[0] in ("attribution", "metrics")
                     and node[1].startswith("samplecnn lrp ")}
    assert len(lrp_samplecnn) == 2
    assert _run(workspace) == lrp_samplecnn

    # the helper module the user's method file imports: only that method's nodes
    _edit(workspace / "user" / "my_helper.py", CODE_EDIT)
    user_nodes = {node for node in cold if " doubled_input " in node[1]}
    assert len(user_nodes) == 4  # attribution and metrics, two models
    assert _run(workspace) == user_nodes

    # code no stage imports (the report), and a docstring of a stage's module: nothing
    _edit(pkg / "report" / "html.py", CODE_EDIT)
    stage = pkg / "harness" / "stages" / "metrics.py"
    stage.write_text(stage.read_text("utf-8").replace('"""Stage ``metrics``: every metric',
                                                      '"""Stage ``metrics``: all metrics', 1))
    assert _run(workspace) == set()
