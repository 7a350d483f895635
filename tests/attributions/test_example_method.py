"""The how-to's example (examples/my_method.py) runs as documented and does what it says."""

from __future__ import annotations

from pathlib import Path

import torch

from ssl_xai_bench.attributions import attribute, load_methods_from, unregister_method

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "my_method.py"
DOC = ROOT / "docs" / "adding-a-method.md"


def test_doc_shows_exactly_the_example_file():
    code = EXAMPLE.read_text(encoding="utf-8")
    assert len(code.splitlines()) <= 30
    assert f"```python\n{code}```" in DOC.read_text(encoding="utf-8")


def test_example_method_loads_and_runs(model, inputs, target):
    specs = load_methods_from(EXAMPLE)
    try:
        assert [s.name for s in specs] == ["smoothgrad"]
        assert specs[0].family == "gradient"
        # without noise SmoothGrad is the gradient
        plain = attribute("smoothgrad", model, inputs, target, noise=0.0, n_samples=2)
        torch.testing.assert_close(plain, attribute("gradient", model, inputs, target))
        noisy = attribute("smoothgrad", model, inputs, target, n_samples=3, batch_size=1)
        assert noisy.shape == inputs.shape and torch.isfinite(noisy).all()
        assert torch.equal(noisy, attribute("smoothgrad", model, inputs, target, n_samples=3,
                                            batch_size=1))
        assert not torch.allclose(noisy, plain)
    finally:
        unregister_method("smoothgrad")
