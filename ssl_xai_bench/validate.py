"""Small, explicit validators for configuration dictionaries.

Every function takes the value, the dotted field name used in error messages (``"matrix.t60"``) and
the constraint, and raises :class:`ssl_xai_bench.errors.ConfigError` naming the field and what is
allowed. They are the only validators of the package: every ``from_dict`` (scene, array, metrics,
benchmark configuration) uses them, so all bad input is refused before compute with the same
wording.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ssl_xai_bench.errors import ConfigError


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


def check_mapping(d: Any, allowed: Iterable[str], field: str) -> dict[str, Any]:
    """:func:`check_keys`, returning a copy as a plain ``dict``."""
    return dict(check_keys(d, allowed, field))


def as_int(
    value: Any,
    field: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    allow_none: bool = False,
) -> int | None:
    """An integer (not a bool) within ``[minimum, maximum]``; ``None`` passes when allowed."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(field, f"must be an integer, got {value!r}")
    value = int(value)
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
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
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


def as_vector(value: Any, n: int, field: str) -> tuple[float, ...]:
    """A sequence of ``n`` finite numbers, as a tuple of floats."""
    if isinstance(value, str | bytes) or not hasattr(value, "__len__") or len(value) != n:
        raise ConfigError(field, f"must be {n} numbers, got {value!r}")
    return tuple(as_float(x, f"{field}[{i}]") for i, x in enumerate(value))


def as_str(value: Any, field: str, *, choices: Iterable[str] | None = None) -> str:
    """A string, optionally one of ``choices``."""
    if not isinstance(value, str):
        raise ConfigError(field, f"must be a string, got {value!r}")
    if choices is not None:
        choices = list(choices)
        if value not in choices:
            raise ConfigError(field, f"must be one of {', '.join(choices)}; got {value!r}")
    return value


def as_name(value: Any, field: str, *, max_length: int = 64) -> str:
    """A name that may become part of a file name: a letter, then letters, digits, ``_`` or
    ``-`` (no path separator, no dot, no space), at most ``max_length`` characters."""
    text = as_str(value, field)
    if (not text or len(text) > max_length or not text[0].isascii() or not text[0].isalpha()
            or not all(c.isascii() and (c.isalnum() or c in "_-") for c in text)):
        raise ConfigError(field, f"{text!r} is not a valid name: a letter, then letters, "
                          f"digits, '_' or '-' (at most {max_length} characters)")
    return text


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
