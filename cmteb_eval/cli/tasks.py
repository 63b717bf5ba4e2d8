"""``cmteb-eval tasks``: the task registry (``tasks/registry.py``) as a table, or the named benchmarks."""

from __future__ import annotations

import argparse


def add_parser(commands) -> None:
    tasks = commands.add_parser("tasks", help="list the task registry")
    tasks.add_argument("--type", dest="task_type", help="only tasks of this type")
    tasks.add_argument("--benchmark", action="append", default=[], help="only tasks of this benchmark")
    tasks.add_argument("--task-file", action="append", default=[], help="also load this task card")
    tasks.add_argument("--benchmarks", action="store_true", help="list the named benchmarks instead")


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
    print("| Task | Type | Dataset | Revision | Splits | Main metric | Instruction |")
    print("|---|---|---|---|---|---|---|")
    shown: list[str] = []
    for spec in specs:
        group = groups.get(spec.name)
        if group is not None:  # a task scored as the mean of several cards: one row
            if group not in shown:
                shown.append(group)
                cards = [s for s in specs if groups.get(s.name) == group]
                print(f"| {group} | {spec.type} | mean of {len(cards)} cards: {', '.join(s.name for s in cards)} | - | "
                      f"{', '.join(spec.eval_splits)} | {spec.main_metric} | {'yes' if spec.query_instruction else 'no'} |")
            continue
        shown.append(spec.name)
        print(f"| {spec.name} | {spec.type} | {spec.dataset.hub_id}"
              f"{' (' + spec.dataset.subset + ')' if spec.dataset.subset else ''} | {spec.dataset.revision[:10]} | "
              f"{', '.join(spec.eval_splits)} | {spec.main_metric} | {'yes' if spec.query_instruction else 'no'} |")
    cards = f" ({len(specs)} task cards)" if len(specs) != len(shown) else ""
    print(f"\n{len(shown)} task(s){cards}")
    return 0
