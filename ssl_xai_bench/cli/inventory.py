"""``list`` and ``cache``: what the package offers and what the artifact store holds.

``list`` prints each preset with the wall time that ``plan`` gives for it on this machine
(calibrated by the speed probe, stages already in ``--store`` counted as free): the package
states no other running time. ``cache list`` prints each artifact's stage, what it is of (its
node's label), size and age; ``cache prune`` needs ``--all`` or ``--stage STAGE`` and takes
``--dry-run``. Neither creates the store.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ssl_xai_bench.cli.options import load_plugins
from ssl_xai_bench.errors import ConfigError

EXIT_OK = 0


def preset_times(store: str) -> dict[str, str]:
    """Each preset's planned wall time on this machine, as text (``plan``'s estimate)."""
    from ssl_xai_bench.harness.config import load_config
    from ssl_xai_bench.harness.graph import build_graph
    from ssl_xai_bench.harness.plan import estimate, hms, machine_speed, stored_nodes
    from ssl_xai_bench.harness.presets import PRESETS
    from ssl_xai_bench.harness.runner import n_workers

    speed = machine_speed()
    out = {}
    for name in PRESETS:
        try:
            cfg = load_config(name, overrides=[{"output": {"store_dir": store}}])
        except ConfigError as exc:
            out[name] = f"no plan: {exc}"
            continue
        graph = build_graph(cfg)
        est = estimate(graph, n_workers(cfg), stored=stored_nodes(graph, store), speed=speed)
        out[name] = (f"plan here: {hms(est.wall_seconds)} on {est.workers} worker(s); "
                     f"{est.stored} of {len(graph.nodes)} stage(s) stored")
    return out


def cmd_list(args: argparse.Namespace) -> int:
    from ssl_xai_bench.acoustics.geometry import NAMED_ARRAYS
    from ssl_xai_bench.attributions import list_methods
    from ssl_xai_bench.harness.presets import PRESETS, preset_dict
    from ssl_xai_bench.metrics.registry import families
    from ssl_xai_bench.models.registry import get_model_spec, model_names

    load_plugins(args)
    times = preset_times(args.store) if args.time else {}
    print("presets:" + (f" (wall time: 'plan', calibrated to this machine, store {args.store})"
                        if times else ""))
    for name in PRESETS:
        print(f"  {name:<11} {preset_dict(name).get('description', '')}")
        if name in times:
            print(f"  {'':<11} {times[name]}")
    print("models (name, description, source):")
    for name in model_names():
        model = get_model_spec(name)
        print(f"  {name:<11} {model.description}  [{model.source}]")
    print("geometries:")
    for name, geom in NAMED_ARRAYS.items():
        print(f"  {name:<11} {json.dumps(geom.to_dict())}")
    print("attribution methods (name, family, parameters, source):")
    for spec in list_methods():
        params = ", ".join(f"{k}={v!r}" for k, v in spec.defaults.items()) or "-"
        print(f"  {spec.name:<24} {spec.family:<12} {params}  [{spec.source}]")
        if spec.description:
            print(f"  {'':<24} {spec.description}")
    print("metrics (name, category, direction, unit, source):")
    for family in families():
        for spec in family.metrics:
            print(f"  {spec.name:<32} {spec.category:<16} {spec.direction:<5} {spec.unit}  "
                  f"[{family.source}]")
    return EXIT_OK


def age(created: str, now: float | None = None) -> str:
    """How long ago an ISO-8601 local time was: ``42 s``, ``12 min``, ``3.5 h``, ``6 d``."""
    try:
        seconds = (now or time.time()) - time.mktime(time.strptime(created, "%Y-%m-%dT%H:%M:%S"))
    except (TypeError, ValueError, OverflowError):
        return "?"
    for limit, unit, scale in ((120, "s", 1), (7200, "min", 60), (172800, "h", 3600)):
        if seconds < limit:
            return f"{seconds / scale:.0f} {unit}" if unit != "h" else f"{seconds / scale:.1f} h"
    return f"{seconds / 86400:.0f} d"


def cmd_cache(args: argparse.Namespace) -> int:
    from ssl_xai_bench.harness.stages import STAGE_MODULES
    from ssl_xai_bench.harness.store import ArtifactStore

    root = Path(args.store)
    if not root.is_dir():
        raise ConfigError("--store", f"no artifact store at {root} (nothing to {args.action})")
    if args.stage is not None and args.stage not in STAGE_MODULES:
        raise ConfigError("--stage", f"unknown stage {args.stage!r}; allowed: "
                          f"{', '.join(STAGE_MODULES)}")
    store = ArtifactStore(root, create=False)
    entries = [e for e in store.entries() if args.stage in (None, e["stage"])]
    size = sum(e["bytes"] for e in entries) / 1e6
    if args.action == "list":
        print(f"{'stage':<12} {'size':>11} {'age':>7}  {'key':<24}  of")
        for e in entries:
            print(f"{e['stage']:<12} {e['bytes'] / 1e6:>8.2f} MB {age(e['created']):>7}  "
                  f"{e['key']:<24}  {e['label'] or '-'}")
        print(f"total {len(entries)} artifact(s), {size:.1f} MB in {store.root}")
        return EXIT_OK
    if args.all == (args.stage is not None):
        raise ConfigError("cache prune", "say what to remove: --all (every artifact) or "
                          "--stage STAGE (one stage's), not both; --dry-run lists it first")
    if args.dry_run:
        for e in entries:
            print(f"would remove {e['stage']}/{e['key']}  {e['label'] or '-'}")
        print(f"would remove {len(entries)} artifact(s), {size:.1f} MB from {store.root}")
        return EXIT_OK
    removed = store.prune(stage=args.stage)
    print(f"removed {removed} artifact(s), {size:.1f} MB from {store.root}")
    return EXIT_OK


__all__ = ["age", "cmd_cache", "cmd_list", "preset_times"]
