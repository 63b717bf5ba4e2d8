"""The arguments of the report subcommands (``table``, ``reproduce``, ``compare``, ``check``, ``plot``);
their work is ``report.py``'s."""

from __future__ import annotations

from ..report.formats import FORMATS

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
    _add_ignore_argument(table)
    table.add_argument("--any-machine", action="store_true",
                       help="--table speed: also compare times of other tools and machines (default: only runs "
                            "by cmteb-eval on one machine)")
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
    _add_ignore_argument(cmp_)
    cmp_.add_argument("--output", help="write the Markdown report to this file instead of printing it")
    cmp_.add_argument("--json", dest="json_path", help="write the comparison as JSON to this file")
    _add_source_arguments(cmp_)

    chk = commands.add_parser("check", help="regression gate: exit 1 when a task's main score fell beyond tolerance")
    chk.add_argument("--baseline", required=True, help="output folder (one model), model folder or result file")
    chk.add_argument("--candidate", required=True, help="output folder (one model), model folder or result file")
    chk.add_argument("--tolerance", type=float, default=0.5, help="points (x100) a score may fall (default 0.5)")
    _add_ignore_argument(chk)
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
    plot.add_argument("--any-machine", action="store_true",
                      help="speed: also draw times of other tools and machines (default: only runs by cmteb-eval "
                           "on one machine)")
    _add_test_arguments(plot)
    _add_source_arguments(plot)


def _add_ignore_argument(parser) -> None:
    parser.add_argument("--ignore", action="append", choices=["prompts"], default=[],
                        help="compare scores even where the results record different prompts (by default two "
                        "results made with different prompt strings are incomparable)")


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
