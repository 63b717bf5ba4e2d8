"""Leaderboard tables as the BGE model card prints them, computed with pandas.

- C-MTEB: Model, Embedding dimension, Avg, Retrieval, STS, PairClassification,
  Classification, Reranking, Clustering. Avg is the mean over *tasks* (not over the
  type averages), over the 35 tasks of the ``cmteb`` benchmark: that is the set whose
  per-task published scores reproduce the card's printed rows (the card's text speaks of
  31 datasets, but its numbers include STS22, AmazonReviews and the two MASSIVE tasks;
  tests/test_tables.py checks every row).
- MTEB: the 56 English tasks of ``mteb-en`` (MTEB(eng, v1)), grouped by type as in the card; a card's
  score is its main metric (PairClassification: cosine AP, as published), from our files or mteb's.
- Reranking: the six columns of the card's reranking table and their mean.
- One table per task type, every task a column, plus their mean.

Every average is ``averages.average`` (the one rule of every report): per model over the tasks of the
set it has, with the count when it lacks some (``71.20 (7/8)``); a task whose scores cannot be
compared (``scores.comparability_notes``) is left out of every average and listed in the table's note.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import pandas as pd

from ..errors import UserError
from .averages import CMTEB_TYPES, Average, average
from .formats import frame_to_markdown, output_format
from .scores import ModelScores

RERANKING_TASKS = ("T2Reranking", "T2RerankingZh2En", "T2RerankingEn2Zh", "MMarcoReranking", "CMedQAv1", "CMedQAv2")
# The card's MTEB table: its columns, by task type, over the tasks of the ``mteb-en`` benchmark (MTEB(eng, v1)).
MTEB_COLUMNS = {"Retrieval": "Retrieval", "Clustering": "Clustering", "PairClassification": "Pair Classification",
                "Reranking": "Reranking", "STS": "STS", "Summarization": "Summarization",
                "Classification": "Classification"}
MISSING = "-"


@dataclass
class Leaderboard:
    """One leaderboard table: rows are models, ``frame`` holds numbers (scores x100; NaN = missing)."""

    key: str
    title: str
    frame: pd.DataFrame
    score_columns: list[str]
    info_columns: list[str] = field(default_factory=list)
    sources: pd.Series | None = None  # per row: "run", "published", "model card"
    note: str = ""
    marks: dict = field(default_factory=dict)  # (row, column) -> why it cannot be compared (scores.comparability_notes)
    counts: dict = field(default_factory=dict)  # (row, column) -> the Average of a partial average cell

    def sorted_by(self, column: str | None, ascending: bool = False) -> "Leaderboard":
        if not column:
            return self
        if column.lower() in ("model", self.frame.index.name.lower() if self.frame.index.name else "model"):
            order = sorted(self.frame.index, key=str.lower, reverse=not ascending)
            frame = self.frame.loc[order]
        else:
            names = {c.lower(): c for c in self.frame.columns}
            if column.lower() not in names:
                return self  # other tables of the same document may have it; the CLI checks one does
            frame = self.frame.sort_values(names[column.lower()], ascending=ascending, na_position="last",
                                           kind="stable")
        sources = None if self.sources is None else self.sources.loc[frame.index]
        return Leaderboard(self.key, self.title, frame, self.score_columns, self.info_columns, sources, self.note,
                           self.marks, self.counts)


# ------------------------------------------------------------------ building


def task_matrix(models: Sequence[ModelScores], tasks: Iterable[str]) -> pd.DataFrame:
    """Models x tasks main scores (x100); a task a model lacks is NaN."""
    tasks = list(dict.fromkeys(tasks))
    data = {m.label: {t: m.score(t) for t in tasks} for m in models}
    frame = pd.DataFrame.from_dict(data, orient="index", columns=tasks, dtype="float64")
    frame.index.name = "Model"
    return frame


def averages_over(frame: pd.DataFrame, tasks: Sequence[str], excluded: Iterable[str] = ()) -> dict[str, Average]:
    """Each row's ``averages.average`` over ``tasks`` (a task that is no column counts as missing)."""
    tasks, excluded = list(tasks), set(excluded)
    return {row: average({t: frame.at[row, t] for t in tasks if t in frame.columns}, tasks, excluded)
            for row in frame.index}


def _fill_average(frame: pd.DataFrame, column: str, matrix: pd.DataFrame, tasks: Sequence[str],
                  excluded: Iterable[str], counts: dict) -> None:
    """``frame[column]``: the average over ``tasks`` per row; partial ones recorded in ``counts``."""
    found = averages_over(matrix, tasks, excluded)
    frame[column] = pd.Series({row: a.value for row, a in found.items()}, dtype="float64")
    counts.update({(row, column): a for row, a in found.items() if a.have and not a.complete})


def _left_out_note(excluded: Iterable[str], tasks: Iterable[str], why: dict | None = None) -> str:
    shown = [t for t in dict.fromkeys(tasks) if t in set(excluded)]
    if not shown:
        return ""
    return ("Left out of every average (its scores cannot be compared): "
            + "; ".join(f"{t}" + (f" ({why[t]})" if why and t in why else "") for t in shown) + ".")


def _check_unique(models: Sequence[ModelScores]) -> None:
    seen: dict[str, str] = {}
    for model in models:
        if model.label in seen:
            raise UserError(f"Two results folders hold the model {model.label!r}: {seen[model.label]} and {model.source}.",
                            "Give each run its own --model-name.")
        seen[model.label] = model.source


FOREIGN = "not cmteb-eval"  # the Source of a model whose files another tool (mteb) wrote


def _sources(models: Sequence[ModelScores]) -> pd.Series:
    def source(m: ModelScores) -> str:
        foreign = [t.foreign for t in m.tasks.values()]
        if m.origin != "run" or not any(foreign):
            return m.origin
        return FOREIGN if all(foreign) else f"run; {sum(foreign)} file(s) {FOREIGN}"

    return pd.Series({m.label: source(m) for m in models}, dtype="object")


def _with_card_rows(table: Leaderboard, card_key: str, columns: dict[str, str]) -> Leaderboard:
    """Append the model card's printed rows (``columns`` maps our column to the card's)."""
    from .references.published_data import card_table

    card = card_table(card_key)
    name_column = card["columns"][0]
    rows = {f"{row[name_column]} (model card)": {ours: row.get(theirs) for ours, theirs in columns.items()}
            for row in card["rows"]}
    extra = pd.DataFrame.from_dict(rows, orient="index", columns=list(table.frame.columns), dtype="float64")
    frame = pd.concat([table.frame, extra]) if len(table.frame) else extra
    frame.index.name = "Model"
    sources = pd.concat([table.sources if table.sources is not None else pd.Series(dtype="object"),
                         pd.Series("model card", index=extra.index, dtype="object")])
    return Leaderboard(table.key, table.title, frame, table.score_columns, table.info_columns, sources, table.note,
                       table.marks, table.counts)


def cmteb_table(models: Sequence[ModelScores], task_types: dict[str, str], tasks: Sequence[str],
                card_rows: bool = False, excluded: dict[str, str] | None = None) -> Leaderboard:
    """The C-MTEB table over ``tasks`` (the ``cmteb`` benchmark); ``task_types`` maps task -> type;
    ``excluded``: task -> why it is left out of every average."""
    _check_unique(models)
    excluded = excluded or {}
    matrix = task_matrix(models, tasks)
    frame = pd.DataFrame(index=matrix.index)
    counts: dict = {}
    frame["Embedding dimension"] = pd.Series({m.label: m.dimension for m in models}, dtype="float64")
    _fill_average(frame, "Avg", matrix, tasks, excluded, counts)
    for task_type in CMTEB_TYPES:
        _fill_average(frame, task_type, matrix, [t for t in tasks if task_types.get(t) == task_type], excluded, counts)
    table = Leaderboard("cmteb", f"C-MTEB ({len(tasks)} tasks; Avg = mean over tasks)", frame,
                        ["Avg", *CMTEB_TYPES], ["Embedding dimension"], _sources(models),
                        _left_out_note(excluded, tasks, excluded), counts=counts)
    if card_rows:
        table = _with_card_rows(table, "cmteb", {c: c for c in frame.columns})
    return table


def card_metric_score(model: ModelScores, spec) -> float | None:
    """A model's score (x100) on a card, read from a file of ours (named by the card) or of mteb (named by
    mteb's task name), on the card's hf_subset: the card's main metric, under its mteb 1.x name too
    (``cos_sim_ap`` for ``cosine_ap``), else the file's main score. A file of another subset is not used."""
    from ..tasks.aliases import mteb_name, mteb_subset

    entry = model.tasks.get(spec.name) or model.tasks.get(mteb_name(spec))
    if entry is None or entry.subset not in (None, mteb_subset(spec)):
        return None
    metric = spec.main_metric
    for name in (metric, "cos_sim_" + metric.removeprefix("cosine_")):
        if name in entry.metrics:
            return entry.metrics[name]
    return entry.score


def mteb_entry_matrix(models: Sequence[ModelScores], registry) -> tuple[pd.DataFrame, dict[str, str]]:
    """Models x the 56 tasks of ``mteb-en`` (x100), and each task's type. A group of cards (CQADupstackRetrieval)
    is the mean of its cards, as the MTEB leaderboard computes it; a model missing any card of it has none,
    unless it has the aggregate's own result file (mteb 2's ``CQADupstackRetrieval``)."""
    bench = registry.benchmark("mteb-en")
    entries = bench.entries()
    types = {entry: registry.task(cards[0]).type for entry, cards in entries}
    data = {}
    for model in models:
        row = {}
        for entry, cards in entries:
            values = [card_metric_score(model, registry.task(card)) for card in cards]
            if len(cards) > 1 and any(v is None for v in values):
                row[entry] = model.score(entry)
            else:
                row[entry] = None if any(v is None for v in values) else sum(values) / len(values)
        data[model.label] = row
    frame = pd.DataFrame.from_dict(data, orient="index", columns=list(types), dtype="float64")
    frame.index.name = "Model"
    return frame, types


def mteb_table(models: Sequence[ModelScores], card_rows: bool = False, registry=None,
               excluded: dict[str, str] | None = None) -> Leaderboard:
    """The card's MTEB table: Average (56) over the tasks of ``mteb-en``, then each type's average."""
    from ..tasks.registry import Registry

    _check_unique(models)
    excluded = excluded or {}
    matrix, types = mteb_entry_matrix(models, registry if registry is not None else Registry.load())
    frame = pd.DataFrame(index=matrix.index)
    counts: dict = {}
    frame["Dimension"] = pd.Series({m.label: m.dimension for m in models}, dtype="float64")
    frame["Sequence Length"] = pd.Series({m.label: m.max_length for m in models}, dtype="float64")
    overall = f"Average ({len(types)})"
    _fill_average(frame, overall, matrix, list(types), excluded, counts)
    columns = []
    for task_type, title in MTEB_COLUMNS.items():
        tasks = [t for t, kind in types.items() if kind == task_type]
        columns.append(f"{title} ({len(tasks)})")
        _fill_average(frame, columns[-1], matrix, tasks, excluded, counts)
    table = Leaderboard("mteb", f"MTEB(eng, v1) ({len(types)} English tasks; Average = mean over tasks, "
                                "CQADupstackRetrieval = mean of its 12 sub-forums)", frame,
                        [overall, *columns], ["Dimension", "Sequence Length"], _sources(models),
                        _left_out_note(excluded, types, excluded), counts=counts)
    if card_rows:
        table = _with_card_rows(table, "mteb", {c: c for c in frame.columns})
    return table


def reranking_table(models: Sequence[ModelScores], card_rows: bool = False,
                    excluded: dict[str, str] | None = None) -> Leaderboard:
    _check_unique(models)
    excluded = excluded or {}
    frame = task_matrix(models, RERANKING_TASKS)
    counts: dict = {}
    _fill_average(frame, "Avg", frame.copy(), RERANKING_TASKS, excluded, counts)
    table = Leaderboard("reranking", "Reranking (MAP)", frame, [*RERANKING_TASKS, "Avg"], [], _sources(models),
                        _left_out_note(excluded, RERANKING_TASKS, excluded), counts=counts)
    if card_rows:
        columns = {t: t for t in RERANKING_TASKS} | {"T2RerankingZh2En": "T2RerankingZh2En*",
                                                     "T2RerankingEn2Zh": "T2RerankingEn2Zh*", "Avg": "Avg"}
        table = _with_card_rows(table, "reranking", columns)
    return table


def type_table(models: Sequence[ModelScores], task_type: str, tasks: Sequence[str],
               averages: dict[str, Sequence[str]] | None = None, excluded: dict[str, str] | None = None) -> Leaderboard:
    """Every task of one type as a column, then the averages: ``averages`` maps a column title to the
    tasks it averages (a benchmark's tasks of the type: "Avg C-MTEB (8)"); default one "Avg" over ``tasks``."""
    _check_unique(models)
    excluded = excluded or {}
    averages = averages or {"Avg": list(tasks)}
    frame = task_matrix(models, tasks)
    matrix = frame.copy()
    counts: dict = {}
    for column, over in averages.items():
        _fill_average(frame, column, matrix, over, excluded, counts)
    return Leaderboard(f"type:{task_type}", f"{task_type} ({len(tasks)} task{'' if len(tasks) == 1 else 's'})", frame,
                       [*tasks, *averages], [], _sources(models), _left_out_note(excluded, tasks, excluded),
                       counts=counts)


# ------------------------------------------------------------------ rendering


MARK = "†"  # beside a score made under another protocol, main metric, dataset revision, subset or split


def _best(table: Leaderboard) -> dict[str, float]:
    """The best (highest) value per score column, over rows that have one; a partial average (a count
    shown) is no candidate: it is over other tasks."""
    best = {}
    for c in table.score_columns:
        values = table.frame[c][[(row, c) not in table.counts for row in table.frame.index]]
        if values.notna().any():
            best[c] = values.max()
    return best


def _cells(table: Leaderboard, bold: tuple[str, str]) -> pd.DataFrame:
    """The table as display strings: 2 decimals, '-' for missing, the best per column in ``bold``."""
    best = _best(table)
    shown = pd.DataFrame(index=table.frame.index)
    for column in table.frame.columns:
        values = table.frame[column]
        if column in table.info_columns:
            shown[column] = values.map(lambda v: MISSING if pd.isna(v) else f"{int(v)}")
        else:
            shown[column] = values.map(lambda v, c=column: MISSING if pd.isna(v) else (
                f"{bold[0]}{v:.2f}{bold[1]}" if c in best and len(values.dropna()) > 1
                and math.isclose(v, best[c], abs_tol=1e-9) else f"{v:.2f}"))
            for row in table.frame.index:  # a partial average is never bold (it is over other tasks)
                if (row, column) in table.counts and shown.at[row, column].startswith(bold[0]) and bold[0]:
                    shown.at[row, column] = f"{table.frame.at[row, column]:.2f}"
            for row in table.frame.index:  # a partial average: its count
                if (row, column) in table.counts:
                    shown.at[row, column] += table.counts[(row, column)].count
            for row in table.frame.index:  # a score not comparable with the column's first: marked
                if (row, column) in table.marks and shown.at[row, column] != MISSING:
                    shown.at[row, column] += MARK
    if table.sources is not None and set(table.sources) != {"run"}:
        shown["Source"] = table.sources.loc[shown.index]
    return shown


def to_markdown(table: Leaderboard) -> str:
    return frame_to_markdown(_cells(table, ("**", "**")).reset_index())


def to_csv(table: Leaderboard) -> str:
    frame = table.frame.copy()
    if table.sources is not None:
        frame["Source"] = table.sources.loc[frame.index]
    return frame.to_csv(float_format="%.4f", lineterminator="\n")


def to_html(table: Leaderboard) -> str:
    shown = _cells(table, ("<strong>", "</strong>"))
    body = shown.map(lambda v: v if v.startswith("<strong>") else html.escape(v)).reset_index()
    body["Model"] = body["Model"].map(lambda v: html.escape(str(v)))
    body.columns = [html.escape(str(c)) for c in body.columns]
    return body.to_html(escape=False, index=False, border=0, classes="cmteb-table", na_rep=MISSING)


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _latex_escape(text: str) -> str:
    return re.sub(r"[\\&%$#_{}~^]", lambda m: _LATEX_SPECIAL[m.group(0)], text)


def to_latex(table: Leaderboard) -> str:
    shown = _cells(table, ("\x01", "\x02"))
    escaped = shown.map(lambda v: _latex_escape(v).replace("\x01", r"\textbf{").replace("\x02", "}"))
    escaped.index = [_latex_escape(str(i)) for i in escaped.index]
    escaped.columns = [_latex_escape(str(c)) for c in escaped.columns]
    columns = "l" + "r" * len(escaped.columns)
    lines = [r"\begin{table}[ht]", r"\centering", rf"\caption{{{_latex_escape(table.title)}}}",
             rf"\begin{{tabular}}{{{columns}}}", r"\toprule",
             " & ".join(["Model", *escaped.columns]) + r" \\", r"\midrule"]
    lines += [" & ".join([str(i), *row]) + r" \\" for i, row in zip(escaped.index, escaped.itertuples(index=False))]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines)


def render(tables: Sequence[Leaderboard], fmt: str = "markdown") -> str:
    """Several tables in one document of the given format (``formats.py``), each titled."""
    out = output_format(fmt)
    render_one = globals()[out.table]  # the renderer the registry names, one of the to_* above
    return out.document([out.section(table, render_one(table)) for table in tables])
