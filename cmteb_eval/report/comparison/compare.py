"""Comparing candidate models with a baseline: per-task, per-type and overall deltas, each with
a paired significance test over the per-item scores saved with the results (see significance.py).

Where a side has no per-item scores (a published reference, or a result file written
without them) the delta is shown and the test column says why there is none: no guessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

from . import significance as sig
from ..averages import average
from ..scores import ModelScores, TaskScore, incomparable


@dataclass
class Comparison:
    baseline: ModelScores
    candidate: ModelScores
    tasks: pd.DataFrame  # one row per task both sides have
    groups: pd.DataFrame  # one row per task type, then "All tasks"
    only_baseline: list[str] = field(default_factory=list)
    only_candidate: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)  # task -> why it is not in the tables
    excluded: dict[str, str] = field(default_factory=dict)  # task -> why it is in the table but in no average
    tests: dict[str, sig.TestResult] = field(default_factory=dict)
    method: str = "bootstrap"
    alpha: float = 0.05
    correction: str = "holm"


def _items_for(entry: TaskScore) -> tuple[dict | None, str]:
    if entry.origin != "run":
        return None, "no per-item scores (published reference)"
    items = entry.items()  # a per-item file that does not match its result is an error
    if items is None:
        return None, entry.items_note or "no per-item scores saved with this result"
    if entry.split not in items:
        return None, f"per-item scores lack split {entry.split!r}"
    return items[entry.split], ""


def _why_incomparable(a: TaskScore, b: TaskScore) -> str:
    """The table split shown on both sides must be the same; then the rule the gate follows too."""
    if a.split and b.split and a.split != b.split and "published" not in (a.split, b.split):
        return f"different splits ({a.split} vs {b.split})"
    return "; ".join(incomparable(a, b))


def compare(baseline: ModelScores, candidate: ModelScores, tasks: Sequence[str] | None = None,
            method: str = "bootstrap", n_resamples: int = sig.DEFAULT_RESAMPLES, seed: int = sig.DEFAULT_SEED,
            alpha: float = 0.05, correction: str = "holm") -> Comparison:
    names = list(tasks) if tasks else [t for t in baseline.tasks if t in candidate.tasks]
    rows, tests, excluded = [], {}, {}
    for task in names:
        a, b = baseline.tasks.get(task), candidate.tasks.get(task)
        if a is None or b is None:
            continue
        row = {"Task": task, "Type": a.task_type or b.task_type or "?", "Split": b.split or a.split,
               "Baseline": a.score, "Candidate": b.score, "Delta": b.score - a.score,
               "CI low": math.nan, "CI high": math.nan, "p": math.nan, "Note": ""}
        problem = _why_incomparable(a, b)
        if problem:
            row["Note"] = f"not tested: {problem}; in no average"
            excluded[task] = problem
        else:
            items_a, why_a = _items_for(a)
            items_b, why_b = _items_for(b)
            if items_a is None or items_b is None:
                row["Note"] = "not tested: " + (why_a or why_b)
            else:
                try:
                    paired = sig.pair_items(row["Type"], b.metric or a.metric, items_a, items_b)
                except sig.NotPaired as exc:
                    row["Note"] = f"not tested: {exc}"
                else:
                    result = sig.paired_test(paired, task, method, n_resamples, seed)
                    tests[task] = result
                    row.update({"CI low": result.ci_low, "CI high": result.ci_high, "p": result.p_value,
                                "Note": f"{result.n_items} items"})
                    # the saved items must reproduce the saved scores, or the test would test something else
                    for side, entry in (("baseline", a), ("candidate", b)):
                        recomputed = 100.0 * sig.score(paired, side)
                        if abs(recomputed - entry.score) > 1e-3:
                            row["Note"] += f"; warning: {side} items give {recomputed:.4f}, file says {entry.score:.4f}"
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["Task", "Type", "Split", "Baseline", "Candidate", "Delta", "CI low",
                                        "CI high", "p", "Note"])
    tested = frame["p"].notna()
    frame["p (Holm)"] = math.nan
    if tested.any():
        adjusted = sig.holm(frame.loc[tested, "p"].tolist()) if correction == "holm" else frame.loc[tested, "p"]
        frame.loc[tested, "p (Holm)"] = list(adjusted)
    decisive = "p (Holm)" if correction == "holm" else "p"
    frame["Significant"] = frame[decisive].map(lambda p: "" if pd.isna(p) else ("yes" if p < alpha else "no"))
    groups = _groups(frame, tests, alpha, excluded)
    only_baseline = [t for t in (names if tasks else baseline.tasks) if t in baseline.tasks and t not in candidate.tasks]
    only_candidate = [t for t in candidate.tasks if t not in baseline.tasks and (not tasks or t in tasks)]

    def no_result(side: ModelScores, who: str, task: str) -> str:
        partial = side.partial.get(task)
        return f"the {who} has no {partial.split!r} score (missing or NaN)" if partial else f"the {who} has no result"

    left_out = {t: no_result(candidate, "candidate", t) for t in only_baseline}
    left_out.update({t: no_result(baseline, "baseline", t) for t in only_candidate})
    left_out.update({t: "neither side has a result" for t in names if t not in baseline.tasks
                     and t not in candidate.tasks})
    return Comparison(baseline, candidate, frame, groups, only_baseline=only_baseline, only_candidate=only_candidate,
                      left_out=left_out, excluded=excluded,
                      tests=tests, method=method, alpha=alpha, correction=correction)


def _groups(frame: pd.DataFrame, tests: dict[str, sig.TestResult], alpha: float,
            excluded: dict[str, str]) -> pd.DataFrame:
    """Per type, then over all tasks: the means (``averages.average``) over the tasks both sides have,
    leaving out those whose scores cannot be compared (``excluded``, named in the note)."""
    rows = []
    groups = [(t, frame[frame["Type"] == t]) for t in dict.fromkeys(frame["Type"])] + [("All tasks", frame)]
    for name, part in groups:
        left_out = [t for t in part["Task"] if t in excluded]
        part = part[~part["Task"].isin(left_out)]
        if part.empty:
            if excluded:
                rows.append({"Group": name, "Tasks": 0, "Baseline": math.nan, "Candidate": math.nan,
                             "Delta": math.nan, "CI low": math.nan, "CI high": math.nan, "p": math.nan,
                             "Significant": "", "Note": f"{excluded} incomparable task(s) left out of the averages"})
            continue
        tasks = list(part["Task"])
        means = {column: average(dict(zip(tasks, part[column])), tasks).value
                 for column in ("Baseline", "Candidate", "Delta")}
        row = {"Group": name, "Tasks": len(part), **means,
               "CI low": math.nan, "CI high": math.nan, "p": math.nan, "Significant": "",
               "Note": f"left out: {', '.join(left_out)} (cannot be compared); " if left_out else ""}
        missing = [t for t in part["Task"] if t not in tests]
        if missing:
            row["Note"] += f"not tested: {len(missing)} of {len(part)} task(s) without a paired test"
        else:
            delta, low, high, p = sig.mean_of_tests([tests[t] for t in part["Task"]])
            row.update({"CI low": low, "CI high": high, "p": p, "Significant": "yes" if p < alpha else "no",
                        "Note": row["Note"] + "mean over tasks"})
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(value, digits=2, signed=False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _p(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}" if value >= 0.0001 else f"{value:.1e}"


def report(comparison: Comparison) -> str:
    """Markdown: the per-task table, then the per-type and overall table."""
    from ..formats import frame_to_markdown

    c = comparison
    tasks = pd.DataFrame({
        "Task": c.tasks["Task"], "Type": c.tasks["Type"], "Split": c.tasks["Split"],
        "Baseline": c.tasks["Baseline"].map(_fmt), "Candidate": c.tasks["Candidate"].map(_fmt),
        "Delta": c.tasks["Delta"].map(lambda v: _fmt(v, signed=True)),
        "95% CI": [f"[{_fmt(lo, signed=True)}, {_fmt(hi, signed=True)}]" if not math.isnan(lo) else "-"
                   for lo, hi in zip(c.tasks["CI low"], c.tasks["CI high"])],
        "p": c.tasks["p"].map(_p), "p (Holm)": c.tasks["p (Holm)"].map(_p),
        "Significant": c.tasks["Significant"].replace("", "-"), "Note": c.tasks["Note"]})
    if c.correction != "holm":
        tasks = tasks.drop(columns=["p (Holm)"])
    groups = pd.DataFrame({
        "Group": c.groups["Group"], "Tasks": c.groups["Tasks"], "Baseline": c.groups["Baseline"].map(_fmt),
        "Candidate": c.groups["Candidate"].map(_fmt), "Delta": c.groups["Delta"].map(lambda v: _fmt(v, signed=True)),
        "95% CI": [f"[{_fmt(lo, signed=True)}, {_fmt(hi, signed=True)}]" if not math.isnan(lo) else "-"
                   for lo, hi in zip(c.groups["CI low"], c.groups["CI high"])],
        "p": c.groups["p"].map(_p), "Significant": c.groups["Significant"].replace("", "-"),
        "Note": c.groups["Note"]}) if len(c.groups) else pd.DataFrame()
    lines = [f"## {c.candidate.label} vs baseline {c.baseline.label}", "",
             f"Scores x100; delta = candidate - baseline. Test: paired {c.method}, "
             f"{next(iter(c.tests.values())).n_resamples if c.tests else sig.DEFAULT_RESAMPLES} resamples, "
             f"seed {next(iter(c.tests.values())).seed if c.tests else sig.DEFAULT_SEED}; significant at "
             f"alpha = {c.alpha}" + (" after Holm correction over the tasks." if c.correction == "holm" else "."), ""]
    lines.append(frame_to_markdown(tasks) if len(tasks) else "(no task in common)")
    if len(groups):
        lines += ["", frame_to_markdown(groups)]
    if c.excluded:
        lines += ["", f"Left out of every average ({len(c.excluded)} task(s), shown above; their scores cannot be "
                  "compared): " + "; ".join(f"{task} ({why})" for task, why in c.excluded.items())]
    if c.left_out:
        lines += ["", f"Left out ({len(c.left_out)} task(s), not in the tables or averages): "
                  + "; ".join(f"{task} ({why})" for task, why in c.left_out.items())]
    return "\n".join(lines)


def task_set_warning(comparisons: Sequence[Comparison]) -> str:
    """With several candidates: a warning when their "All tasks" rows average different task sets."""
    sets = {c.candidate.label: list(c.tasks["Task"]) for c in comparisons}
    if len(sets) < 2 or len({tuple(sorted(v)) for v in sets.values()}) == 1:
        return ""
    every = list(dict.fromkeys(t for tasks in sets.values() for t in tasks))
    lines = ["Warning: the candidates were compared on different tasks, so their \"All tasks\" rows are not "
             "averages over the same set:"]
    for label, tasks in sets.items():
        lacking = [t for t in every if t not in tasks]
        lines.append(f"  {label}: {len(tasks)} task(s)" + (f"; without {', '.join(lacking)}" if lacking else ""))
    lines.append("Pass --tasks with the tasks every candidate has to compare them on one set.")
    return "\n".join(lines)
