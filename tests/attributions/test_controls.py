"""The controls: energy is |x|; random is seeded, standard normal and independent of batching."""

from __future__ import annotations

import pytest
import torch

from ssl_xai_bench.attributions import attribute


def test_energy_is_magnitude(model, inputs, target):
    assert torch.equal(attribute("energy", model, inputs, target), inputs.abs())


def test_random_is_seeded_and_batch_independent(model, inputs, target):
    a = attribute("random", model, inputs, target, seed=3)
    assert torch.equal(a, attribute("random", model, inputs, target, seed=3))
    assert not torch.allclose(a, attribute("random", model, inputs, target, seed=4))
    # the same window gets the same noise whatever the chunking or its place in the batch
    assert torch.equal(a, attribute("random", model, inputs, target, seed=3, batch_size=1))
    flipped = attribute("random", model, inputs.flip(0), target.flip(0), seed=3)
    assert torch.equal(flipped, a.flip(0))
    # different windows get different noise
    assert not torch.allclose(a[0], a[1])


def test_random_is_standard_normal(model, inputs, target):
    values = attribute("random", model, inputs, target).flatten()
    assert abs(values.mean().item()) < 0.03
    assert abs(values.std().item() - 1.0) < 0.03


def test_random_seed_validated(model, inputs, target):
    with pytest.raises(ValueError, match="seed"):
        attribute("random", model, inputs, target, seed=-1)
