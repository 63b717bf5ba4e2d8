"""``cmteb-eval card RESULTS``: the Hugging Face model-index metadata and Markdown tables of one
model's results (``report/publishing/model_card.py``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..report.outputs import emit


def add_parser(commands) -> None:
    card = commands.add_parser("card", help="Hugging Face model-card metadata (model-index) and tables from results")
    card.add_argument("results", help="one model's results: its folder (any revision layout) or a result file")
    card.add_argument("--model-name", help="the model-index name (default: the results' model name)")
    card.add_argument("--revision", help="the revision folder to read where the model has several")
    card.add_argument("--output", help="write the card to this file (an existing card keeps its text and gets "
                                       "the new metadata), and the .eval_results/ files beside it; default: print it")
    card.add_argument("--eval-results", metavar="DIR",
                      help="write Hugging Face's .eval_results/<task>.yaml files (mteb's push_eval_results format) "
                           "into this folder (default with --output: .eval_results beside the card)")


def command_card(args: argparse.Namespace) -> int:
    from ..report import tables as T
    from ..report.publishing.model_card import card_text, write_card
    from ..report.scores import load_one_model, task_types
    from ..tasks.registry import Registry
    from ..tasks.types import TASK_TYPES

    registry = Registry.load()
    model = load_one_model(args.results, "results", registry, args.revision)
    types = task_types([model], registry)
    shown = [*model.tasks, *model.partial]  # a task whose table split is missing or NaN: "-", with a note
    tables = [T.type_table([model], kind, [t for t in shown if types.get(t) == kind])
              for kind in TASK_TYPES if any(types.get(t) == kind for t in shown)]
    notes = "".join(f"\n- {note}" for note in model.notes)
    markdown = (T.render(tables, "markdown") if tables else "") + (f"\n\nNotes:\n{notes}" if notes else "")
    text = card_text(model, markdown, registry, args.model_name)
    if args.output:
        write_card(args.output, text)
        emit(f"Wrote {args.output}")
    else:
        emit(text, end="")
    folder = args.eval_results or (str(Path(args.output).parent / ".eval_results") if args.output else None)
    if folder:
        from ..report.publishing.eval_results import write_eval_results

        written = write_eval_results(model, registry, folder)
        emit(f"Wrote {len(written)} file(s) into {folder}")
    return 0
