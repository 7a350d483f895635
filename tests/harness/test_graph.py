"""The stage graph's model nodes under each training scope: who starts from whom, with which
training settings, and which keys are shared with the study's per-condition scope."""

from __future__ import annotations

import pytest

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.config import load_config
from ssl_xai_bench.harness.graph import build_graph

TWO_CONDITIONS = {"matrix": {"t60": [0.15, 0.6], "models": ["loccnn", "samplecnn"]}}


def _models(**training):
    cfg = load_config("smoke", overrides=[TWO_CONDITIONS, {"training": training}])
    return [n for n in build_graph(cfg).nodes if n.stage == "model"]


def test_curriculum_chains_each_model_through_the_conditions_in_matrix_order():
    cold = _models()
    warm = _models(scope="curriculum", finetune_epochs=2)
    assert all(list(n.inputs) == ["windows"] for n in cold)
    for model in ("loccnn", "samplecnn"):
        first, second = [n for n in warm if n.config.model == model]
        assert list(first.inputs) == ["windows"] and not first.config.warm_start
        assert second.inputs["model:init"] == first.key and second.config.warm_start
        assert "T60=0.15s" in first.label and "T60=0.6s" in second.label
        tc = second.config.training
        assert tc.max_epochs == 2
        assert not tc.init_output_bias and not tc.zero_output_weights  # keeps its output layer
        assert first.config.training.init_output_bias  # the preset's, from scratch
    # the first condition is trained exactly as in the per-condition scope (one stored model)
    assert {n.key for n in warm if not n.config.warm_start} < {n.key for n in cold}
    assert not {n.key for n in warm if n.config.warm_start} & {n.key for n in cold}


def test_geometry_scope_trains_one_mixture_per_model_and_evaluates_it_per_condition():
    nodes = _models(scope="geometry")
    mixtures = [n for n in nodes if n.config.mixture]
    assert sorted(n.config.model for n in mixtures) == ["loccnn", "samplecnn"]
    windows = {k for n in mixtures for r, k in n.inputs.items() if r.startswith("windows")}
    assert len(windows) == 2 and all(len(n.inputs) == 2 for n in mixtures)
    per_condition = [n for n in nodes if not n.config.mixture]
    assert len(per_condition) == 4
    by_model = {n.config.model: n.key for n in mixtures}
    for n in per_condition:
        assert n.inputs["model:init"] == by_model[n.config.model]
        assert n.config.warm_start and n.config.training is None  # evaluated as it is


def test_initialisations_apply_to_runs_from_scratch_not_to_warm_starts():
    # a restart re-initialises the weights and the input gain's init multiplies them: either
    # would throw a warm start away; the gain's learning rate stays
    for scope in ("curriculum", "geometry"):
        nodes = _models(scope=scope, finetune_epochs=2, mean_escape_epochs=3, input_gain=True,
                        init_input_gain=True)
        scratch = [n.config.training for n in nodes if not n.config.warm_start]
        warm = [n.config.training for n in nodes if n.config.warm_start]
        assert scratch and warm
        assert all(t.mean_escape_epochs == 3 and t.init_input_gain for t in scratch)
        assert all(t.mean_escape_epochs == 0 and not t.init_input_gain for t in warm)
        assert all(t.input_gain for t in scratch + warm)


def test_fine_tuning_runs_at_the_scaled_rate_and_the_default_keeps_the_keys():
    plain = _models(scope="curriculum", finetune_epochs=2)
    slow = _models(scope="curriculum", finetune_epochs=2, finetune_lr_scale=0.1,
                   per_model={"samplecnn": {"lr": 0.003}})
    explicit = _models(scope="curriculum", finetune_epochs=2, finetune_lr_scale=1.0)
    assert [n.key for n in explicit] == [n.key for n in plain]  # 1.0: nothing changes
    lrs = {(n.config.model, n.config.warm_start): n.config.training.lr for n in slow}
    # loccnn has no lr set: the study's 1e-3 scaled; samplecnn its own 0.003 scaled
    assert lrs[("loccnn", True)] == pytest.approx(1e-4)
    assert lrs[("samplecnn", True)] == pytest.approx(3e-4)
    assert lrs[("loccnn", False)] is None and lrs[("samplecnn", False)] == 0.003  # from scratch
    with pytest.raises(ConfigError, match="training.finetune_lr_scale"):
        _models(finetune_lr_scale=0.1)  # nothing is fine-tuned
    with pytest.raises(ConfigError, match="training.finetune_lr_scale"):
        _models(scope="curriculum", finetune_epochs=2, finetune_lr_scale=2.0)


def test_scope_needs_matching_finetune_epochs():
    with pytest.raises(ConfigError, match="training.finetune_epochs"):
        _models(scope="curriculum")
    with pytest.raises(ConfigError, match="training.finetune_epochs"):
        _models(finetune_epochs=3)
    with pytest.raises(ConfigError, match="training.scope"):
        _models(scope="cluster")


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_keyed_and_recorded_as_the_precision_used(monkeypatch, native):
    monkeypatch.setattr("ssl_xai_bench.models.device.native_bf16", lambda device: native)
    used = "bf16" if native else "fp32"
    auto = load_config("smoke", overrides=[TWO_CONDITIONS, {"training": {"precision": "auto"}}])
    stated = load_config("smoke", overrides=[TWO_CONDITIONS, {"training": {"precision": used}}])
    other = load_config("smoke", overrides=[TWO_CONDITIONS, {"training": {
        "precision": "fp32" if native else "bf16"}}])
    assert auto.to_dict()["training"]["precision"] == used  # provenance.json's config
    keys = {name: [n.key for n in build_graph(c).nodes if n.stage == "model"]
            for name, c in (("auto", auto), ("stated", stated), ("other", other))}
    assert all(n.config.training.precision == used
               for n in build_graph(auto).nodes if n.stage == "model")
    # the same stored models as the precision written out, never those of the other one
    assert keys["auto"] == keys["stated"]
    assert not set(keys["auto"]) & set(keys["other"])


def test_a_per_model_scope_changes_that_model_only():
    # paper-lite's shape: LocCNN in the section's curriculum, SampleCNN one model per condition
    section = _models(scope="curriculum", finetune_epochs=2)
    mixed = _models(scope="curriculum", finetune_epochs=2,
                    per_model={"samplecnn": {"scope": "condition", "finetune_epochs": 0}})
    cold = _models()
    by_model = {m: [n.key for n in nodes if n.config.model == m]
                for m in ("loccnn", "samplecnn") for nodes in [mixed]}
    assert by_model["loccnn"] == [n.key for n in section if n.config.model == "loccnn"]
    assert by_model["samplecnn"] == [n.key for n in cold if n.config.model == "samplecnn"]
    assert not any(n.config.warm_start for n in mixed if n.config.model == "samplecnn")
    # a per-model mixture: one mixture model, for that model only
    geo = _models(per_model={"samplecnn": {"scope": "geometry"}})
    assert [n.config.model for n in geo if n.config.mixture] == ["samplecnn"]
    # the table's own fields are checked with the section's rules, under its own name
    with pytest.raises(ConfigError, match="training.per_model.samplecnn.finetune_epochs"):
        _models(scope="curriculum", finetune_epochs=2, per_model={"samplecnn": {
            "scope": "condition"}})  # inherits 2 epochs of fine-tuning it cannot use
    with pytest.raises(ConfigError, match="training.per_model.samplecnn.scope"):
        _models(per_model={"samplecnn": {"scope": "cluster"}})


def test_a_per_model_scope_is_written_out_and_read_back():
    from ssl_xai_bench.harness.config import config_from_dict

    plain = load_config("smoke", overrides=[TWO_CONDITIONS, {"training": {
        "scope": "curriculum", "finetune_epochs": 2, "per_model": {"samplecnn": {"lr": 0.003}}}}])
    assert "scope" not in plain.to_dict()["training"]["per_model"]["samplecnn"]  # hash as before
    mixed = load_config("smoke", overrides=[TWO_CONDITIONS, {"training": {
        "scope": "curriculum", "finetune_epochs": 2,
        "per_model": {"samplecnn": {"scope": "condition", "finetune_epochs": 0}}}}])
    d = mixed.to_dict()
    assert d["training"]["per_model"]["samplecnn"]["scope"] == "condition"
    again = config_from_dict(d)
    assert again.training.scope_for("samplecnn@x").scope == "condition"
    assert again.training.scope_for("loccnn").finetune_epochs == 2
    assert again.config_hash() == mixed.config_hash()
