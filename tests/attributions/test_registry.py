"""The registry: decorator, entry points, user files, source hashes."""

from __future__ import annotations

import importlib.metadata
import sys

import pytest
import torch

import ssl_xai_bench.attributions
from ssl_xai_bench import codehash, plugins
from ssl_xai_bench.attributions import registry
from ssl_xai_bench.attributions.registry import (
    MethodLoadError,
    get_method,
    list_methods,
    load_methods_from,
    register_method,
    unregister_method,
)

PLUGIN = '''
from ssl_xai_bench.attributions import register_method


@register_method("ep_double_input", family="user", defaults={"factor": 2.0})
def double_input(model, inputs, target, *, factor):
    return factor * inputs
'''


def test_builtin_source_hash_covers_the_module_import_closure():
    spec = get_method("gradient")
    files = codehash.callable_closure(spec.fn)
    assert spec.source_hash == codehash.files_hash(files)
    names = {f.relative_to(codehash.PACKAGE_PARENT).as_posix() for f in files}
    assert "ssl_xai_bench/attributions/methods/gradients.py" in names
    assert "ssl_xai_bench/attributions/registry.py" in names  # imported, so hashed
    assert "ssl_xai_bench/attributions/methods/lrp.py" not in names  # a sibling, not imported
    lrp_files = {f.name for f in codehash.callable_closure(get_method("lrp").fn)}
    assert "canonizers.py" not in lrp_files  # a model's rules are added per node by the graph
    assert get_method("lrp").source_hash != spec.source_hash


def test_decorator_registers_and_rejects_bad_specs():
    @register_method("test_tmp_identity", family="control", description="x")
    def identity(model, inputs, target):
        return inputs

    try:
        spec = get_method("test_tmp_identity")
        assert spec.fn is identity and identity.method_spec is spec
        assert spec.source == f"module:{__name__}"
        assert spec in list_methods()
        # a different source may not take a registered name
        with pytest.raises(MethodLoadError, match="already registered"):
            with registry.REGISTRY.loading("file:/elsewhere.py"):
                register_method("test_tmp_identity")(identity)
    finally:
        unregister_method("test_tmp_identity")
    with pytest.raises(ValueError, match="family"):
        register_method("test_bad_family", family="magic")
    with pytest.raises(ValueError, match="name"):
        register_method("Bad Name")


def test_unknown_method_lists_available():
    with pytest.raises(ValueError, match="method: unknown .*'lrp'"):
        get_method("no_such_method")


def test_load_methods_from_file(tmp_path, model, inputs, target):
    path = tmp_path / "plugin.py"
    path.write_text(PLUGIN.replace("ep_double_input", "file_double_input"))
    try:
        specs = load_methods_from(path)
        assert [s.name for s in specs] == ["file_double_input"]
        assert specs[0].source == f"file:{path.resolve()}"
        assert specs[0].source_hash == codehash.files_hash(codehash.closure(path))
        out = ssl_xai_bench.attributions.attribute("file_double_input", model, inputs, target,
                                                   factor=3.0)
        torch.testing.assert_close(out, 3.0 * inputs)
        # a comment is not code: reloading after editing one keeps the hash
        path.write_text(PLUGIN.replace("ep_double_input", "file_double_input") + "\n# v2\n")
        assert load_methods_from(path)[0].source_hash == specs[0].source_hash
        # editing code and reloading the same file replaces the method and changes its hash
        path.write_text(PLUGIN.replace("ep_double_input", "file_double_input")
                        .replace("factor * inputs", "inputs * factor"))
        again = load_methods_from(path)
        assert again[0].source_hash != specs[0].source_hash
    finally:
        unregister_method("file_double_input")


def test_load_methods_from_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_methods_from(tmp_path / "missing.py")
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    with pytest.raises(MethodLoadError, match="defines no method"):
        load_methods_from(empty)
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(MethodLoadError, match="boom"):
        load_methods_from(broken)
    text = tmp_path / "notes.txt"
    text.write_text("")
    with pytest.raises(MethodLoadError, match=r"\.py"):
        load_methods_from(text)


def test_entry_points_load_lazily(tmp_path, monkeypatch, model, inputs, target):
    package = tmp_path / "ep_plugin_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    good = importlib.metadata.EntryPoint(
        name="doubler", value="ep_plugin_pkg", group=registry.ENTRY_POINT_GROUP
    )
    bad = importlib.metadata.EntryPoint(
        name="broken", value="ep_plugin_missing_module", group=registry.ENTRY_POINT_GROUP
    )
    calls = []

    builtins = list(importlib.metadata.entry_points(group=registry.ENTRY_POINT_GROUP))

    def fake_entry_points(group):
        calls.append(group)
        return [*builtins, good, bad]

    monkeypatch.setattr(plugins, "entry_points", fake_entry_points)
    monkeypatch.setattr(registry.REGISTRY, "loaded", False)
    monkeypatch.setattr(registry.REGISTRY, "errors", {})
    try:
        with pytest.warns(RuntimeWarning, match="broken"):
            spec = get_method("ep_double_input")
        assert calls == [registry.ENTRY_POINT_GROUP]
        assert spec.source == "entry_point:doubler"
        get_method("ep_double_input")
        assert len(calls) == 1, "entry points are loaded once"
        out = ssl_xai_bench.attributions.attribute("ep_double_input", model, inputs, target)
        torch.testing.assert_close(out, 2.0 * inputs)
        with pytest.raises(ValueError, match="broken"):
            get_method("still_missing")
    finally:
        unregister_method("ep_double_input")
        sys.modules.pop("ep_plugin_pkg", None)
