"""Subcommands that turn result files into answers: ``table``, ``reproduce``, ``compare``,
``check`` and ``plot`` (registered by main.py); the work is the report layer's (``report/``)."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import UserError
from ..report.outputs import check_target, emit, write_text
from ..report.formats import FORMATS, output_format
from .args import split_names

TABLE_CHOICES = ("cmteb", "mteb", "reranking", "types", "speed")

def add_report_parsers(commands) -> None:
    table = commands.add_parser("table", help="leaderboard tables (C-MTEB, MTEB, reranking, per type) from result files")
    table.add_argument("paths", nargs="*", help="output folders, model folders or result files")
    table.add_argument("--published", nargs="*", metavar="MODEL",
                       help="add the shipped published per-task scores (all models, or those named)")
    table.add_argument("--card", action="store_true", help="add the BGE model card's printed rows")
    table.add_argument("--table", action="append", default=[], dest="tables",
                       help=f"which tables: {', '.join(TABLE_CHOICES)} or a task type (repeatable; "
                            "default: cmteb and types)")
    table.add_argument("--tasks", nargs="+", action="extend", help="tasks of the per-type tables (default: all found)")
    table.add_argument("--benchmark", action="append", default=[], help="tasks of the per-type tables from a benchmark")
    table.add_argument("--format", choices=list(FORMATS),
                       help="default: the one of --output's extension (.md, .csv, .html, .tex), else markdown")
    table.add_argument("--sort", help="sort rows by this column (e.g. Avg, STS, Model)")
    table.add_argument("--ascending", action="store_true", help="sort ascending (default: descending)")
    table.add_argument("--output", help="write to this file instead of printing")
    table.add_argument("--output-dir", help="write each table to a file of its own in this folder "
                       "(cmteb.csv, type-STS.csv, ...; the extension of --format)")
    table.add_argument("--task-file", action="append", default=[], help="also load this task card")
    _add_source_arguments(table)

    rep = commands.add_parser("reproduce", help="our scores against the published ones, task by task")
    rep.add_argument("paths", nargs="+", help="output folders, model folders or result files")
    rep.add_argument("--reference", help="published model to compare with (default: matched by model name)")
    rep.add_argument("--tolerance", type=float, default=0.05, help="points (x100) a task may differ (default 0.05)")
    rep.add_argument("--output", help="write the report to this file instead of printing it")
    _add_source_arguments(rep)

    cmp_ = commands.add_parser("compare", help="per-task, per-type and overall deltas with paired significance tests")
    cmp_.add_argument("models", nargs="+", metavar="PATH",
                      help="baseline first, then candidates: model folders, result files, or published:MODEL")
    _add_test_arguments(cmp_)
    cmp_.add_argument("--tasks", nargs="+", action="extend", help="only these tasks")
    cmp_.add_argument("--output", help="also write the Markdown report to this file")
    cmp_.add_argument("--json", dest="json_path", help="write the comparison as JSON to this file")
    _add_source_arguments(cmp_)

    chk = commands.add_parser("check", help="regression gate: exit 1 when a task's main score fell beyond tolerance")
    chk.add_argument("--baseline", required=True, help="output folder (one model), model folder or result file")
    chk.add_argument("--candidate", required=True, help="output folder (one model), model folder or result file")
    chk.add_argument("--tolerance", type=float, default=0.5, help="points (x100) a score may fall (default 0.5)")
    chk.add_argument("--tolerance-file", help='per-task tolerances, JSON or TOML: {"default": 0.5, "STSB": 1.0}')
    chk.add_argument("--tasks", nargs="+", action="extend",
                     help="only these tasks (default: those both sides have; the others are listed)")
    chk.add_argument("--output", help="write the report to this file instead of printing it")
    _add_source_arguments(chk)

    plot = commands.add_parser("plot", help="charts: per-type bars, per-task deltas, score versus speed")
    plot.add_argument("kind", choices=["types", "delta", "speed"])
    plot.add_argument("paths", nargs="*", help="results (for delta: baseline then candidate); published:MODEL allowed")
    plot.add_argument("--output", "-o", required=True, help="image file: .png, .svg or .pdf")
    plot.add_argument("--published", nargs="*", metavar="MODEL", help="add published references (types only)")
    plot.add_argument("--tasks", nargs="+", action="extend", help="only these tasks")
    plot.add_argument("--title", help="chart title")
    _add_test_arguments(plot)
    _add_source_arguments(plot)


def _add_source_arguments(parser) -> None:
    parser.add_argument("--results-repo", metavar="PATH",
                        help="a checkout of the MTEB results repository (or an mteb cache): published:ORG/MODEL "
                             "then names any of its models")
    parser.add_argument("--revision", help="the revision folder to read where a model has several "
                                           "(default: the newest file per task)")


def _add_test_arguments(parser) -> None:
    parser.add_argument("--method", choices=["bootstrap", "permutation"], default="bootstrap",
                        help="paired test (default: bootstrap)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap/permutation resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    parser.add_argument("--no-correction", action="store_true",
                        help="judge significance on raw p-values instead of Holm-corrected ones")


# ------------------------------------------------------------------ loading


def _registry(task_files=()):
    from ..tasks.registry import Registry

    return Registry.load(task_files)


_SOURCES = {"results_repo": None, "revision": None}  # the command's --results-repo and --revision


def _use_sources(args) -> None:
    _SOURCES.update(results_repo=getattr(args, "results_repo", None), revision=getattr(args, "revision", None))


def _published(name, registry):
    from ..report.published import published_model
    from ..report.results_repo import repo_model

    if _SOURCES["results_repo"]:
        return repo_model(_SOURCES["results_repo"], str(name), registry, _SOURCES["revision"])
    return published_model(str(name), registry)


def _load_models(paths, registry, published=None):
    from ..report.published import PUBLISHED_PREFIX, all_published_models
    from ..report.scores import load_path

    models = []
    for path in paths:
        if str(path).startswith(PUBLISHED_PREFIX):
            models.append(_published(path, registry))
        else:
            models.extend(load_path(path, registry, _SOURCES["revision"]))
    if published is not None:
        models.extend(all_published_models(registry) if not published
                      else [_published(name, registry) for name in split_names(published)])
    return models


def _load_single(path, role, registry):
    from ..report.published import PUBLISHED_PREFIX
    from ..report.scores import load_one_model

    if str(path).startswith(PUBLISHED_PREFIX):
        return _published(path, registry)
    return load_one_model(path, role, registry, _SOURCES["revision"])


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
    from ..report.scores import task_types as types_of
    from ..tasks.types import TASK_TYPES

    _use_sources(args)
    if not args.paths and args.published is None and not args.card:
        raise UserError("Nothing to tabulate.", "Pass results folders, --published, or --card.")
    if args.output:
        check_target(args.output)
    registry = _registry(args.task_file)
    models = _load_models(args.paths, registry, args.published)
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
    out = []
    for name in dict.fromkeys(n.lower() for n in wanted):  # a table asked for twice is shown once
        key = name.lower()
        if key == "cmteb":
            out.append(T.cmteb_table(models, task_types, cmteb_tasks, args.card))
        elif key == "mteb":
            out.append(T.mteb_table(models, args.card, registry))
        elif key == "reranking":
            out.append(T.reranking_table(models, args.card))
        elif key == "speed":
            from ..report.speed import speed_table

            out.append(speed_table(models, chosen or None))
        elif key in ("types", *by_lower):
            types = [by_lower[key]] if key in by_lower else \
                [t for t in TASK_TYPES if any(task_types.get(u) == t for u in universe)]
            for task_type in types:
                tasks = [t for t in universe if task_types.get(t) == task_type]
                if tasks and models:
                    out.append(T.type_table(models, task_type, tasks))
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
    notes += _mark(out, models)
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


def _mark(tables, models) -> list[str]:
    """Mark every score that cannot be compared with its column's first (scores.comparability_notes)."""
    from ..report.scores import comparability_notes
    from ..report.tables import MARK

    marks = comparability_notes(models)
    shown = set()
    for table in tables:
        table.marks = {key: why for key, why in marks.items() if key[0] in table.frame.index
                       and key[1] in table.frame.columns}
        shown.update(table.marks)
    return [f"{MARK} {row} {column}: {marks[(row, column)]}" for row, column in sorted(shown)]


def command_reproduce(args: argparse.Namespace) -> int:
    from ..report.gate import check_tolerance
    from ..report.published import find_published_for, published_model
    from ..report.reproduce import reproduce

    _use_sources(args)
    check_tolerance(args.tolerance)  # before reading any file: one rule with 'check'
    if args.output:
        check_target(args.output)
    registry = _registry()
    models = _load_models(args.paths, registry)
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
    from ..report.compare import compare, report, task_set_warning

    _use_sources(args)
    _check_test_arguments(args)
    if len(args.models) < 2:
        raise UserError("compare needs a baseline and at least one candidate.", "Pass two or more paths.")
    for target in (args.output, args.json_path):
        if target:
            check_target(target)
    registry = _registry()
    baseline = _load_single(args.models[0], "baseline", registry)
    results = [compare(baseline, _load_single(path, "candidate", registry), split_names(args.tasks) or None,
                       args.method, args.resamples, args.seed, args.alpha,
                       "none" if args.no_correction else "holm") for path in args.models[1:]]
    warning = task_set_warning(results)
    text = "\n\n".join([report(r) for r in results] + ([warning] if warning else [])) + "\n"
    emit(text, end="")
    if args.output:
        _write_or_print(text, args.output)
    if args.json_path:
        payload = [{"baseline": r.baseline.name, "candidate": r.candidate.name, "method": r.method,
                    "alpha": r.alpha, "correction": r.correction,
                    "tasks": json.loads(r.tasks.to_json(orient="records")),
                    "groups": json.loads(r.groups.to_json(orient="records"))} for r in results]
        write_text(args.json_path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return 0


def command_check(args: argparse.Namespace) -> int:
    from ..report.gate import check, load_tolerances

    _use_sources(args)
    registry = _registry()
    default, per_task = load_tolerances(args.tolerance_file, args.tolerance)  # gate.check_tolerance rules
    baseline = _load_single(args.baseline, "baseline", registry)
    candidate = _load_single(args.candidate, "candidate", registry)
    if args.output:
        check_target(args.output)
    result = check(baseline, candidate, split_names(args.tasks) or None, default, per_task)
    _write_or_print(result.report() + "\n", args.output)
    return result.exit_code


def command_plot(args: argparse.Namespace) -> int:
    from ..report import plots

    _use_sources(args)
    plots.check_output(args.output)  # before any work
    registry = _registry()
    tasks = split_names(args.tasks) or None
    if args.kind == "delta":
        from ..report.compare import compare

        _check_test_arguments(args)
        if len(args.paths) != 2:
            raise UserError("plot delta needs exactly two paths: the baseline, then the candidate.",
                            "e.g. cmteb-eval plot delta results/base results/new -o delta.png")
        comparison = compare(_load_single(args.paths[0], "baseline", registry),
                             _load_single(args.paths[1], "candidate", registry), tasks, args.method,
                             args.resamples, args.seed, args.alpha, "none" if args.no_correction else "holm")
        path = plots.delta_chart(comparison, args.output, args.title)
    else:
        models = _load_models(args.paths, registry, args.published)
        if not models:
            raise UserError("No models to plot.", "Pass results folders (or --published for the types chart).")
        if args.kind == "types":
            from ..report.scores import task_types

            # by default the tasks of the user's runs (published references are compared on those)
            runs = [m for m in models if m.origin == "run"] or models
            universe = tasks or list(dict.fromkeys(t for m in runs for t in m.tasks))
            path = plots.type_bars(models, task_types(models, registry), universe, args.output, args.title)
        else:
            path = plots.score_speed(models, args.output, tasks, args.title)
    print(f"Wrote {path}")
    return 0


REPORT_COMMANDS = {"table": command_table, "reproduce": command_reproduce, "compare": command_compare,
                   "check": command_check, "plot": command_plot}
