"""The plan: work features follow the configuration, the schedule is a real makespan, rates fitted
on known costs are recovered. The check of a prediction against a measured run is a performance
check: it lives in the benchmark suite (``tests/benchmarks/test_plan_rates.py``)."""

from __future__ import annotations

import re

import pytest

from ssl_xai_bench.harness.config import load_config
from ssl_xai_bench.harness.graph import build_graph
from ssl_xai_bench.harness.plan import (
    estimate,
    fit_rates,
    load_rates,
    node_features,
    node_scenes,
)
from tests.e2e.conftest import run_cli


def _smoke(**sources):
    overrides = [{"scene": {"sources": sources}}] if sources else []
    return build_graph(load_config("smoke", overrides=overrides))


def _features(graph, stage):
    scenes = node_scenes(graph)
    node = next(n for n in graph.nodes if n.stage == stage)
    return node_features(node, scenes[(node.stage, node.key)])


def test_features_follow_the_configuration():
    model = [_features(_smoke(n_train=n), "model")["loccnn_window_mic"] for n in (40, 80, 120)]
    # linear in the training sources (the validation part stays)
    assert model[2] - model[1] == pytest.approx(model[1] - model[0]) and model[1] > model[0]
    rirs = [_features(_smoke(n_train=n), "rirs")["fast_position_mic_s"] for n in (40, 80)]
    # positions of every split (smoke: 10 val and 12 test sources) x 16 mics x T60 0.3 s
    assert rirs == pytest.approx([(40 + 22) * 16 * 0.3, (80 + 22) * 16 * 0.3])


def test_training_cost_follows_the_precision_and_the_hardware(monkeypatch):
    def model_work(precision, native):
        monkeypatch.setattr("ssl_xai_bench.harness.plan.native_bf16", lambda device: native)
        cfg = load_config("smoke", overrides=[{"training": {"precision": precision}}])
        return _features(build_graph(cfg), "model")["loccnn_window_mic"]

    fp32 = model_work("fp32", True)
    assert model_work("fp32", False) == fp32
    # a step of 3 passes costs 0.62x with native bfloat16 and 7.2x emulated; validation is fp32
    assert fp32 > model_work("bf16", True) > 0.62 * fp32
    assert 7.2 * fp32 > model_work("bf16", False) > fp32


def test_fitted_rates_recover_known_costs():
    rates = load_rates()
    graph = _smoke()
    truth = estimate(graph, 2, rates)
    summary = {"workers": 2, "computed_nodes": [
        {"stage": n.stage, "label": n.label, "seconds": truth.node_seconds[(n.stage, n.key)]}
        for n in graph.nodes]}
    other = build_graph(load_config("smoke", overrides=[{"matrix": {"t60": [0.6]},
                                                          "scene": {"sources": {"n_train": 20}}}]))
    other_truth = estimate(other, 2, rates)
    other_summary = {"workers": 2, "computed_nodes": [
        {"stage": n.stage, "label": n.label, "seconds": other_truth.node_seconds[(n.stage, n.key)]}
        for n in other.nodes]}
    fitted = fit_rates([(graph, summary, truth.wall_seconds),
                        (other, other_summary, other_truth.wall_seconds)], 1.0, "test")
    again = estimate(graph, 2, {**fitted, "probe_seconds": 1.0})
    for ident, seconds in truth.node_seconds.items():
        assert again.node_seconds[ident] == pytest.approx(seconds, rel=1e-3, abs=1e-3)
    assert again.wall_seconds == pytest.approx(truth.wall_seconds, rel=0.01)


def test_more_workers_never_take_longer():
    graph = build_graph(load_config("default"))
    rates = load_rates()
    walls = [estimate(graph, w, rates).makespan for w in (1, 2, 4, 16)]
    assert walls == sorted(walls, reverse=True)
    one = estimate(graph, 1, rates)
    assert one.makespan == pytest.approx(sum(one.node_seconds.values()))


@pytest.mark.slow
def test_plan_of_the_full_preset_prints_its_estimate(tmp_path):
    proc = run_cli("plan", "--preset", "full", cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"wall time on \d+ worker\(s\): ", proc.stdout)
    for stage in ("rirs", "windows", "model", "attribution", "metrics"):
        assert re.search(rf"^{stage}\s+\d+\s+[\d.]+", proc.stdout, re.M), stage
