"""The leaderboard page (``cmteb-eval report RESULTS... --html FILE``): ONE self-contained HTML file
that needs no network to be read (styles, script and charts inline, the charts as PNG data URIs).

It holds, per benchmark the results touch, the card-style leaderboard with type averages
(``tables.py``, averaged by ``averages.py`` like every other report, counts shown); the per-task
table, sortable by any column and filtered by type (a few lines of plain JavaScript); each model's
provenance (who wrote its files, protocols, dataset revisions, prompts, library versions); the
comparisons of each model with the first, with confidence intervals where per-item scores exist
(``compare.py``); and the charts (``plots.py``).
"""

from __future__ import annotations

import base64
import html
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from ...errors import UserError
from ...version import VERSION
from ..scores import ModelScores

STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th.sortable{cursor:pointer;background:#f4f6f8}th.sortable:hover{background:#e6ebf0}
.note{color:#666;font-size:12px;max-width:1100px}.foreign{color:#a15c00}
img{max-width:100%;border:1px solid #eee;margin:6px 0}
"""

SCRIPT = """
function sortTable(th){
  var table=th.closest('table'), body=table.tBodies[0], col=th.cellIndex;
  var asc=th.getAttribute('data-order')!=='asc';
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(c){c.removeAttribute('data-order');});
  th.setAttribute('data-order',asc?'asc':'desc');
  var rows=Array.prototype.slice.call(body.rows);
  function key(r){var t=r.cells[col].getAttribute('data-value');if(t===null)t=r.cells[col].textContent;
    var n=parseFloat(t);return isNaN(n)?t.toLowerCase():n;}
  rows.sort(function(a,b){var x=key(a),y=key(b);
    if(typeof x!==typeof y){return typeof x==='number'?-1:1;}
    return (x<y?-1:x>y?1:0)*(asc?1:-1);});
  rows.forEach(function(r){body.appendChild(r);});
}
function filterType(select){
  var table=document.getElementById('tasks'), wanted=select.value;
  Array.prototype.forEach.call(table.tBodies[0].rows,function(r){
    r.style.display=(wanted===''||r.getAttribute('data-type')===wanted)?'':'none';});
  document.getElementById('shown').textContent=
    table.querySelectorAll('tbody tr:not([style*="none"])').length;
}
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _png(draw) -> str | None:
    """A chart drawn by ``draw(path)`` as a data URI (None when it cannot be drawn: said in its place)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chart.png"
        try:
            draw(path)
        except UserError as exc:
            return f"<p class='note'>No chart: {_e(exc.message)}</p>"
        return f"<img alt='chart' src='data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}'>"


def _markdown(text: str) -> str:
    """The Markdown our text reports print (headings, pipe tables, paragraphs) as HTML."""
    out, table = [], []

    def flush():
        if table:
            cells = [[c.strip() for c in row.strip().strip("|").split(" | ")] for row in table if "---|" not in row]
            head = "".join(f"<th>{_e(c)}</th>" for c in cells[0])
            body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in cells[1:])
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            table.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("#"):
            out.append(f"<h3>{_e(line.lstrip('#').strip())}</h3>")
        elif line.strip():
            out.append(f"<p class='note'>{_e(line)}</p>")
    flush()
    return "\n".join(out)


def _written_by(model: ModelScores) -> str:
    harnesses = sorted({str(t.versions.get("harness") or "") for t in model.tasks.values()} - {""})
    if model.origin != "run":
        return f"published reference: {model.source}"
    if all(t.foreign for t in model.tasks.values()):
        return "NOT cmteb-eval: " + ", ".join(harnesses) + " (files read as they are, not verified)"
    return ", ".join(harnesses)


def _task_rows(models: Sequence[ModelScores], types: dict[str, str], sets: dict[str, list[str]],
               excluded: dict[str, str]) -> list[str]:
    rows = []
    for model in models:
        for task, entry in model.tasks.items():
            bench = next((title for title, tasks in sets.items() if task in tasks), "other")
            kind = types.get(task) or "?"
            note = f"in no average: {excluded[task]}" if task in excluded else ""
            rows.append(
                f"<tr data-type='{_e(kind)}'><td>{_e(model.label)}</td><td>{_e(task)}</td><td>{_e(kind)}</td>"
                f"<td>{_e(bench)}</td><td>{_e(entry.split)}</td><td data-value='{entry.score:.6f}'>{entry.score:.2f}</td>"
                f"<td>{_e(entry.metric)}</td><td class='{'foreign' if entry.foreign else ''}'>"
                f"{'not cmteb-eval' if entry.foreign else entry.origin}</td>"
                f"<td title='{_e(entry.dataset_revision)}'>{_e(str(entry.dataset_revision or '')[:12])}</td>"
                f"<td>{_e(note)}</td></tr>")
    return rows


def _provenance(model: ModelScores) -> str:
    from ...results.read import read_result

    info: dict = {}
    for entry in model.tasks.values():
        if model.origin == "run" and not entry.foreign:
            try:
                info = (read_result(entry.source).get("harness") or {}).get("model") or {}
            except (UserError, OSError):
                info = {}
            break
    first = next(iter(model.tasks.values()), None)
    versions = {k: v for k, v in (first.versions if first else {}).items() if v}
    protocols = sorted({t.protocol for t in model.tasks.values() if t.protocol})
    revisions = sorted({f"{t.task}@{t.dataset_revision}" for t in model.tasks.values() if t.dataset_revision})
    settings = {k: info[k] for k in ("model", "pooling", "normalize", "max_length", "dtype", "backend",
                                     "query_instruction", "prompts", "instruction_source") if k in info}
    items = [("written by", _written_by(model)), ("source", model.source),
             ("model settings", "; ".join(f"{k}={v!r}" for k, v in settings.items()) or "not recorded"),
             ("protocols", "; ".join(protocols) or "not recorded"),
             ("dataset revisions", ", ".join(revisions[:40]) + (" ..." if len(revisions) > 40 else "")),
             ("versions", "; ".join(f"{k} {v}" for k, v in versions.items()) or "not recorded")]
    items += [("note", note) for note in model.notes]
    body = "".join(f"<tr><th>{_e(k)}</th><td style='text-align:left;white-space:normal'>{_e(v)}</td></tr>"
                   for k, v in items)
    return f"<h3>{_e(model.label)}</h3><table class='provenance'>{body}</table>"


def leaderboard_page(models: Sequence[ModelScores], registry, comparisons: Sequence = (),
                     title: str = "cmteb-eval leaderboard") -> str:
    """The whole page as one string of HTML."""
    from .. import plots
    from .. import tables as T
    from ..averages import left_out_by_rule, task_sets
    from ..comparison.compare import report as compare_report
    from ..scores import comparability_notes, task_types

    if not models:
        raise UserError("No models for the leaderboard page.", "Pass result folders (or published:MODEL).")
    types = task_types(models, registry)
    marks = comparability_notes(models)
    excluded = left_out_by_rule(marks)
    found = list(dict.fromkeys(t for m in models for t in m.tasks))
    sets = task_sets(found, registry)
    parts = [f"<h1>{_e(title)}</h1>",
             f"<p class='note'>Made by cmteb-eval {VERSION} on "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC from {len(models)} model(s). Scores x100. An "
             "average is over the tasks of the benchmark shown, per model over the tasks it has; 71.20 (7/8) is "
             "the mean of 7 of 8 tasks. &dagger;: not comparable with the column's first score, in no average.</p>"]
    boards = []
    if "C-MTEB" in sets:
        boards.append(T.cmteb_table(models, types, sets["C-MTEB"], excluded=excluded))
    if "MTEB(eng, v1)" in sets:
        boards.append(T.mteb_table(models, registry=registry, excluded=excluded))
    for kind in dict.fromkeys(types.get(t) for t in found if "other" in sets and t in sets["other"]):
        if kind:
            tasks = [t for t in sets["other"] if types.get(t) == kind]
            boards.append(T.type_table(models, kind, tasks, excluded=excluded))
            boards[-1].title = f"{kind}: tasks of no benchmark above ({len(tasks)})"
    for board in boards:
        board.marks = {k: v for k, v in marks.items() if k[0] in board.frame.index and k[1] in board.frame.columns}
        parts.append(f"<h2>{_e(board.title)}</h2>" + T.to_html(board).replace(
            "<table", "<table data-board='1'", 1) + (f"<p class='note'>{_e(board.note)}</p>" if board.note else ""))
    kinds = sorted({types.get(t) or "?" for t in found})
    options = "".join(f"<option value='{_e(k)}'>{_e(k)}</option>" for k in kinds)
    header = "".join(f"<th class='sortable' onclick='sortTable(this)'>{h}</th>" for h in (
        "Model", "Task", "Type", "Benchmark", "Split", "Score", "Metric", "Written by", "Dataset revision", "Note"))
    rows = _task_rows(models, types, sets, excluded)
    parts.append(f"<h2>Every task</h2><p>Type: <select id='type-filter' onchange='filterType(this)'>"
                 f"<option value=''>all</option>{options}</select> <span id='shown'>{len(rows)}</span> row(s) "
                 f"shown; click a column to sort.</p><table id='tasks'><thead><tr>{header}</tr></thead>"
                 f"<tbody>{''.join(rows)}</tbody></table>")
    if comparisons:
        parts.append("<h2>Comparisons with the first model</h2>")
        for comparison in comparisons:
            parts.append(_markdown(compare_report(comparison)))
            parts.append(_png(lambda p, c=comparison: plots.delta_chart(c, p)))
    parts.append("<h2>Charts</h2>")
    runs = [m for m in models if m.origin == "run"] or list(models)
    universe = list(dict.fromkeys(t for m in runs for t in m.tasks))
    parts.append(_png(lambda p: plots.type_bars(models, types, universe, p, None, task_sets(universe, registry),
                                                excluded)))
    parts.append(_png(lambda p: plots.score_speed(models, p)))
    parts.append("<h2>Provenance</h2>" + "".join(_provenance(m) for m in models))
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<style>{STYLE}</style><script>{SCRIPT}</script></head><body>\n" + "\n".join(parts)
            + "\n</body></html>\n")
