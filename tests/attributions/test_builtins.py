"""Every built-in on both models: shape, dtype, finiteness, determinism, batch independence."""

from __future__ import annotations

import pytest
import torch

from ssl_xai_bench.attributions import attribute, get_method, list_methods

BUILTINS = (
    "lrp", "lrp_epsilon_first", "lrp_zbox_first", "lrp_epsilon_plus_flat", "gradient",
    "gradient_x_input", "integrated_gradients", "occlusion", "random", "energy",
)


def test_builtins_registered_with_families():
    specs = {spec.name: spec for spec in list_methods()}
    assert set(BUILTINS) <= set(specs)
    families = {name: specs[name].family for name in BUILTINS}
    assert families["lrp"] == families["lrp_zbox_first"] == "lrp"
    assert families["integrated_gradients"] == "gradient"
    assert families["occlusion"] == "perturbation"
    assert families["random"] == families["energy"] == "control"
    assert all(specs[name].source == "builtin" for name in BUILTINS)


@pytest.mark.parametrize("method", BUILTINS)
def test_builtin_output_and_determinism(method, model, inputs, target):
    before = inputs.clone()
    params = {"n_steps": 8} if method == "integrated_gradients" else {}
    first = attribute(method, model, inputs, target, **params)
    second = attribute(method, model, inputs, target, **params)
    assert first.shape == inputs.shape
    assert first.dtype == torch.float32
    assert first.device.type == "cpu"
    assert torch.isfinite(first).all()
    assert first.abs().sum() > 0
    assert torch.equal(first, second), "same call twice must give identical relevance"
    assert torch.equal(inputs, before), "inputs must not be modified"
    assert not model.training
    # chunked computation gives the same relevance as one batch up to float32 round-off
    # (amplified by LRP denominators; occlusion differences cancel to ~eps * |f|, f ~ 1);
    # misaligned chunks or targets would differ by O(1)
    chunked = attribute(method, model, inputs, target, batch_size=1, **params)
    atol = max(1e-3 * first.abs().max().item(), 1e-6)
    torch.testing.assert_close(chunked, first, rtol=1e-3, atol=atol)


@pytest.mark.parametrize("method", ("lrp", "gradient", "occlusion"))
def test_target_mode_changes_the_explained_scalar(method, model, inputs, target):
    full = attribute(method, model, inputs, target)
    parts = [attribute(method, model, inputs, target, target_mode=k) for k in "xyz"]
    # every method here is linear in the output weights w: x + y + z parts = position
    atol = max(1e-4 * full.abs().max().item(), 1e-6)
    torch.testing.assert_close(sum(parts), full, rtol=1e-3, atol=atol)
    assert not torch.allclose(parts[1], full)


def test_default_params_are_cpu_sensible():
    assert get_method("integrated_gradients").defaults["n_steps"] == 32
    occ = get_method("occlusion").defaults
    assert (occ["window"], occ["stride"], occ["mode"]) == (256, 256, "all_mics")
    assert get_method("lrp").defaults["se_relevance"] == "gate"
