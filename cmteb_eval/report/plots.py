"""matplotlib charts (PNG, SVG or PDF by the file's suffix), titled and labelled to stand alone.

- ``type_bars``: mean main score per task type, one bar per model (a model missing a task
  of a type gets no bar for it, marked "n/a");
- ``delta_chart``: candidate minus baseline per task, with the paired test's confidence
  interval; significant differences are filled and starred, untested ones say so;
- ``score_speed``: mean main score against encode time (the harness block's; older results:
  the evaluation time); runs mostly served from the embedding cache drawn hollow and labelled.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import UserError
from .outputs import OutputError, check_target
from .scores import ModelScores

SUFFIXES = (".png", ".svg", ".pdf")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_output(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(f"Cannot tell the image format of {path}.", f"End the file name with {', '.join(SUFFIXES)}.")
    return check_target(path)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=150)
    except OSError as exc:
        raise OutputError(f"Cannot write {path}: {exc.strerror or exc}.", "Pass a file in a writable folder "
                          "with free space.") from None
    finally:
        _pyplot().close(fig)
    return path


def type_bars(models: Sequence[ModelScores], task_types: dict[str, str], tasks: Sequence[str],
              path: str | Path, title: str | None = None) -> Path:
    from .tables import CMTEB_TYPES, mean_over, task_matrix

    path = check_output(path)
    if not models:
        raise UserError("No models to plot.", "Pass at least one results folder.")
    present = [t for t in tasks if any(m.score(t) is not None for m in models)]
    types = [t for t in CMTEB_TYPES if any(task_types.get(task) == t for task in present)]
    types += sorted({task_types.get(t) or "Other" for t in present} - set(types))
    matrix = task_matrix(models, present)
    groups = {ty: [t for t in present if (task_types.get(t) or "Other") == ty] for ty in types}
    means = {ty: mean_over(matrix, groups[ty]) for ty in types}

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(min(13.0, 5.0 + 0.5 * len(types) * len(models)), 4.8))
    width = 0.8 / len(models)
    x = np.arange(len(types))
    for i, model in enumerate(models):
        values = [means[ty][model.label] for ty in types]
        offsets = x - 0.4 + width * (i + 0.5)
        heights = [0 if math.isnan(v) else v for v in values]
        bars = ax.bar(offsets, heights, width, label=model.label)
        for bar, value in zip(bars, values):
            ax.annotate("n/a" if math.isnan(value) else f"{value:.1f}", (bar.get_x() + bar.get_width() / 2,
                        bar.get_height()), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                        fontsize=8)
    ax.set_xticks(x, [f"{ty}\n({len(groups[ty])} task{'s' if len(groups[ty]) != 1 else ''})" for ty in types])
    ax.set_ylabel("Mean main score (x100)")
    ax.set_xlabel("Task type (mean over the tasks listed; n/a = a task of the type is missing)")
    ax.set_title(_wrapped(title or "Main score by task type", 80))
    ax.set_ylim(0, max(100.0, ax.get_ylim()[1]))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def delta_chart(comparison, path: str | Path, title: str | None = None) -> Path:
    path = check_output(path)
    frame = comparison.tasks
    if frame.empty:
        raise UserError("The two models have no task in common: nothing to plot.", "Compare runs of the same tasks.")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 2.4 + 0.5 * len(frame)))
    y = np.arange(len(frame))[::-1]
    for yi, (_, row) in zip(y, frame.iterrows()):
        tested = not math.isnan(row["p"])
        significant = row["Significant"] == "yes"
        color = ("#c0392b" if row["Delta"] < 0 else "#27ae60") if significant else "#95a5a6"
        ax.barh(yi, row["Delta"], color=color if (significant or not tested) else "white", edgecolor=color,
                hatch=None if significant or not tested else "//", height=0.6)
        if tested:
            ax.errorbar(row["Delta"], yi, xerr=[[row["Delta"] - row["CI low"]], [row["CI high"] - row["Delta"]]],
                        fmt="none", ecolor="black", capsize=3, lw=1)
            holm = comparison.correction == "holm"
            label = f"{row['Delta']:+.2f}  {'p(Holm)' if holm else 'p'}={row['p (Holm)' if holm else 'p']:.3g}"
            label += " *" if significant else ""
        else:
            label = f"{row['Delta']:+.2f}  (no test)"
        ax.annotate(label, (max(row["Delta"], row["CI high"] if tested else row["Delta"], 0), yi),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [f"{t} ({ty})" for t, ty in zip(frame["Task"], frame["Type"])])
    ax.set_xlabel("Delta of main score, candidate - baseline (points x100); bars: 95% CI")
    ax.set_title(_wrapped(title or f"{comparison.candidate.label} vs baseline {comparison.baseline.label}: "
                          f"per-task delta"))
    low = min(0.0, float(np.nanmin(frame[["Delta", "CI low"]].to_numpy(dtype=float))))
    high = max(0.0, float(np.nanmax(frame[["Delta", "CI high"]].to_numpy(dtype=float))))
    span = max(high - low, 1e-6)
    ax.set_xlim(low - 0.1 * span, high + 0.45 * span)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color="#27ae60", label="significantly better *"),
                       Patch(color="#c0392b", label="significantly worse *"),
                       Patch(facecolor="white", edgecolor="#95a5a6", hatch="//", label="not significant"),
                       Patch(color="#95a5a6", label="not tested (no per-item scores)")],
              fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22 - 0.3 / max(len(frame), 1)), ncol=4,
              frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def _encode_seconds(entry) -> tuple[float | None, bool]:
    """(seconds the task spent encoding, whether they are only the total evaluation time): the harness
    block's encode time where the result records it, else its evaluation time."""
    timing = entry.timing or {}
    if isinstance(timing.get("encode_seconds"), (int, float)):
        return float(timing["encode_seconds"]), False
    return entry.evaluation_time, True


def _cache_hits(entry) -> int:
    hits = (entry.timing or {}).get("cache_hits")
    return int(hits) if isinstance(hits, (int, float)) else 0


def score_speed(models: Sequence[ModelScores], path: str | Path, tasks: Sequence[str] | None = None,
                title: str | None = None) -> Path:
    """Mean main score over the tasks every timed model has, against their summed encode time (the
    total evaluation time of results that do not record it apart). A run whose vectors came from the
    embedding cache is labelled with their share, drawn hollow when they are most of them, and left out
    (and named) when nothing was encoded: its encode time does not measure the model."""
    path = check_output(path)
    timed = [m for m in models if any(_encode_seconds(t)[0] is not None for t in m.tasks.values())]
    if not timed:
        raise UserError("No result file records an evaluation time: no score-versus-speed chart.",
                        "Plot runs written by 'cmteb-eval run' (published references carry no timings).")
    common = [t for t in (tasks or timed[0].tasks) if all(
        t in m.tasks and _encode_seconds(m.tasks[t])[0] is not None for m in timed)]
    if not common:
        raise UserError("The timed models share no task with a recorded time.", "Plot runs of the same tasks.")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    times, totals_only, from_cache = [], False, []
    for model in timed:
        seconds = sum(_encode_seconds(model.tasks[t])[0] for t in common)
        total_only = any(_encode_seconds(model.tasks[t])[1] for t in common)
        hits = sum(_cache_hits(model.tasks[t]) for t in common)
        encoded = sum(int((model.tasks[t].timing or {}).get("texts_encoded") or 0) for t in common)
        if hits and not encoded and not total_only:  # nothing was encoded: no point on a time axis
            from_cache.append(model.label)
            continue
        totals_only |= total_only
        mean = float(np.mean([model.tasks[t].score for t in common]))
        times.append(max(seconds, 1e-3))
        mostly_cached = hits > encoded
        ax.scatter(max(seconds, 1e-3), mean, s=60, facecolors="none" if mostly_cached else "C0", edgecolors="C0",
                   linewidths=1.5)
        label = model.label + (f"\n({hits} of {hits + encoded} vectors from the cache)" if hits else "") \
            + (" (total time)" if total_only else "")
        ax.annotate(label, (max(seconds, 1e-3), mean), xytext=(5, 5), textcoords="offset points", fontsize=8)
    if not times:
        raise UserError("Every timed run was served wholly from the embedding cache: no encode time to plot.",
                        "Plot runs that encoded their texts (a run with --no-cache, or the first run of a model).")
    log = max(times) / max(min(times), 1e-9) > 10
    if log:
        ax.set_xscale("log")
    what = "Encode time" + (" (total evaluation time where not recorded apart)" if totals_only else "")
    ax.set_xlabel(f"{what} over {len(common)} task(s), seconds\n({'log scale; ' if log else ''}left is faster; "
                  f"hollow = most vectors from the cache)")
    ax.set_ylabel("Mean main score over the same tasks (x100)")
    ax.set_title(_wrapped(title or "Score versus encode time"))
    ax.margins(0.2)
    ax.grid(alpha=0.3, which="both")
    skipped = [m.label for m in models if m not in timed]
    notes = ([_wrapped("no timing recorded: " + ", ".join(skipped), 70)] if skipped else []) + \
        ([_wrapped("served wholly from the cache, not drawn: " + ", ".join(from_cache), 70)] if from_cache else [])
    if notes:
        ax.text(0.01, 0.01, "\n".join(notes), transform=ax.transAxes, fontsize=7, va="bottom", color="#7f8c8d")
    ax.text(0.99, 0.99, _wrapped("tasks: " + ", ".join(common), 90), transform=ax.transAxes, fontsize=7, ha="right",
            va="top", color="#7f8c8d")
    return _save(fig, path)


def _wrapped(text: str, width: int = 60) -> str:
    """A title in lines of at most ``width`` characters, so that the figure never clips it."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False)) or text
