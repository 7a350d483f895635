"""Errors raised by the attribution package.

``AttributionError`` marks a method that failed on its inputs (it raised, returned NaN/inf or the
wrong shape): the harness catches it and marks that method's cells failed, keeping the reason.
Configuration mistakes (unknown method or parameter, bad value) raise ``ValueError`` with the
field named, before any compute.
"""

from __future__ import annotations

from ssl_xai_bench.errors import PluginLoadError


class AttributionError(RuntimeError):
    """An attribution method failed; ``method`` names it and ``reason`` says why."""

    def __init__(self, method: str, reason: str) -> None:
        super().__init__(f"attribution method {method!r} failed: {reason}")
        self.method = method
        self.reason = reason


class MethodLoadError(PluginLoadError):
    """A method file or entry point could not be loaded or defines no method."""


__all__ = ["AttributionError", "MethodLoadError"]
