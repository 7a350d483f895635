"""Merge results folders of compatible runs (other machines, other parts of a matrix) into one.

Two runs are compatible when everything that changes a cell's numbers is the same: the seed, the
base scene, training, attribution and metric settings, the package and library versions, and
for what both runs hold, the same arrays, method parameters and external weights. They may
differ in the matrix (conditions, geometries, models, methods), where they ran and what they are
called. An incompatible pair is refused with the first differing field named (dotted path). A
cell present in both must have identical rows in both (it is then kept once); different numbers
for the same cell are refused.

The merged folder has the same tables as a run (``leaderboard.csv``, ``model_skill.csv``,
``curves.csv``, ``tdoa.csv``, ``spectra.csv``, ``paired_tests.csv``, ``paired_tests_all.csv``,
``inspection/``, ``metrics.json``: the union of the metric specs), a
``provenance.json`` whose configuration has the union of the matrices and which lists every
source folder's provenance under ``merged_from``, and a ``run_summary.json`` summing theirs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.collect import METRICS_FILE
from ssl_xai_bench.harness.config import NOT_HASHED
from ssl_xai_bench.hashing import stable_hash

TABLES = {  # file -> columns that identify a row
    "leaderboard.csv": ["model", "condition", "method", "metric"],
    "model_skill.csv": ["model", "condition", "predictor"],
    "curves.csv": ["model", "condition", "method", "ranking", "fraction", "baseline"],
    "tdoa.csv": ["model", "condition", "method", "variant", "pair", "spacing_m"],
    "spectra.csv": ["model", "condition", "method", "f_low_hz"],
    "paired_tests.csv": ["model", "condition", "metric", "method", "reference"],
    "paired_tests_all.csv": ["model", "condition", "metric", "method", "reference"],
}
#: Config sections that may differ between merged runs (the matrix, names, where it ran).
FREE = ("matrix", *NOT_HASHED)
#: Sections whose entries may differ in which keys they hold, not in a shared key's value.
UNIONS = ("geometries", "weights", "attribution.params")
VERSIONED = ("package_version",)


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for key, value in d.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: d}


def _config(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    path = folder / "provenance.json"
    if not path.is_file():
        raise ConfigError("merge", f"{folder} has no provenance.json: not a results folder")
    prov = json.loads(path.read_text("utf-8"))
    config = prov.get("config")
    if not isinstance(config, dict) or stable_hash(
            {k: v for k, v in config.items() if k not in NOT_HASHED}) != prov.get("config_hash"):
        raise ConfigError("merge", f"{folder}/provenance.json: its config does not match its "
                          "config_hash; the folder cannot be merged")
    return prov, config


def check_compatible(a: dict[str, Any], b: dict[str, Any], names: tuple[str, str]) -> None:
    """Raise ``ConfigError`` naming the first field where provenances ``a`` and ``b`` (of the
    folders ``names``) make their cells incomparable."""
    for key in VERSIONED:
        if a.get(key) != b.get(key):
            raise ConfigError(key, f"{names[0]} has {a.get(key)!r}, {names[1]} {b.get(key)!r}")
    va, vb = a.get("versions", {}), b.get("versions", {})
    for lib in sorted(set(va) | set(vb)):
        if lib != "python" and va.get(lib) != vb.get(lib):
            raise ConfigError(f"versions.{lib}", f"{names[0]} ran {va.get(lib)}, {names[1]} "
                              f"{vb.get(lib)}: results of other library versions do not mix")
    fa = {k: v for k, v in _flat(a["config"]).items() if k.split(".")[0] not in FREE}
    fb = {k: v for k, v in _flat(b["config"]).items() if k.split(".")[0] not in FREE}
    for key in sorted(set(fa) | set(fb)):
        in_union = any(key.startswith(u + ".") for u in UNIONS)
        if in_union and (key not in fa or key not in fb):
            continue  # one run has an array, method or weight the other does not: fine
        if fa.get(key) != fb.get(key):
            raise ConfigError(key, f"{names[0]} has {fa.get(key)!r}, {names[1]} has "
                              f"{fb.get(key)!r}: the runs are not comparable")


def _merged_config(configs: list[dict[str, Any]]) -> dict[str, Any]:
    out = json.loads(json.dumps(configs[0]))
    conditions, seen = [], set()
    for cfg in configs:
        m = cfg["matrix"]
        pairs = m.get("conditions") or [[t, s] for t in m["t60"] for s in m["snr_db"]]
        for pair in pairs:
            if tuple(pair) not in seen:
                seen.add(tuple(pair))
                conditions.append(list(pair))
        for key in UNIONS:
            node_out, node_in = out, cfg
            for part in key.split("."):
                node_out, node_in = node_out.setdefault(part, {}), node_in.get(part, {})
            node_out.update(node_in)
    for axis in ("geometries", "models", "methods"):
        out["matrix"][axis] = list(dict.fromkeys(x for c in configs for x in c["matrix"][axis]))
    out["matrix"]["conditions"] = sorted(conditions)
    for axis in ("t60", "snr_db"):
        out["matrix"].pop(axis, None)  # the conditions say it (a config gives one or the other)
    return out


def _merge_table(name: str, folders: list[Path]) -> pd.DataFrame | None:
    frames = []
    for folder in folders:
        path = folder / name
        if path.is_file() and path.stat().st_size:
            frame = pd.read_csv(path)
            frame["_from"] = str(folder)
            frames.append(frame)
    if not frames:
        return None
    df = pd.concat(frames, ignore_index=True)
    key = [c for c in TABLES[name] if c in df.columns]
    data = [c for c in df.columns if c != "_from"]
    unique = df.drop_duplicates(subset=data)
    clash = unique[unique.duplicated(subset=key, keep=False)]
    if not clash.empty:
        row = clash.iloc[0]
        where = ", ".join(f"{k}={row[k]}" for k in key)
        raise ConfigError(name, f"the row ({where}) differs between "
                          f"{', '.join(sorted(set(clash['_from'])))}: the same cell with other "
                          "numbers cannot be merged")
    return unique[data].sort_values(key, kind="stable").reset_index(drop=True)


def _copy_inspection(paths: list[Path], out: Path) -> None:
    (out / "inspection").mkdir(exist_ok=True)
    for path in paths:
        for npz in sorted((path / "inspection").glob("*.npz")):
            shutil.copy2(npz, out / "inspection" / npz.name)


def _merge_metric_specs(paths: list[Path], out: Path) -> None:
    """``metrics.json``: the union of the folders' metric specs by name (the first folder's
    spec of a name wins; the runs are compatible, so they agree); none if no folder has one."""
    specs: dict[str, Any] = {}
    for path in paths:
        if (path / METRICS_FILE).is_file():
            for spec in json.loads((path / METRICS_FILE).read_text("utf-8")):
                specs.setdefault(spec["name"], spec)
    if specs:
        (out / METRICS_FILE).write_text(json.dumps(list(specs.values()), indent=2))


def merge_results(folders: list[str | Path], out: str | Path) -> dict[str, Any]:
    """Merge the results ``folders`` into ``out``; returns the merged provenance.

    Raises
    ------
    ConfigError
        Fewer than two folders, one folder given twice (under any spelling), a folder that is
        not a results folder, an incompatible pair (naming the field) or a cell with different
        numbers in two folders.
    """
    paths = [Path(f) for f in folders]
    if len(paths) < 2:
        raise ConfigError("merge", "give at least two results folders")
    resolved = [p.resolve() for p in paths]  # other spellings and symlinks of one folder
    for i, folder in enumerate(resolved):
        if folder in resolved[:i]:
            first = paths[resolved.index(folder)]
            raise ConfigError("folders", f"{paths[i]} and {first} are the same folder "
                              f"({folder}): a folder is not merged with itself")
    out = Path(out)
    if out.resolve() in set(resolved):
        raise ConfigError("--out", "must be a new folder, not one of the merged ones")
    provs = [_config(p)[0] for p in paths]
    for prov, path in zip(provs[1:], paths[1:], strict=True):
        check_compatible(provs[0], prov, (str(paths[0]), str(path)))
    tables = {name: _merge_table(name, paths) for name in TABLES}
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        if table is not None:
            table.to_csv(out / name, index=False)
    _copy_inspection(paths, out)
    _merge_metric_specs(paths, out)
    config = _merged_config([p["config"] for p in provs])
    provenance = {
        **{k: provs[0].get(k) for k in ("package_version", "seed", "versions")},
        "name": out.name, "config": config,
        "config_hash": stable_hash({k: v for k, v in config.items() if k not in NOT_HASHED}),
        "command": "ssl-xai-bench merge " + " ".join(str(p) for p in paths) + f" --out {out}",
        "merged_from": [{"folder": str(p), **{k: prov.get(k) for k in (
            "git_commit", "config_hash", "command", "date", "machine", "preset")}}
            for p, prov in zip(paths, provs, strict=True)],
        **{k: provs[0].get(k) for k in ("rir_convention", "absorption", "rir_mode", "speech")},
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2, sort_keys=True))
    summaries = [json.loads((p / "run_summary.json").read_text("utf-8"))
                 for p in paths if (p / "run_summary.json").is_file()]
    summary = {"merged_from": [str(p) for p in paths],
               "failed": [f for s in summaries for f in s.get("failed", [])],
               "failed_metrics": [f for s in summaries for f in s.get("failed_metrics", [])]}
    (out / "run_summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    return provenance


__all__ = ["check_compatible", "merge_results"]
