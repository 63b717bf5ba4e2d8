"""``cmteb-eval report RESULTS... --html FILE``: the self-contained leaderboard page (``report/publishing/page.py``)."""

from __future__ import annotations

import argparse

from ..errors import UserError
from ..report.outputs import check_target, emit, write_text


def add_parser(commands) -> None:
    page = commands.add_parser("report", help="one self-contained HTML leaderboard page from result files")
    page.add_argument("paths", nargs="*", help="output folders, model folders, result files or published:MODEL")
    page.add_argument("--html", required=True, metavar="FILE", help="the page to write (.html)")
    page.add_argument("--published", nargs="*", metavar="MODEL", help="add published references")
    page.add_argument("--title", default="cmteb-eval leaderboard", help="the page's title")
    page.add_argument("--no-compare", action="store_true",
                      help="leave out the comparisons of each model with the first")
    page.add_argument("--results-repo", metavar="PATH", help="as for table: published:ORG/MODEL from this checkout")
    page.add_argument("--revision", help="the revision folder to read where a model has several")


def command_report(args: argparse.Namespace) -> int:
    from ..report.comparison.compare import compare
    from ..report.publishing.page import leaderboard_page
    from ..tasks.registry import Registry

    if not args.paths and args.published is None:
        raise UserError("Nothing to put on the page.", "Pass results folders, or --published.")
    target = check_target(args.html)
    registry = Registry.load()
    models = _load(args, registry)
    runs = [m for m in models if m.origin == "run"]
    comparisons = [] if args.no_compare or len(runs) < 2 else \
        [c for c in (compare(runs[0], other) for other in runs[1:]) if len(c.tasks)]
    write_text(target, leaderboard_page(models, registry, comparisons, args.title))
    emit(f"Wrote {target}")
    return 0


def _load(args, registry) -> list:
    """The models of the paths (published:MODEL from the shipped references or --results-repo), then --published."""
    from ..report.references.published import PUBLISHED_PREFIX, all_published_models, published_model
    from ..report.references.results_repo import repo_model
    from ..report.scores import load_path
    from .args import split_names

    def published(name):
        return repo_model(args.results_repo, name, registry, args.revision) if args.results_repo \
            else published_model(name, registry)

    models = []
    for path in args.paths:
        models += [published(path)] if path.startswith(PUBLISHED_PREFIX) else load_path(path, registry, args.revision)
    if args.published is not None:
        models += all_published_models(registry) if not args.published else \
            [published(name) for name in split_names(args.published)]
    return models
