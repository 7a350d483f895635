"""Closure hashes in one long-lived process: the memo of parsed files must never go stale.

A graph build hashes the closures of ten stage modules that share most files, so parsing is
memoised; these tests edit files between two hashes in the same process, keeping size and
modification time identical, as a fast editor or a checkout can.
"""

from __future__ import annotations

import os
from pathlib import Path

from ssl_xai_bench import codehash

METHOD = "import helper\n\n\ndef method(x):\n    return helper.scale(x)\n"


def _write_same_stat(path: Path, text: str) -> None:
    """Rewrite ``path`` keeping its size and modification time (the edit must still count)."""
    before = path.stat()
    assert len(text.encode()) == before.st_size
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_an_edit_with_the_same_size_and_mtime_changes_the_hash(tmp_path):
    (tmp_path / "method.py").write_text(METHOD)
    helper = tmp_path / "helper.py"
    helper.write_text("def scale(x):\n    return 2.0 * x\n")
    method = tmp_path / "method.py"
    first = codehash.files_hash(codehash.closure(method))
    assert codehash.files_hash(codehash.closure(method)) == first  # memoised, same answer
    _write_same_stat(helper, "def scale(x):\n    return 3.0 * x\n")
    assert codehash.files_hash(codehash.closure(method)) != first


def test_a_new_import_enters_the_closure_in_the_same_process(tmp_path):
    method = tmp_path / "method.py"
    method.write_text(METHOD)
    (tmp_path / "helper.py").write_text("def scale(x):\n    return 2.0 * x\n")
    (tmp_path / "second.py").write_text("K = 1\n")
    assert [p.name for p in codehash.closure(method)] == ["helper.py", "method.py"]
    _write_same_stat(method, METHOD.replace("import helper\n", "import second\n")
                     .replace("helper.scale(x)", "second.K * x   "))
    assert [p.name for p in codehash.closure(method)] == ["method.py", "second.py"]


def test_docstrings_and_comments_do_not_change_the_hash(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('"""One."""\n\nX = 1  # a\n')
    first = codehash.files_hash([path])
    path.write_text('"""Another docstring."""\n\n# a comment\nX = 1\n')
    assert codehash.files_hash([path]) == first
    path.write_text('"""One."""\n\nX = 2\n')
    assert codehash.files_hash([path]) != first


def test_a_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("def f(:\n")
    try:
        codehash.closure(path)
    except SyntaxError as err:
        assert err.filename == str(path.resolve())
    else:
        raise AssertionError("no SyntaxError")
