"""Subcommands that turn result files into answers: ``table``, ``reproduce``, ``compare``,
``check`` and ``plot`` (registered by main.py); the work is the report layer's (``report/``)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

from ..errors import UserError
from ..report.outputs import check_target, emit, write_text
from ..report.formats import output_format
from ..report.scores import ignore_differences
from .args import split_names
from .report_args import TABLE_CHOICES

def _registry(task_files=()):
    from ..tasks.registry import Registry

    return Registry.load(task_files)


@dataclass(frozen=True)
class Sources:
    """Where published:NAME and a model folder's revision are read from: the command's
    ``--results-repo`` and ``--revision``, handed to each loader."""

    results_repo: str | None = None
    revision: str | None = None

    @classmethod
    def of(cls, args) -> "Sources":
        return cls(getattr(args, "results_repo", None), getattr(args, "revision", None))


def _published(name, registry, sources: Sources):
    from ..report.references.published import published_model
    from ..report.references.results_repo import repo_model

    if sources.results_repo:
        return repo_model(sources.results_repo, str(name), registry, sources.revision)
    return published_model(str(name), registry)


def _load_models(paths, registry, sources: Sources, published=None):
    from ..report.references.published import PUBLISHED_PREFIX, all_published_models
    from ..report.scores import load_path

    models = []
    for path in paths:
        if str(path).startswith(PUBLISHED_PREFIX):
            models.append(_published(path, registry, sources))
        else:
            models.extend(load_path(path, registry, sources.revision))
    if published is not None:
        models.extend(all_published_models(registry) if not published
                      else [_published(name, registry, sources) for name in split_names(published)])
    return models


def _load_single(path, role, registry, sources: Sources):
    from ..report.references.published import PUBLISHED_PREFIX
    from ..report.scores import load_one_model

    if str(path).startswith(PUBLISHED_PREFIX):
        return _published(path, registry, sources)
    return load_one_model(path, role, registry, sources.revision)


def _write_or_print(text: str, output: str | None) -> None:
    if output:
        write_text(output, text)
        emit(f"Wrote {output}")
    else:
        emit(text, end="" if text.endswith("\n") else "\n")


def _check_test_arguments(args) -> None:
    if args.resamples < 100:
        raise UserError(f"--resamples must be at least 100, got {args.resamples}.", "Use 1000 or more.")
    if not 0 < args.alpha < 1:
        raise UserError(f"--alpha must be between 0 and 1, got {args.alpha}.", "Use e.g. 0.05.")
    if args.seed < 0:
        raise UserError(f"--seed must be a non-negative integer, got {args.seed}.", "Use e.g. 0 (the default).")


# ------------------------------------------------------------------ commands


def command_table(args: argparse.Namespace) -> int:
    from ..report import tables as T
    from ..report.averages import left_out_by_rule, task_sets, type_average_columns
    from ..report.scores import comparability_notes, task_types as types_of
    from ..tasks.types import TASK_TYPES

    sources = Sources.of(args)
    if not args.paths and args.published is None and not args.card:
        raise UserError("Nothing to tabulate.", "Pass results folders, --published, or --card.")
    if args.output:
        check_target(args.output)
    registry = _registry(args.task_file)
    models = _load_models(args.paths, registry, sources, args.published)
    ignore_differences(models, args.ignore)
    task_types = types_of(models, registry)
    wanted = args.tables or ["cmteb", "types"]
    cmteb_tasks = list(registry.benchmark("cmteb").tasks)
    chosen = split_names(args.tasks)
    for bench in args.benchmark:
        chosen += list(registry.benchmark(bench).tasks)
    found = list(dict.fromkeys(t for m in models for t in [*m.tasks, *m.partial]))  # partial: shown as -
    order = {t: i for i, t in enumerate([*cmteb_tasks, *registry.tasks])}
    universe = chosen or sorted(found, key=lambda t: (order.get(t, len(order)), t))
    by_lower = {t.lower(): t for t in TASK_TYPES}
    marks = comparability_notes(models)
    excluded = left_out_by_rule(marks)  # in no average of any table (averages.py)
    sets = task_sets(universe, registry, chosen)
    out = []
    for name in dict.fromkeys(n.lower() for n in wanted):  # a table asked for twice is shown once
        key = name.lower()
        if key == "cmteb":
            out.append(T.cmteb_table(models, task_types, cmteb_tasks, args.card, excluded))
        elif key == "mteb":
            out.append(T.mteb_table(models, args.card, registry, excluded))
        elif key == "reranking":
            out.append(T.reranking_table(models, args.card, excluded))
        elif key == "speed":
            from ..report.speed import speed_table

            out.append(speed_table(models, chosen or None, args.any_machine))
        elif key in ("types", *by_lower):
            types = [by_lower[key]] if key in by_lower else \
                [t for t in TASK_TYPES if any(task_types.get(u) == t for u in universe)]
            for task_type in types:
                tasks = [t for t in universe if task_types.get(t) == task_type]
                if tasks and models:
                    out.append(T.type_table(models, task_type, tasks, type_average_columns(
                        sets, task_type, tasks, task_types), excluded))
        else:
            raise UserError(f"Unknown table {name!r}.", f"Use {', '.join(TABLE_CHOICES)} or a task type "
                                                        f"({', '.join(TASK_TYPES)}).")
    if not out:
        raise UserError("No table to show: the results hold no task of the tables asked for.",
                        "Check the paths, or ask for another --table.")
    seen: set = set()  # 'types' and 'STS' both give the STS table: shown once
    out = [t for t in out if not (t.key in seen or seen.add(t.key))]
    out = [t.sorted_by(args.sort, args.ascending) for t in out]
    if args.sort and not any(args.sort.lower() in [c.lower() for c in ("Model", *t.frame.columns)] for t in out):
        raise UserError(f"No table has a column {args.sort!r}.", "Sort by Model, Avg or a task or type column.")
    notes = [f"{m.label}: {note}" for m in models for note in m.notes]
    notes += _mark(out, marks)
    untyped = [t for t in universe if t not in task_types]
    if untyped and any(n in ("types",) for n in wanted):
        notes.append(f"task(s) of unknown type, in no per-type table: {', '.join(untyped)}")
    fmt = output_format(args.format, args.output)
    if args.output_dir:
        _write_tables(out, fmt, args.output_dir)
    elif fmt.name == "csv":  # one tidy table, as pandas.read_csv reads it (report/tidy.py)
        from ..report.tidy import tidy_csv

        shown = {t for table in out for t in table.frame.columns}
        _write_or_print(tidy_csv(models, [t for t in found if t in shown] or None), args.output)
    else:
        _write_or_print(T.render(out, fmt.name), args.output)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def _write_tables(tables, fmt, folder: str) -> None:
    """Each table in a file of its own (``--output-dir``); a CSV file holds one plain table."""
    from pathlib import Path

    from ..report import tables as T
    from ..report.tidy import file_name

    for table in tables:
        target = Path(folder) / file_name(table.key, fmt.extension)
        body = getattr(T, fmt.table)(table) + "\n" if fmt.name == "csv" else T.render([table], fmt.name)
        write_text(check_target(target), body)
        emit(f"Wrote {target}")


def _mark(tables, marks) -> list[str]:
    """Mark every score that cannot be compared with its column's first (scores.comparability_notes)."""
    from ..report.tables import MARK

    shown = set()
    for table in tables:
        table.marks = {key: why for key, why in marks.items() if key[0] in table.frame.index
                       and key[1] in table.frame.columns}
        shown.update(table.marks)
    return [f"{MARK} {row} {column}: {marks[(row, column)]}" for row, column in sorted(shown)]


def command_reproduce(args: argparse.Namespace) -> int:
    from ..report.comparison.gate import check_tolerance
    from ..report.references.published import find_published_for, published_model
    from ..report.comparison.reproduce import reproduce

    sources = Sources.of(args)
    check_tolerance(args.tolerance)  # before reading any file: one rule with 'check'
    if args.output:
        check_target(args.output)
    registry = _registry()
    models = _load_models(args.paths, registry, sources)
    reports, code, without = [], 0, []
    for model in models:  # every model that has a reference; the others are listed, not fatal
        reference_name = args.reference or find_published_for(model.name)
        if reference_name is None:
            without.append(model.name)
            continue
        try:
            result = reproduce(model, published_model(reference_name, registry), args.tolerance)
        except UserError as exc:
            if len(models) == 1:
                raise
            reports.append(f"## Reproduction: {model.name} ({model.source})\n\nnot reported: {exc.message}")
            code = max(code, 1)
            continue
        reports.append(result.report())
        code = max(code, result.exit_code)
    if not reports:
        raise UserError(f"No published scores are shipped for {', '.join(repr(n) for n in without)}.",
                        "Pass --reference with one of the models 'cmteb-eval table --published' lists.")
    if without:
        reports.append(f"No published reference for {len(without)} model(s), not reported: {', '.join(without)} "
                       f"(pass --reference to compare one with a published model).")
    _write_or_print("\n\n".join(reports) + "\n", args.output)
    return code


def command_compare(args: argparse.Namespace) -> int:
    from ..report.comparison.compare import compare, report, task_set_warning

    sources = Sources.of(args)
    _check_test_arguments(args)
    if len(args.models) < 2:
        raise UserError("compare needs a baseline and at least one candidate.", "Pass two or more paths.")
    for target in (args.output, args.json_path):
        if target:
            check_target(target)
    registry = _registry()
    baseline = _load_single(args.models[0], "baseline", registry, sources)
    candidates = [_load_single(path, "candidate", registry, sources) for path in args.models[1:]]
    ignore_differences([baseline, *candidates], args.ignore)
    results = [compare(baseline, candidate, split_names(args.tasks) or None,
                       args.method, args.resamples, args.seed, args.alpha,
                       "none" if args.no_correction else "holm") for candidate in candidates]
    warning = task_set_warning(results)
    text = "\n\n".join([report(r) for r in results] + ([warning] if warning else [])) + "\n"
    _write_or_print(text, args.output)  # to the file, or printed: not both (as reproduce and check)
    if args.json_path:
        payload = [{"baseline": r.baseline.name, "candidate": r.candidate.name, "method": r.method,
                    "alpha": r.alpha, "correction": r.correction,
                    "tasks": json.loads(r.tasks.to_json(orient="records")),
                    "groups": json.loads(r.groups.to_json(orient="records"))} for r in results]
        write_text(args.json_path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return 0


def command_check(args: argparse.Namespace) -> int:
    from ..report.comparison.gate import check, load_tolerances

    sources = Sources.of(args)
    registry = _registry()
    default, per_task = load_tolerances(args.tolerance_file, args.tolerance)  # gate.check_tolerance rules
    baseline = _load_single(args.baseline, "baseline", registry, sources)
    candidate = _load_single(args.candidate, "candidate", registry, sources)
    ignore_differences([baseline, candidate], args.ignore)
    if args.output:
        check_target(args.output)
    result = check(baseline, candidate, split_names(args.tasks) or None, default, per_task)
    _write_or_print(result.report() + "\n", args.output)
    return result.exit_code


def command_plot(args: argparse.Namespace) -> int:
    from ..report import plots

    sources = Sources.of(args)
    plots.check_output(args.output)  # before any work
    registry = _registry()
    tasks = split_names(args.tasks) or None
    if args.kind == "delta":
        from ..report.comparison.compare import compare

        _check_test_arguments(args)
        if len(args.paths) != 2:
            raise UserError("plot delta needs exactly two paths: the baseline, then the candidate.",
                            "e.g. cmteb-eval plot delta results/base results/new -o delta.png")
        comparison = compare(_load_single(args.paths[0], "baseline", registry, sources),
                             _load_single(args.paths[1], "candidate", registry, sources), tasks, args.method,
                             args.resamples, args.seed, args.alpha, "none" if args.no_correction else "holm")
        path = plots.delta_chart(comparison, args.output, args.title)
    else:
        models = _load_models(args.paths, registry, sources, args.published)
        if not models:
            raise UserError("No models to plot.", "Pass results folders (or --published for the types chart).")
        if args.kind == "types":
            from ..report.averages import left_out_by_rule, task_sets
            from ..report.scores import comparability_notes, task_types

            # by default the tasks of the user's runs (published references are compared on those),
            # averaged over the benchmark each belongs to
            runs = [m for m in models if m.origin == "run"] or models
            universe = tasks or list(dict.fromkeys(t for m in runs for t in m.tasks))
            excluded = left_out_by_rule(comparability_notes(models))
            path = plots.type_bars(models, task_types(models, registry), universe, args.output, args.title,
                                   task_sets(universe, registry, tasks), excluded)
            for task, why in excluded.items():
                print(f"note: {task} left out of every average: {why}", file=sys.stderr)
        else:
            path = plots.score_speed(models, args.output, tasks, args.title, args.any_machine)
    print(f"Wrote {path}")
    return 0


REPORT_COMMANDS = {"table": command_table, "reproduce": command_reproduce, "compare": command_compare,
                   "check": command_check, "plot": command_plot}
