"""The registry: decorator, entry points, user files, source hashes."""

from __future__ import annotations

import hashlib
import importlib.metadata
import sys
from pathlib import Path

import pytest
import torch

import attributions
from attributions import registry
from attributions.registry import (
    MethodLoadError,
    get_method,
    list_methods,
    load_methods_from,
    register_method,
    unregister_method,
)

PLUGIN = '''
from attributions import register_method


@register_method("ep_double_input", family="user", defaults={"factor": 2.0})
def double_input(model, inputs, target, *, factor):
    return factor * inputs
'''


def test_builtin_source_hash_is_module_sha256():
    spec = get_method("gradient")
    text = Path(sys.modules[spec.fn.__module__].__file__).read_text(encoding="utf-8")
    assert spec.source_hash == hashlib.sha256(text.encode("utf-8")).hexdigest()
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
            with registry._source("file:/elsewhere.py"):
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
        assert specs[0].source_hash == hashlib.sha256(path.read_bytes()).hexdigest()
        out = attributions.attribute("file_double_input", model, inputs, target, factor=3.0)
        torch.testing.assert_close(out, 3.0 * inputs)
        # editing and reloading the same file replaces the method and changes its hash
        path.write_text(PLUGIN.replace("ep_double_input", "file_double_input") + "\n# v2\n")
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

    def fake_entry_points(group):
        calls.append(group)
        return [good, bad]

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    monkeypatch.setitem(registry._STATE, "entry_points", False)
    monkeypatch.setattr(registry, "ENTRY_POINT_ERRORS", {})
    try:
        with pytest.warns(RuntimeWarning, match="broken"):
            spec = get_method("ep_double_input")
        assert calls == [registry.ENTRY_POINT_GROUP]
        assert spec.source == "entry_point:doubler"
        get_method("ep_double_input")
        assert len(calls) == 1, "entry points are loaded once"
        out = attributions.attribute("ep_double_input", model, inputs, target)
        torch.testing.assert_close(out, 2.0 * inputs)
        with pytest.raises(ValueError, match="broken"):
            get_method("still_missing")
    finally:
        unregister_method("ep_double_input")
        sys.modules.pop("ep_plugin_pkg", None)
