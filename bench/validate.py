"""Small, explicit validators for configuration dictionaries.

Every function takes the value, the dotted field name used in error messages (``"matrix.t60"``) and
the constraint, and raises :class:`bench.errors.ConfigError` naming the field and what is allowed.
They are used by every ``from_dict`` in the harness so that all bad input is refused before compute
with the same wording.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from bench.errors import ConfigError


def check_keys(d: Any, allowed: Iterable[str], field: str) -> Mapping[str, Any]:
    """Require a table (mapping) whose keys are all in ``allowed``."""
    if not isinstance(d, Mapping):
        raise ConfigError(field, f"must be a table (mapping), got {type(d).__name__}")
    allowed = list(allowed)
    for key in d:
        if not isinstance(key, str):
            raise ConfigError(field, f"keys must be strings, got {key!r}")
        if key not in allowed:
            raise ConfigError(
                f"{field}.{key}" if field else key,
                f"unknown key; allowed keys here: {', '.join(sorted(allowed))}",
            )
    return d


def as_int(
    value: Any, field: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An integer (not a bool) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(field, f"must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(field, f"must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(field, f"must be <= {maximum}, got {value}")
    return value


def as_float(
    value: Any,
    field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
) -> float:
    """A finite real number within the given bounds (ints are accepted)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(field, f"must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(field, f"must be finite, got {value}")
    if minimum is not None:
        if exclusive_minimum and value <= minimum:
            raise ConfigError(field, f"must be > {minimum}, got {value}")
        if not exclusive_minimum and value < minimum:
            raise ConfigError(field, f"must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(field, f"must be <= {maximum}, got {value}")
    return value


def as_str(value: Any, field: str, *, choices: Iterable[str] | None = None) -> str:
    """A string, optionally one of ``choices``."""
    if not isinstance(value, str):
        raise ConfigError(field, f"must be a string, got {value!r}")
    if choices is not None:
        choices = list(choices)
        if value not in choices:
            raise ConfigError(field, f"must be one of {', '.join(choices)}; got {value!r}")
    return value


def as_bool(value: Any, field: str) -> bool:
    """A boolean (true/false)."""
    if not isinstance(value, bool):
        raise ConfigError(field, f"must be true or false, got {value!r}")
    return value


def as_list(value: Any, field: str, *, min_length: int = 0, max_length: int = 10_000) -> list:
    """A list (TOML array) of bounded length."""
    if not isinstance(value, list | tuple):
        raise ConfigError(field, f"must be a list, got {type(value).__name__}")
    if len(value) < min_length:
        raise ConfigError(field, f"must have at least {min_length} element(s), got {len(value)}")
    if len(value) > max_length:
        raise ConfigError(field, f"must have at most {max_length} elements, got {len(value)}")
    return list(value)


def unique(values: list, field: str) -> list:
    """Refuse duplicated entries (a duplicated matrix axis would run cells twice)."""
    seen: set = set()
    for v in values:
        marker = repr(v)
        if marker in seen:
            raise ConfigError(field, f"duplicated entry {v!r}")
        seen.add(marker)
    return values
