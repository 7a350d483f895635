"""One table model, rendered as Markdown, booktabs LaTeX and HTML by jinja2 templates.

Every table of the report is a :class:`Table`: its column heads, groups of rows (the methods,
then the controls apart), each row a name and its cells. A :class:`Cell` holds plain text (a
number, a CI), never markup: whether it is bold, its marks, its footnote letter and the word shown
in place of a failed entry are fields, and each format's template writes them its own way. The
templates live in ``ssl_xai_bench/report/templates/``: ``tables.{md,tex,html}.j2`` hold the
table macros; ``leaderboard.*``, ``headline.*`` the documents around them (title, legend,
footnotes, provenance); ``page.html.j2`` the report page. Text is escaped by the templates
(filters ``md`` and ``tex``; HTML is autoescaped); a cell of an HTML page section that is markup
already (a link, a span) is passed through ``html_table``'s raw cells.

LaTeX escapes ``\\ & % $ # _ { } ~ ^``; Markdown escapes ``\\ ` * _ < > |``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2

ARROWS = {"up": "↑", "down": "↓"}
LATEX_ARROWS = {"up": r"$\uparrow$", "down": r"$\downarrow$"}
DAGGER = "†"
#: LaTeX of the marks in a cell (superscripts) and of the symbols in running text.
LATEX_MARKS = {DAGGER: r"$^\dagger$", "‡": r"$^\ddagger$"}
LATEX_SYMBOLS = {"↑": r"$\uparrow$", "↓": r"$\downarrow$", DAGGER: r"$\dagger$",
                 "‡": r"$\ddagger$"}

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIAL))
_MD_RE = re.compile(r"([\\`*_<>|])")


def latex_escape(text: Any) -> str:
    """Escape LaTeX's special characters ``\\ & % $ # _ { } ~ ^`` in ``text``."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIAL[m.group(0)], str(text))


def markdown_escape(text: Any) -> str:
    r"""Escape Markdown's inline specials (``\ ` * _ < > |``) in ``text``."""
    return _MD_RE.sub(r"\\\1", str(text))


def _replace_all(text: str, table: Mapping[str, str]) -> str:
    for old, new in table.items():
        text = text.replace(old, new)
    return text


@dataclass
class Head:
    """A column head: its text, the direction arrow (``up``, ``down`` or ``""``), a ``short``
    text for Markdown and LaTeX (default: the text), and, in HTML, a ``title`` and a second
    line ``detail``."""

    text: str
    arrow: str = ""
    title: str = ""
    detail: str = ""
    short: str = ""


@dataclass
class Cell:
    """One entry: ``text`` (``""`` with no ``word``: shown as ``–``), a ``second`` text (a CI,
    ``(k/n)``), ``bold``, ``marks`` after the text (``?``, ``‡``, ``†``), a footnote letter
    ``note``, a ``word`` shown instead of the text (``failed``), and, for a row name,
    ``italic``."""

    text: str = ""
    second: str = ""
    bold: bool = False
    marks: str = ""
    note: str = ""
    word: str = ""
    italic: bool = False


@dataclass
class Row:
    """A row: its name (a :class:`Cell`), its cells, and an HTML class."""

    name: Cell
    cells: list[Cell]
    css: str = ""


@dataclass
class Group:
    """Rows shown together; ``label`` heads them in a separator row (``""``: none)."""

    rows: list[Row]
    label: str = ""


@dataclass
class Table:
    """Heads (the row-name column first) and groups of rows."""

    heads: list[Head]
    groups: list[Group] = field(default_factory=list)

    @property
    def rows(self) -> list[Row]:
        """Every row, in order."""
        return [r for g in self.groups for r in g.rows]


@functools.cache
def environment() -> jinja2.Environment:
    """The templates' environment (``ssl_xai_bench/report/templates``)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ssl_xai_bench.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",),
                                            default_for_string=False),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined)
    env.filters.update(md=markdown_escape, tex=latex_escape,
                       texmarks=lambda s: _replace_all(str(s), LATEX_MARKS),
                       texsymbols=lambda s: _replace_all(str(s), LATEX_SYMBOLS))
    env.globals.update(ARROWS=ARROWS, LATEX_ARROWS=LATEX_ARROWS)
    return env


def render(template: str, **context: Any) -> str:
    """Render ``template`` (a file of the templates folder) with ``context``."""
    return environment().get_template(template).render(**context)


def provenance_lines(prov: Mapping[str, Any] | None) -> list[str]:
    """Human-readable provenance summary (package, commit, config hash, seed, versions, machine)."""
    p = dict(prov or {})
    vers = p.get("versions") or {}
    mach = p.get("machine") or {}

    def g(d: Mapping[str, Any], k: str) -> str:
        v = d.get(k)
        return "unknown" if v in (None, "") else str(v)

    return [
        f"ssl-xai-bench {g(p, 'package_version')}, git commit {g(p, 'git_commit')}, "
        f"config hash {g(p, 'config_hash')}, seed {g(p, 'seed')}, preset {g(p, 'preset')}, "
        f"date {g(p, 'date')}",
        "versions: " + ", ".join(
            f"{k} {g(vers, k)}" for k in
            ("torch", "zennit", "captum", "quantus", "pyroomacoustics", "numpy", "python")
        ),
        f"machine: {g(mach, 'platform')}, {g(mach, 'cpu')}, {g(mach, 'n_cores')} cores",
    ]


def pipe_table(headers: Sequence[str], rows: Sequence[Sequence[str]], source: str) -> list[str]:
    """A Markdown pipe table of cells that are Markdown already, followed by its ``Source:``
    line (the reproduction's tables), as lines."""
    return render("pipe.md.j2", headers=headers, rows=rows, source=source).split("\n")[:-1]


def table_html(table: Table, table_id: str = "", cls: str = "leaderboard",
               second: str = "inline", flag: str = "") -> str:
    """A :class:`Table` as a scrollable HTML ``<table>``: a cell's second text ``inline``
    (after it), ``ci`` (its own line) or ``k`` (small, after it); ``flag``: the class of the
    footnote letters."""
    return render("table.html.j2", table=table, table_id=table_id, cls=cls, second=second,
                  flag=flag)


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]],
               row_class: Sequence[str] | None = None, table_id: str | None = None,
               cls: str = "leaderboard", scroll: bool = True) -> str:
    """An HTML ``<table>`` of cells that are HTML already (links, spans), in a horizontally
    scrollable box unless ``scroll`` is False."""
    return render("raw.html.j2", header=header, rows=rows, row_class=row_class or [],
                  table_id=table_id, cls=cls, scroll=scroll)


__all__ = ["ARROWS", "DAGGER", "LATEX_ARROWS", "Cell", "Group", "Head", "Row", "Table",
           "environment", "html_table", "latex_escape", "markdown_escape", "pipe_table",
           "provenance_lines", "render", "table_html"]
