"""MetricsConfig: validation naming the field, round trip, presets, shape checks."""

from __future__ import annotations

import pytest

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.presets import PRESETS, preset_dict
from ssl_xai_bench.metrics import quantus_params
from ssl_xai_bench.metrics.config import MetricsConfig


def test_round_trip_and_presets_are_valid():
    for name in PRESETS:
        cfg = MetricsConfig.from_dict(preset_dict(name).get("metrics", {}))
        assert MetricsConfig.from_dict(cfg.to_dict()) == cfg
    assert MetricsConfig.from_dict({}) == MetricsConfig()
    assert "quantus_params" in MetricsConfig.field_names()


@pytest.mark.parametrize(
    ("d", "field"),
    [
        ({"bogus": 1}, "metrics.bogus"),
        ({"quantus_metrics": ["nope"]}, "metrics.quantus_metrics"),
        ({"quantus_params": {"pixel_flipping": {"features_in_step": 0}}},
         "metrics.quantus_params.pixel_flipping.features_in_step"),
        ({"quantus_params": {"pixel_flipping": {"nr_runs": 3}}},
         "metrics.quantus_params.pixel_flipping.nr_runs"),
        ({"manipulation_fractions": [0.0, 0.2]}, "metrics.manipulation_fractions"),
        ({"manipulation_fractions": [0.1, 0.0]}, "metrics.manipulation_fractions"),
        ({"tdoa_variants": ["paper", "paper"]}, "metrics.tdoa_variants"),
        ({"tdoa_pairs": [[1, 1]]}, "metrics.tdoa_pairs"),
        ({"perturb_baseline": "zero"}, "metrics.perturb_baseline"),  # now removal_baselines
        ({"removal_baselines": ["black"]}, "metrics.removal_baselines"),
        ({"removal_baselines": []}, "metrics.removal_baselines"),
        ({"removal_baselines": ["zero", "zero"]}, "metrics.removal_baselines"),
        ({"removal_noise": -0.1}, "metrics.removal_noise"),
        ({"quantus_removal_metrics": ["sparseness"]}, "metrics.quantus_removal_metrics"),
        ({"quantus_metrics": ["pixel_flipping"],
          "quantus_removal_metrics": ["faithfulness_correlation"]},
         "metrics.quantus_removal_metrics"),
        ({"manipulation_curves": ["morf", "sideways"]}, "metrics.manipulation_curves"),
        ({"n_bootstrap": 2}, "metrics.n_bootstrap"),
        ({"ci_level": 1.0}, "metrics.ci_level"),
        ({"srp_phat": "yes"}, "metrics.srp_phat"),
    ],
)
def test_bad_fields_are_named(d, field):
    with pytest.raises(ConfigError) as info:
        MetricsConfig.from_dict(d)
    assert info.value.field == field


def test_shape_dependent_checks_before_compute():
    cfg = MetricsConfig.from_dict(
        {"quantus_params": {"pixel_flipping": {"features_in_step": 1000}}}
    )
    with pytest.raises(ConfigError, match="features_in_step"):
        cfg.validate_for(16, 5120)
    with pytest.raises(ConfigError) as info:
        MetricsConfig.from_dict({"tdoa_paper_pair": [7, 8], "quantus_metrics": []}).validate_for(
            4, 256
        )
    assert info.value.field == "metrics.tdoa_paper_pair"
    MetricsConfig.from_dict(preset_dict("smoke").get("metrics", {})).validate_for(16, 5120)
    MetricsConfig.from_dict(preset_dict("default").get("metrics", {})).validate_for(16, 5120)


@pytest.mark.parametrize(
    ("value", "n_mics", "resolved", "ok"),
    [("T", 16, 5120, True), ("2T", 16, 10240, True), ("16T", 16, 81920, True),
     ("3T", 16, 15360, False),  # does not divide M x T = 16 T
     (2560, 16, 2560, True), (10240, 16, 10240, True), (7680, 16, 7680, False),
     ("0T", 16, None, False), ("T2", 16, None, False)],
)
def test_features_in_step_in_window_lengths(value, n_mics, resolved, ok):

    params = quantus_params.metric_params("pixel_flipping", {"features_in_step": value})
    if resolved is not None:
        assert quantus_params.resolve_params(params, 5120)["features_in_step"] == resolved
    if ok:
        quantus_params.validate_params("pixel_flipping", params, n_mics, 5120)
    else:
        with pytest.raises(ConfigError, match="pixel_flipping.features_in_step"):
            quantus_params.validate_params("pixel_flipping", params, n_mics, 5120)
