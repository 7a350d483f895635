"""The reference study's published numbers, read from ``reproduce/data/paper_reference.toml``.

Comanducci, Antonacci, Sarti, EUSIPCO 2024 (arXiv 2404.03436); every number was copied from
``../shared/spec/PAPER.md`` ("Reference numbers" and the trivial-predictor note of "Split") with
its tag: ``nb`` (printed by the authors' notebooks), ``fig`` (digitised from their figures,
about +-0.0005 m; ``tag_inferred`` when PAPER.md leaves a curve untagged), ``note`` (approximate).

Units: test MAE in metres, per coordinate; manipulation curves are MAE (m) at the fractions of
``[manipulation].fractions`` (fraction of the 16 x 5120 input samples set to zero).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

RANKINGS = ("relevance", "energy", "random")
ARCHS = ("loccnn", "samplecnn")


@dataclass(frozen=True)
class PaperValue:
    """One published number (or curve) with its tag."""

    value: float | tuple[float, ...]
    tag: str
    tag_inferred: bool = False

    @property
    def label(self) -> str:
        """The tag as printed in the report: ``nb``, ``fig``, ``fig*`` (inferred) or ``note``."""
        return self.tag + ("*" if self.tag_inferred else "")


@dataclass(frozen=True)
class PaperReference:
    """All reference numbers, keyed by ``(arch, t60, snr_db)`` (+ ranking for curves)."""

    study: str
    trivial: PaperValue
    fractions: tuple[float, ...]
    pattern: str
    test_mae: dict[tuple[str, float, float], PaperValue]
    curves: dict[tuple[str, float, float, str], PaperValue]

    def conditions(self) -> list[tuple[float, float]]:
        """The study's (T60 s, SNR dB) conditions, in file order."""
        out: list[tuple[float, float]] = []
        for _, t60, snr in self.test_mae:
            if (t60, snr) not in out:
                out.append((t60, snr))
        return out

    def mae(self, arch: str, t60: float, snr: float) -> PaperValue | None:
        """Published test MAE of an architecture at a condition (None if not published)."""
        return self.test_mae.get((arch, _round(t60), _round(snr)))

    def curve(self, arch: str, t60: float, snr: float, ranking: str) -> PaperValue | None:
        """Published manipulation curve (None if the study shows none for that cell)."""
        return self.curves.get((arch, _round(t60), _round(snr), ranking))


def _round(x: float) -> float:
    return round(float(x), 6)


def _number(d: dict[str, Any], key: str, field: str) -> float:
    val = d.get(key)
    if isinstance(val, bool) or not isinstance(val, int | float):
        raise ValueError(f"{field}.{key}: expected a number, got {val!r}")
    return float(val)


def _entry(d: Any, field: str, curve: bool, n_fractions: int) -> tuple[tuple, PaperValue]:
    if not isinstance(d, dict):
        raise ValueError(f"{field}: expected a table")
    arch = d.get("arch")
    if arch not in ARCHS:
        raise ValueError(f"{field}.arch: {arch!r} not one of {', '.join(ARCHS)}")
    tag = d.get("tag")
    if tag not in ("nb", "fig"):
        raise ValueError(f"{field}.tag: {tag!r} not one of nb, fig")
    key: tuple = (arch, _round(_number(d, "t60", field)), _round(_number(d, "snr_db", field)))
    if curve:
        ranking = d.get("ranking")
        if ranking not in RANKINGS:
            raise ValueError(f"{field}.ranking: {ranking!r} not one of {', '.join(RANKINGS)}")
        values = d.get("mae_m")
        if not isinstance(values, list) or len(values) != n_fractions:
            raise ValueError(f"{field}.mae_m: expected {n_fractions} numbers (one per fraction)")
        value: float | tuple[float, ...] = tuple(_number({"v": v}, "v", f"{field}.mae_m")
                                                 for v in values)
        key = (*key, ranking)
    else:
        value = _number(d, "mae_m", field)
    return key, PaperValue(value, tag, bool(d.get("tag_inferred", False)))


def load_paper_reference(path: str | Path | None = None) -> PaperReference:
    """Read and check the reference numbers (default: the packaged ``paper_reference.toml``).

    Raises
    ------
    ValueError
        Naming the offending entry and field.
    """
    if path is None:
        folder = resources.files("ssl_xai_bench.reproduce").joinpath("data")
        text = folder.joinpath("paper_reference.toml").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    d = tomllib.loads(text)
    fractions = tuple(float(f) for f in d["manipulation"]["fractions"])
    trivial = PaperValue(_number(d["trivial"], "mae_m", "trivial"), str(d["trivial"]["tag"]))
    test_mae, curves = {}, {}
    for i, entry in enumerate(d.get("test_mae", [])):
        key, val = _entry(entry, f"test_mae[{i}]", False, len(fractions))
        if key in test_mae:
            raise ValueError(f"test_mae[{i}]: duplicate entry for {key}")
        test_mae[key] = val
    for i, entry in enumerate(d.get("curve", [])):
        key, val = _entry(entry, f"curve[{i}]", True, len(fractions))
        if key in curves:
            raise ValueError(f"curve[{i}]: duplicate entry for {key}")
        curves[key] = val
    return PaperReference(study=str(d["study"]), trivial=trivial, fractions=fractions,
                          pattern=str(d["manipulation"]["pattern"]), test_mae=test_mae,
                          curves=curves)


__all__ = ["PaperReference", "PaperValue", "load_paper_reference"]
