"""Content hashes: canonical JSON, files, and seeds derived from a stage's identity.

Every cache key, config hash and derived seed of the benchmark goes through :func:`stable_hash`
(SHA-256 of the JSON text with sorted keys), so the same content always gives the same hex string.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def stable_hash(obj: Any, length: int = 16) -> str:
    """SHA-256 of the canonical JSON of ``obj`` (sorted keys), hex, truncated to ``length``."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def derive_seed(*parts: Any) -> int:
    """A 32-bit seed derived from the global seed and a stage identity, e.g.
    ``derive_seed(seed, "train", "loccnn")``."""
    return int(stable_hash(list(parts), length=8), 16)
