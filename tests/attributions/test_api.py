"""attribute(): input and parameter validation, output checks, batching, model state."""

from __future__ import annotations

import pytest
import torch

from ssl_xai_bench.attributions import (
    AttributionError,
    attribute,
    register_method,
    unregister_method,
)


@pytest.fixture
def broken_methods():
    @register_method("test_raises", family="user")
    def raises(model, inputs, target):
        raise RuntimeError("kaboom")

    @register_method("test_nan", family="user")
    def nan(model, inputs, target):
        out = inputs.clone()
        out[0, 0, 0] = float("nan")
        return out

    @register_method("test_shape", family="user")
    def shape(model, inputs, target):
        return inputs[:, :1]

    @register_method("test_int", family="user")
    def integer(model, inputs, target):
        return torch.ones(inputs.shape, dtype=torch.int64)

    @register_method("test_chunks", family="user", defaults={"calls": None})
    def chunks(model, inputs, target, *, calls):
        calls.append((inputs.shape[0], target.clone()))
        return inputs * 2

    yield
    for name in ("test_raises", "test_nan", "test_shape", "test_int", "test_chunks"):
        unregister_method(name)


@pytest.mark.parametrize(
    ("method", "reason"),
    [("test_raises", "RuntimeError: kaboom"), ("test_nan", "1 non-finite"),
     ("test_shape", "shape"), ("test_int", "dtype")],
)
def test_failures_raise_attribution_error(broken_methods, method, reason, model, inputs, target):
    with pytest.raises(AttributionError, match=reason) as info:
        attribute(method, model, inputs, target)
    assert info.value.method == method
    assert not model.training


def test_batching_splits_inputs_and_targets(broken_methods, model, inputs, target):
    calls = []
    x = torch.cat([inputs, inputs[:1]])
    t = torch.cat([target, target[:1] * 2])
    out = attribute("test_chunks", model, x, t, batch_size=2, calls=calls)
    assert [n for n, _ in calls] == [2, 1]
    torch.testing.assert_close(torch.cat([c for _, c in calls]), t)
    torch.testing.assert_close(out, 2 * x)


def test_target_mode_masks_target(broken_methods, model, inputs, target):
    calls = []
    attribute("test_chunks", model, inputs, target, target_mode="y", calls=calls)
    expected = torch.zeros_like(target)
    expected[:, 1] = target[:, 1]
    torch.testing.assert_close(calls[0][1], expected)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"n_stepz": 3}, "params"), ({"target_mode": "w"}, "target_mode"),
     ({"batch_size": 0}, "batch_size"), ({"se_relevance": "both"}, "se_relevance")],
)
def test_bad_params_raise_before_compute(kwargs, field, model, inputs, target):
    method = "lrp" if "se_relevance" in kwargs else "gradient"
    with pytest.raises(ValueError, match=field):
        attribute(method, model, inputs, target, **kwargs)


def test_bad_inputs_are_named(model, inputs, target):
    with pytest.raises(ValueError, match="inputs"):
        attribute("gradient", model, inputs[0], target)
    with pytest.raises(ValueError, match="target"):
        attribute("gradient", model, inputs, target[:1])
    with pytest.raises(ValueError, match="method"):
        attribute("nope", model, inputs, target)


def test_training_mode_restored_and_eval_used(model, inputs, target):
    model.train()
    relevance = attribute("gradient", model, inputs, target)
    assert model.training
    model.eval()
    torch.testing.assert_close(relevance, attribute("gradient", model, inputs, target))
