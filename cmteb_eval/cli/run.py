"""``cmteb-eval run`` (and ``python run_eval.py``): its arguments, and the command that checks them,
loads the models (``run/setup.py``), runs the tasks (``run/runner.py``) and prints the summary."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import UserError
from ..models.encoders.backends import BACKENDS
from ..models.identity.settings import POOLING_MODES
from ..tasks.types import TYPES
from .args import check_positive, split_names


DEMO_OUTPUT_DIR = "demo-results"


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors")
    run.add_argument("--model", help="local model folder or hub id (default: the packaged all-MiniLM-L6-v2): a "
                     "sentence-transformers folder as versions 3.x-6.x save it (modules.json: Transformer, Pooling "
                     "in any mode, Dense, LayerNorm, Normalize, prompts; also 0_Transformer/), an ONNX folder "
                     "(onnx/model.onnx or model.onnx, --backend onnx), a plain transformers folder (with "
                     "--pooling), or a cross-encoder folder (then evaluated as the reranker); anything else is "
                     "refused naming the part not run. Models in memory: the Python API, cmteb_eval.evaluate")
    run.add_argument("--model-name", help="name of the results folder and of the model in tables "
                     "(default: derived from --model)")
    run.add_argument("--revision", help="hub revision of the model")
    run.add_argument("--tasks", nargs="+", action="extend", help="task names (space or comma separated)")
    run.add_argument("--benchmark", action="append", default=[], help="a named benchmark (repeatable)")
    run.add_argument("--task-file", action="append", default=[], help="load a task card from this file (repeatable)")
    run.add_argument("--data-dir", action="append", default=[],
                     help="offline mirror: DIR/<Task>/<split>.jsonl|parquet|csv (repeatable, searched in order)")
    run.add_argument("--output-dir", help=f"where result files go (default: results; the demo run that no "
                     f"--tasks or --benchmark asks for: {DEMO_OUTPUT_DIR}, apart from real results)")
    run.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 ... (default: CUDA when present)")
    run.add_argument("--dtype", default="auto", help="float32, float16, bfloat16 (default: fp16 on GPU, fp32 on CPU)")
    run.add_argument("--batch-size", type=int,
                     help="most texts per batch (default: no cap for the embedder, whose batches the token "
                     "budget --max-batch-tokens sizes; 32 pairs for the cross-encoder)")
    run.add_argument("--no-instruction", action="store_true", help="never add the query instruction")
    run.add_argument("--query-instruction", help="override the model's query instruction")
    run.add_argument("--pooling", choices=POOLING_MODES, help="override the pooling")
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
    run.add_argument("--save-predictions", metavar="DIR",
                     help="save each Retrieval and Reranking task's ranked results, {query: {doc: score}}, as mteb's "
                          "prediction folder does (DIR/<task>_predictions.json), for error analysis or a second stage")
    run.add_argument("--protocol", choices=list(TYPES["Reranking"].variants),
                     help="reranking metrics: v1 = mteb 1.x (published C-MTEB numbers), v2 = mteb 2.x "
                     "(default: the task card's, else v1)")
    run.add_argument("--sigmoid", action="store_true", help="report the cross-encoder's sigmoid(logit) instead of the logit")
    run.add_argument("--no-cache", action="store_true", help="do not read or write the persistent embedding cache")
    run.add_argument("--cache-dir", help="embedding cache folder (default: $CMTEB_EVAL_CACHE or ~/.cache/cmteb-eval)")
    run.add_argument("--backend", choices=BACKENDS, default="auto",
                     help="encoder runtime: lean (our fused forward for BERT-family models; CPU float32), "
                     "torch (transformers' forward), onnx (onnxruntime; CPU float32); auto = lean where "
                     "it applies, else torch")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bars: a progress line every 30 s instead (the default when stdout is not a terminal)")
    run.add_argument("--max-batch-tokens", type=int,
                     help="padded tokens per batch (default: 2048 on CPU, 32768 on CUDA); --batch-size caps texts")


def check_run_arguments(args: argparse.Namespace) -> None:
    """Numbers that must be positive, before any file is read."""
    check_positive(args.batch_size, "--batch-size")
    check_positive(args.max_length, "--max-length", "a positive number of tokens")
    check_positive(args.max_batch_tokens, "--max-batch-tokens")


def model_request(args: argparse.Namespace):
    from ..run.setup import ModelRequest

    return ModelRequest(model=args.model, model_name=args.model_name, reranker=args.reranker, revision=args.revision,
                        device=args.device, dtype=args.dtype, batch_size=args.batch_size,
                        use_instruction=not args.no_instruction, query_instruction=args.query_instruction,
                        pooling=args.pooling, normalize=False if args.no_normalize else None,
                        max_length=args.max_length, trust_remote_code=args.trust_remote_code, backend=args.backend,
                        max_batch_tokens=args.max_batch_tokens, sigmoid=args.sigmoid)


def command_run(args: argparse.Namespace) -> int:
    from ..evaluators.base import RunOptions
    from ..models.cache.store import EmbeddingCache
    from ..models.distributed import init_from_env
    from ..run.resume import check_output_dir
    from ..run.runner import run_tasks
    from ..run.setup import load_models
    from ..tasks.registry import Registry

    if args.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    check_run_arguments(args)
    options = RunOptions(protocol=args.protocol, top_k=args.top_k, rerank_top_k=args.rerank_top_k,
                         save_predictions=args.save_predictions)
    task_names = split_names(args.tasks)
    demo = not task_names and not args.benchmark
    specs = Registry.load(args.task_file).select(task_names, args.benchmark or (["demo"] if demo else []))
    output_dir = Path(args.output_dir or (DEMO_OUTPUT_DIR if demo else "results"))
    check_output_dir(output_dir)
    if args.device != "auto":  # before any model file is read
        from ..models.encoders.runtime import check_device

        check_device(args.device)
    shard, device = init_from_env(args.device)  # joins the process group under torchrun
    if shard is not None and args.reranker:
        raise UserError("--reranker cannot be used under torchrun yet: cross-encoder scoring is not sharded.",
                        "Run the reranker in a single process (plain cmteb-eval run).")
    request = model_request(args)
    if shard is not None and not shard.is_main:
        # another rank: the same models, tasks and encode calls as rank 0, silent, writing nothing. It
        # reads the output folder as rank 0 does (without changing it), so it skips exactly the tasks
        # rank 0 skips as already done, and the ranks' collective calls stay in step.
        models, name = load_models(request, device, None, shard, log=lambda line: None)
        summary = run_tasks(models, name, specs, args.data_dir, output_dir, log=lambda line: None, options=options,
                            overwrite=args.overwrite, write=False)
        return 1 if summary.failed else 0
    from ..models import progress

    progress.configure(quiet=args.quiet)
    cache = None if args.no_cache else EmbeddingCache(args.cache_dir)
    models, name = load_models(request, device, cache, shard, rerank_top_k=args.rerank_top_k)
    print(run_plan(specs, args.data_dir, output_dir, name, models, cache))
    summary = run_tasks(models, name, specs, args.data_dir, output_dir, options=options, overwrite=args.overwrite,
                        retry_fp32=args.retry_fp32, debug=getattr(args, "debug", False))
    return report_run(summary, name, output_dir, cache)


def run_plan(specs, data_dirs, output_dir: Path, name: str, models, cache) -> str:
    """What the run is about to do (``run/plan.py``)."""
    from ..results.naming import model_folder
    from ..run.plan import plan_lines

    folder = model_folder(output_dir, name, models.describe(None))
    return "\n".join(plan_lines(specs, data_dirs, folder, models.embedder, cache))


def report_run(summary, name: str, output_dir: Path, cache) -> int:
    """What ``run`` prints at the end: skipped tasks, the cache's use, the scores table, the failures."""
    from ..report.run_summary import run_table
    from ..results.naming import safe_name

    skipped = [o.task.name for o in summary.outcomes if o.skipped]
    if skipped:
        print(f"\n{len(skipped)} task(s) already had a complete result of this configuration and were skipped "
              f"(--overwrite recomputes them).")
    if cache is not None:
        stats = cache.stats()
        print(f"Embedding cache {cache.root}: {stats.hits} hit(s), {stats.misses} text(s) encoded"
              + (f", {stats.corrupt_shards} damaged shard(s) recomputed" if stats.corrupt_shards else "")
              + (f", {stats.foreign_shards} shard(s) of another key not used" if stats.foreign_shards else ""))
        if cache.unusable:
            print(f"Embedding cache {cache.root} was given up during the run ({cache.unusable}).")
    scores = {name: {o.task.name: o.main_scores.get(o.task.table_split) for o in summary.completed}}
    if summary.completed:
        print()
        print(run_table(scores, [o.task.name for o in summary.outcomes]))
        done = next((o.path.parent for o in summary.completed if o.path is not None), output_dir / safe_name(name))
        print(f"\nResult files: {done}")
    if summary.failed:
        print(f"\n{len(summary.failed)} of {len(summary.outcomes)} task(s) failed:", file=sys.stderr)
        for outcome in summary.failed:
            print(f"  {outcome.task.name}: {outcome.error}", file=sys.stderr)
        print("Completed results were kept; fix the problems above and rerun.", file=sys.stderr)
        return 1
    return 0
