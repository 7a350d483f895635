"""One source of truth for time: ``plan`` (issue 33, case 8).

No preset description and no command line of the README states a duration; ``list`` prints each
preset's wall time as ``plan`` computes it (the same number, calibrated by one speed factor), and
both count the stages the store already holds as free.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ssl_xai_bench.harness import plan
from ssl_xai_bench.harness.config import load_config
from ssl_xai_bench.harness.graph import build_graph
from ssl_xai_bench.harness.presets import PRESETS, preset_dict
from ssl_xai_bench.harness.runner import n_workers
from ssl_xai_bench.harness.store import MANIFEST
from tests.reliability.test_user_errors import cli

ROOT = Path(__file__).resolve().parents[2]
DURATION = re.compile(r"\d[\d.]*\s*-?\s*(s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?)\b"
                      r"|\ban hour\b", re.I)


@pytest.mark.parametrize("preset", PRESETS)
def test_no_preset_description_states_a_duration(preset):
    assert not DURATION.search(preset_dict(preset).get("description", ""))


def test_no_readme_command_states_a_duration():
    text = (ROOT / "README.md").read_text("utf-8")
    commands = [line for block in re.findall(r"```bash\n(.*?)```", text, re.S)
                for line in block.splitlines()]
    assert commands and not [c for c in commands if DURATION.search(c)]


def _half_stored(tmp_path: Path) -> tuple[Path, int]:
    """A store holding the manifests of the smoke graph's RIR and windows nodes."""
    store = tmp_path / "store"
    graph = build_graph(load_config("smoke"))
    done = [n for n in graph.nodes if n.stage in ("rirs", "windows")]
    for node in done:
        (store / node.stage / node.key).mkdir(parents=True)
        (store / node.stage / node.key / MANIFEST).write_text("{}")
    return store, len(done)


def test_plan_counts_what_the_store_holds(tmp_path, capsys):
    store, n_done = _half_stored(tmp_path)
    cfg = load_config("smoke")
    graph = build_graph(cfg)
    cold = plan.estimate(graph, n_workers(cfg))
    warm = plan.estimate(graph, n_workers(cfg), stored=plan.stored_nodes(graph, store))
    assert warm.stored == n_done and cold.stored == 0
    assert warm.stage_seconds["rirs"] == 0 and warm.stage_seconds["windows"] == 0
    assert warm.wall_seconds < cold.wall_seconds
    status, out, _ = cli(capsys, "plan", "--preset", "smoke", "--no-calibrate", "--store",
                         str(store))
    assert status == 0 and f"{n_done} of {len(graph.nodes)} node(s) already in the store" in out
    assert f"wall time on {warm.workers} worker(s): {plan.hms(warm.wall_seconds)}" in out


def test_list_reports_the_plan_of_each_preset(tmp_path, capsys, monkeypatch):
    store, n_done = _half_stored(tmp_path)
    monkeypatch.setattr(plan, "machine_speed", lambda rates=None: 1.0)  # no probe: exact match
    status, out, _ = cli(capsys, "list", "--store", str(store))
    assert status == 0
    for preset in PRESETS:
        status, planned, _ = cli(capsys, "plan", "--preset", preset, "--no-calibrate",
                                 "--store", str(store))
        wall = re.search(r"wall time on (\d+) worker\(s\): (\S+)", planned)
        assert wall, planned
        stored = re.search(r"(\d+) of (\d+) node", planned)
        block = out.split(f"\n  {preset} ", 1)[1].splitlines()[1]
        assert block.strip() == (f"plan here: {wall[2]} on {wall[1]} worker(s); {stored[1]} of "
                                 f"{stored[2]} stage(s) stored"), block
    assert f"{n_done} of" in out.split("\n  smoke ", 1)[1].split("\n")[1]
