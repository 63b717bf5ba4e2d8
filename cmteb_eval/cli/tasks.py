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
            cards = f" ({len(bench.tasks)} cards)" if len(bench.entries()) != len(bench.tasks) else ""
            aka = f" [mteb: {bench.mteb_name}]" if bench.mteb_name else ""
            print(f"{bench.name:18} {len(bench.entries()):3} tasks{cards}  {bench.description}{aka}")
        return 0
    specs = registry.select([], args.benchmark, args.task_type) if (args.benchmark or args.task_type) \
        else list(registry.tasks.values())
    groups = {card: group for bench in map(registry.benchmark, args.benchmark)
              for group, cards in bench.groups.items() for card in cards}
    print("| Task | Type | Dataset | Revision | Splits | Main metric | Instruction | Local data |")
    print("|---|---|---|---|---|---|---|---|")
    shown: list[str] = []
    local = 0
    for spec in specs:
        group = groups.get(spec.name)
        if group is not None:  # a task scored as the mean of several cards: one row
            if group not in shown:
                shown.append(group)
                cards = [s for s in specs if groups.get(s.name) == group]
                wheres = [local_data(s, args.data_dir) for s in cards]
                where = "yes" if all(w == "yes" for w in wheres) else ("no" if all(w == "no" for w in wheres) else "partly")
                local += where == "yes"
                print(f"| {group} | {spec.type} | mean of {len(cards)} cards: {', '.join(s.name for s in cards)} | - | "
                      f"{', '.join(spec.eval_splits)} | {spec.main_metric} | {'yes' if spec.query_instruction else 'no'} | "
                      f"{where} |")
            continue
        shown.append(spec.name)
        where = local_data(spec, args.data_dir)
        local += where == "yes"
        print(f"| {spec.name} | {spec.type} | {spec.dataset.hub_id}"
              f"{' (' + spec.dataset.subset + ')' if spec.dataset.subset else ''} | {spec.dataset.revision[:10]} | "
              f"{', '.join(spec.eval_splits)} | {spec.main_metric} | {'yes' if spec.query_instruction else 'no'} | "
              f"{where} |")
    cards = f" ({len(specs)} task cards)" if len(specs) != len(shown) else ""
    dirs = ", ".join(args.data_dir) or "no --data-dir"
    print(f"\n{len(shown)} task(s){cards}; {local} with every split they read found locally ({dirs}; the rest come "
          f"from the hub)")
    return 0
