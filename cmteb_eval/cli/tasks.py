"""``cmteb-eval tasks``: the task registry (``tasks/registry.py``) as a table, or the named benchmarks."""

from __future__ import annotations

import argparse


def add_parser(commands) -> None:
    tasks = commands.add_parser("tasks", help="list the task registry")
    tasks.add_argument("--type", dest="task_type", help="only tasks of this type")
    tasks.add_argument("--benchmark", action="append", default=[], help="only tasks of this benchmark")
    tasks.add_argument("--task-file", action="append", default=[], help="also load this task card")
    tasks.add_argument("--benchmarks", action="store_true", help="list the named benchmarks instead")
    tasks.add_argument("--data-dir", action="append", default=[],
                       help="say which tasks have their splits under this offline mirror (repeatable)")


def local_data(spec, data_dirs) -> str:
    """'yes' when every split the task reads is found locally (its card's local_dir or a --data-dir),
    'partly' when some are, 'no' when none is (they come from the hub)."""
    from ..data.locate import split_files, splits_read
    from ..errors import UserError

    found = []
    for split in splits_read(spec):
        try:
            found.append(split_files(spec, split, data_dirs) is not None)
        except UserError:  # a damaged mirror is reported by the run, not here
            found.append(False)
    return "yes" if all(found) else ("partly" if any(found) else "no")


def command_tasks(args: argparse.Namespace) -> int:
    from ..tasks.registry import Registry

    registry = Registry.load(args.task_file)
    if args.benchmarks:
        for bench in registry.benchmarks.values():
            print(f"{bench.name:18} {len(bench.tasks):3} tasks  {bench.description}")
        return 0
    specs = registry.select([], args.benchmark, args.task_type) if (args.benchmark or args.task_type) \
        else list(registry.tasks.values())
    print("| Task | Type | Dataset | Revision | Splits | Main metric | Instruction | Local data |")
    print("|---|---|---|---|---|---|---|---|")
    local = 0
    for spec in specs:
        where = local_data(spec, args.data_dir)
        local += where == "yes"
        print(f"| {spec.name} | {spec.type} | {spec.dataset.hub_id}"
              f"{' (' + spec.dataset.subset + ')' if spec.dataset.subset else ''} | {spec.dataset.revision[:10]} | "
              f"{', '.join(spec.eval_splits)} | {spec.main_metric} | {'yes' if spec.query_instruction else 'no'} | "
              f"{where} |")
    dirs = ", ".join(args.data_dir) or "no --data-dir"
    print(f"\n{len(specs)} task(s); {local} with every split they read found locally ({dirs}; the rest come from "
          f"the hub)")
    return 0
