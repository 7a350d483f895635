"""Shared fixtures of the model tests: one torch thread (CPU reductions, and so trained weights,
depend on the thread count; the benchmark's workers run one thread each), the same fixture as the
attribution tests'."""

from __future__ import annotations

from tests.attributions.conftest import _one_thread

__all__ = ["_one_thread"]
