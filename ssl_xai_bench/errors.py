"""Errors shared by every stage of the harness.

``ConfigError`` is raised before any compute when a configuration field is invalid; its message
always names the field (dotted path, e.g. ``scene.t60``) and what is allowed.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """An invalid configuration value, reported before any compute.

    Parameters
    ----------
    field : str
        Dotted path of the offending field, e.g. ``"scene.array.spacing"``.
    message : str
        What is wrong and what is allowed.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class PluginLoadError(ValueError):
    """A plug-in (a method, metric or model file, or an entry point) could not be loaded, or
    registers nothing; the message names the file or entry point."""


__all__ = ["ConfigError", "PluginLoadError"]
