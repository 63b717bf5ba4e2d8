"""The output formats of ``cmteb-eval table``: ONE registry that the renderer (``tables.render``),
the file extensions (an ``--output`` file's extension picks the format when ``--format`` is not
given) and the command line's ``--format`` choices all read. A new format is one entry here and
one function in ``tables.py`` that renders one table. No pandas here: the command line imports it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import UserError


def _joined(parts: list[str]) -> str:
    return "\n\n".join(parts) + "\n"


def _html_document(parts: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>cmteb-eval tables</title>\n"
            "<style>table{border-collapse:collapse}td,th{padding:2px 8px;text-align:right}"
            "th:first-child,td:first-child{text-align:left}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body>\n</html>\n")


def frame_to_markdown(frame: pd.DataFrame) -> str:
    """A frame of display strings as a Markdown table in the model card's style."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(map(cell, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(map(cell, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


@dataclass(frozen=True)
class OutputFormat:
    name: str  # --format
    extension: str  # of an --output file in this format
    table: str  # the function of tables.py that renders one table
    section: Callable[[Any, str], str]  # (table, its rendering) -> the rendering titled (and noted)
    document: Callable[[list[str]], str] = _joined  # the sections -> one document


FORMATS: dict[str, OutputFormat] = {f.name: f for f in (
    OutputFormat("markdown", ".md", "to_markdown",
                 lambda t, body: f"### {t.title}\n\n{body}" + (f"\n\n{t.note}" if t.note else "")),
    OutputFormat("csv", ".csv", "to_csv", lambda t, body: f"# {t.title}{' ' + t.note if t.note else ''}\n{body}"),
    OutputFormat("html", ".html", "to_html",
                 lambda t, body: f"<h2>{html.escape(t.title)}</h2>\n{body}"
                 + (f"\n<p>{html.escape(t.note)}</p>" if t.note else ""), _html_document),
    OutputFormat("latex", ".tex", "to_latex", lambda t, body: body),
)}


def output_format(name: str | None, path: str | None = None) -> OutputFormat:
    """The format named (``--format``), else the one whose extension ``path`` (``--output``) has, else Markdown."""
    if name is None:
        by_extension = {f.extension: f for f in FORMATS.values()}
        return by_extension.get(Path(path).suffix.lower() if path else "", FORMATS["markdown"])
    if name not in FORMATS:
        raise UserError(f"Unknown table format {name!r}.", f"Use one of: {', '.join(FORMATS)}.")
    return FORMATS[name]
