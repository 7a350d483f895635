"""Where a model trains: ``precision = "auto"`` follows the device's native bfloat16 support,
explicit precisions are kept, and an unknown device type never claims bfloat16."""

from __future__ import annotations

import pytest
import torch

from ssl_xai_bench.models import device as device_module
from ssl_xai_bench.models.device import native_bf16, resolve_device, resolve_precision


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_follows_native_bf16_and_explicit_ones_are_kept(monkeypatch, native):
    seen = []
    monkeypatch.setattr(device_module, "native_bf16", lambda dev: seen.append(dev) or native)
    assert resolve_precision("auto", "cpu") == ("bf16" if native else "fp32")
    assert seen == [torch.device("cpu")]
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert len(seen) == 1  # explicit precisions never ask the hardware


def test_native_bf16_on_the_cpu_is_onednn_support_and_meta_devices_have_none():
    assert native_bf16(torch.device("meta")) is False
    assert native_bf16(resolve_device("cpu")) is bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
