"""matplotlib charts (PNG, SVG or PDF by the file's suffix), titled and labelled to stand alone.

- ``type_bars``: mean main score per task type (of each benchmark shown), one bar per model: the
  mean over the tasks it has (``averages.average``), labelled with the count when it lacks some;
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


def text_outside(fig) -> list[str]:
    """Every visible text of ``fig`` (titles, labels, tick labels, legends, annotations) whose drawn extent
    leaves the canvas: what a reader would see clipped. Empty for a figure that fits."""
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    undrawn = set()  # tick labels of ticks beyond the axis limits exist but are never drawn
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            span = max(high - low, 1e-12)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - 1e-6 * span <= tick.get_loc() <= high + 1e-6 * span:
                    undrawn.update({id(tick.label1), id(tick.label2)})
    out = []
    for text in fig.findobj(Text):
        if not text.get_visible() or not text.get_text().strip() or id(text) in undrawn:
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < -0.5 or box.y0 < -0.5 or box.x1 > width + 0.5 or box.y1 > height + 0.5:
            out.append(f"{text.get_text()[:40]!r} at ({box.x0:.0f}, {box.y0:.0f})-({box.x1:.0f}, {box.y1:.0f}) "
                       f"outside {width:.0f}x{height:.0f}")
    return out


def _close(fig) -> None:
    _pyplot().close(fig)


def _save(fig, path: Path) -> Path:
    """Lay the figure out so that every text fits (``text_outside``), then write it."""
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=150)
    except OSError as exc:
        raise OutputError(f"Cannot write {path}: {exc.strerror or exc}.", "Pass a file in a writable folder "
                          "with free space.") from None
    finally:
        _close(fig)
    return path


def type_groups(models: Sequence[ModelScores], task_types: dict[str, str], tasks: Sequence[str],
                sets: dict[str, list[str]] | None = None, excluded=()) -> list[tuple[str, int, dict]]:
    """The bars of ``type_bars``: per task set (``averages.task_sets``; default one set, ``tasks``) and
    type that holds a task of ``tasks``: (its label, its number of tasks, model label -> Average)."""
    from .averages import CMTEB_TYPES, average

    present = [t for t in tasks if any(m.score(t) is not None for m in models)]
    sets = sets or {"": list(tasks)}
    found_types = [t for t in CMTEB_TYPES if any(task_types.get(task) == t for task in present)]
    found_types += sorted({task_types.get(t) or "Other" for t in present} - set(found_types))
    groups = []
    for title, members in sets.items():
        for kind in found_types:
            over = [t for t in members if (task_types.get(t) or "Other") == kind]
            if not any(t in present for t in over):
                continue
            label = kind + (f"\n{title}" if len(sets) > 1 else "")
            groups.append((label, len(over), {m.label: average({t: m.score(t) for t in over}, over, excluded)
                                              for m in models}))
    return groups


def type_bars(models: Sequence[ModelScores], task_types: dict[str, str], tasks: Sequence[str],
              path: str | Path, title: str | None = None, sets: dict[str, list[str]] | None = None,
              excluded=()) -> Path:
    path = check_output(path)
    if not models:
        raise UserError("No models to plot.", "Pass at least one results folder.")
    groups = type_groups(models, task_types, tasks, sets, excluded)
    if not groups:
        raise UserError("None of the tasks has a score: nothing to plot.", "Plot results of the tasks asked for.")

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(min(13.0, max(8.0, 5.0 + 0.5 * len(groups) * len(models))), 5.2))
    width = 0.8 / len(models)
    x = np.arange(len(groups))
    for i, model in enumerate(models):
        found = [averages[model.label] for _, _, averages in groups]
        offsets = x - 0.4 + width * (i + 0.5)
        heights = [a.value if a.have else 0 for a in found]
        bars = ax.bar(offsets, heights, width, label=model.label)
        for bar, value in zip(bars, found):
            text = "n/a" if not value.have else f"{value.value:.1f}" + (
                f"\n{value.have}/{value.total}" if not value.complete else "")
            ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [f"{label}\n({n} task{'s' if n != 1 else ''})" for label, n, _ in groups], fontsize=8)
    ax.set_ylabel("Mean main score (x100)")
    ax.set_xlabel(_wrapped("Task type (mean over the model's tasks of the type; 7/8 = the mean of 7 of its 8 tasks; "
                           "n/a = none)", 70))
    ax.set_title(_wrapped(title or "Main score by task type", int(7 * fig.get_figwidth())))
    ax.set_ylim(0, max(100.0, ax.get_ylim()[1]) * 1.08)
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
            label = f"{row['Delta']:+.2f}  " + ("(not comparable: in no average)" if row["Task"] in
                                                 comparison.excluded else "(no test)")
        ax.annotate(label, (max(row["Delta"], row["CI high"] if tested else row["Delta"], 0), yi),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [f"{t} ({ty})" for t, ty in zip(frame["Task"], frame["Type"])])
    ax.set_xlabel("Delta of main score, candidate - baseline (points x100); bars: 95% CI")
    ax.set_title(_wrapped(title or f"{comparison.candidate.label} vs baseline {comparison.baseline.label}: "
                          f"per-task delta"))
    # at least half a point either side: a difference of a few thousandths must not fill the chart
    low = min(-0.5, float(np.nanmin(frame[["Delta", "CI low"]].to_numpy(dtype=float))))
    high = max(0.5, float(np.nanmax(frame[["Delta", "CI high"]].to_numpy(dtype=float))))
    span = high - low
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
                title: str | None = None, any_machine: bool = False) -> Path:
    """Mean main score over the tasks every timed model has, against their summed encode time (the
    total evaluation time of results that do not record it apart). A run whose vectors came from the
    embedding cache is labelled with their share, drawn hollow when they are most of them, and left out
    (and named) when nothing was encoded: its encode time does not measure the model."""
    from .averages import average
    from .timings import comparable_timings

    path = check_output(path)
    comparable, left_out, what_compared = comparable_timings(models, any_machine)
    timed = [m for m in comparable if any(_encode_seconds(t)[0] is not None for t in m.tasks.values())]
    if not timed and left_out:
        raise UserError("No runs whose times can be compared: " + "; ".join(f"{k}: {v}" for k, v in left_out.items())
                        + ".", "Plot runs written by 'cmteb-eval run' on one machine, or pass --any-machine to draw "
                               "times from other tools and machines anyway.")
    if not timed:
        raise UserError("No result file records an evaluation time: no score-versus-speed chart.",
                        "Plot runs written by 'cmteb-eval run' (published references carry no timings).")
    common = [t for t in (tasks or timed[0].tasks) if all(
        t in m.tasks and _encode_seconds(m.tasks[t])[0] is not None for m in timed)]
    if not common:
        raise UserError("The timed models share no task with a recorded time.", "Plot runs of the same tasks.")
    points, totals_only, from_cache = [], False, []
    for model in timed:
        seconds = sum(_encode_seconds(model.tasks[t])[0] for t in common)
        total_only = any(_encode_seconds(model.tasks[t])[1] for t in common)
        hits = sum(_cache_hits(model.tasks[t]) for t in common)
        encoded = sum(int((model.tasks[t].timing or {}).get("texts_encoded") or 0) for t in common)
        if hits and not encoded and not total_only:  # nothing was encoded: no point on a time axis
            from_cache.append(model.label)
            continue
        totals_only |= total_only
        label = model.label + (f"\n({hits} of {hits + encoded} vectors from the cache)" if hits else "") \
            + (" (total time)" if total_only else "")
        points.append((max(seconds, 1e-3), average({t: model.score(t) for t in common}, common).value,
                       hits > encoded, label))
    if not points:
        raise UserError("Every timed run was served wholly from the embedding cache: no encode time to plot.",
                        "Plot runs that encoded their texts (a run with --no-cache, or the first run of a model).")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.0, 5.6))
    times = [x for x, _, _, _ in points]
    log = max(times) / max(min(times), 1e-9) > 10
    if log:
        ax.set_xscale("log")
        ax.set_xlim(min(times) / 3, max(times) * 3)
    else:  # from zero: a few seconds of noise between two long runs must not look like a gap
        ax.set_xlim(0, max(times) * 1.15)
    scores = [y for _, y, _, _ in points]
    low, high = min(scores), max(scores)
    pad = max(2.0, 0.25 * (high - low))
    ax.set_ylim(max(0.0, low - pad), min(100.0, high + pad) if high + pad <= 100 else high + pad)
    middle = math.sqrt(ax.get_xlim()[0] * ax.get_xlim()[1]) if log else sum(ax.get_xlim()) / 2
    for x, y, mostly_cached, label in points:
        ax.scatter(x, y, s=60, facecolors="none" if mostly_cached else "C0", edgecolors="C0", linewidths=1.5)
        right = x > middle  # a label left of a point in the right half, so that it stays inside
        ax.annotate(label, (x, y), xytext=(-7 if right else 7, 0), textcoords="offset points", fontsize=8,
                    ha="right" if right else "left", va="center")
    what = "Encode time" + (" (total evaluation time where not recorded apart)" if totals_only else "")
    skipped = [m.label for m in models if m not in timed and m.label not in left_out]
    notes = [f"{what} over the {len(common)} task(s) every model has, seconds ({'log scale; ' if log else 'axis from 0; '}"
             "left is faster; hollow = most vectors from the cache)", f"Compared: {what_compared}.",
             "Tasks: " + ", ".join(common) + "."]
    notes += [f"Left out: {label} ({why})." for label, why in left_out.items()]
    notes += [f"No timing recorded: {', '.join(skipped)}."] if skipped else []
    notes += [f"Served wholly from the cache, not drawn: {', '.join(from_cache)}."] if from_cache else []
    ax.set_xlabel("\n".join(_wrapped(n, 100) for n in notes), fontsize=8)
    ax.set_ylabel("Mean main score over the same tasks (x100)" + ("" if ax.get_ylim()[0] == 0 else "; not from 0"))
    ax.set_title(_wrapped(title or "Score versus encode time"))
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path)


def _wrapped(text: str, width: int = 60) -> str:
    """A title in lines of at most ``width`` characters, so that the figure never clips it."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False)) or text
