"""``cmteb-eval run`` (and ``python run_eval.py``): its arguments, and the command that checks them,
loads the models (``run/setup.py``), runs the tasks (``run/runner.py``) and prints the summary."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import UserError
from ..models.encoders.backends import BACKENDS
from ..models.identity.families import family_list
from ..models.identity.prompts import known_prompt_families
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
                     "--pooling), a cross-encoder folder (then evaluated as the reranker), or the http(s):// URL of "
                     "an embedding server (see --api); anything else is "
                     "refused naming the part not run. Decoder-embedder families recognised by name and model_type "
                     "(run with their authors' pooling, padding, EOS and query instruction): "
                     + "; ".join(family_list()) + ". "
                     "A decoder no family, card, file or flag describes is refused. Models in memory (FlagEmbedding's "
                     "FlagModel, FlagLLMModel, FlagICLModel, BGEM3FlagModel too): the Python API, cmteb_eval.evaluate")
    run.add_argument("--model-name", help="name of the results folder and of the model in tables "
                     "(default: derived from --model)")
    run.add_argument("--revision", "--model-revision", dest="revision",
                     help="hub revision of the model (of a served model: the revision you deployed, recorded "
                     "in its identity)")
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
    run.add_argument("--no-instruction", action="store_true", help="no prompt on any side of any task")
    run.add_argument("--query-instruction", help="the prompt of queries (the 'query' key; overrides the model's)")
    run.add_argument("--document-instruction", help="the prompt of documents (the 'document' key, e.g. 'passage: ')")
    run.add_argument("--prompts", metavar="FILE",
                     help="a TOML or JSON table of prompts in mteb's key scheme, most specific first: <Task>-query, "
                     "<Task>-document, <Task>, <Type>-query, <Type>-document, <Type>, query, document (Types: "
                     "Retrieval, Reranking, STS, PairClassification, Classification, Clustering, Summarization; "
                     "a value with {text} is a template: 'prefix{text}suffix'; \"\" is no prompt). Sources in "
                     "order: this file and the two flags above, a known model card, the folder's "
                     "sentence-transformers prompts. Known cards: " + ", ".join(known_prompt_families()))
    run.add_argument("--prompt-variant", help="a known card's prompt variant: 'authors' (the authors' recipe) or "
                     "'mteb' (mteb 2.26's implementation); default: the one that made the published numbers")
    run.add_argument("--pooling", choices=POOLING_MODES, help="override the pooling")
    run.add_argument("--no-normalize", action="store_true", help="do not L2-normalise embeddings")
    run.add_argument("--max-length", type=int, help="override the max sequence length in tokens")
    run.add_argument("--trust-remote-code", action="store_true", help="allow model code from the hub (off by default)")
    run.add_argument("--ignore-remote-code", action="store_true",
                     help="run a folder whose config.json names its own code (auto_map) with the stock transformers "
                     "class instead, knowingly (recorded in the result); without this or --trust-remote-code such a "
                     "folder is refused")
    run.add_argument("--offline", action="store_true", help="never contact the hub (sets HF_HUB_OFFLINE=1)")
    run.add_argument("--overwrite", action="store_true",
                     help="recompute every task, even those with a complete result of the same configuration")
    run.add_argument("--retry-fp32", action="store_true",
                     help="when fp16/bf16 gives NaN or infinite embeddings, redo that task in float32")
    run.add_argument("--reranker", help="a cross-encoder (local folder or hub id, e.g. BAAI/bge-reranker-base, or "
                     "the http(s):// URL of a reranking server, see --api): "
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
    run.add_argument("--cutoff-layers", type=int, help="layer-wise LLM reranker (bge-reranker-v2-minicpm-layerwise): "
                     "the layer whose score head scores the pairs (default: its card's, 28); recorded in the result")
    run.add_argument("--sigmoid", action="store_true", help="report the cross-encoder's sigmoid(logit) instead of the logit")
    run.add_argument("--no-cache", action="store_true", help="do not read or write the persistent embedding cache")
    run.add_argument("--cache-dir", help="embedding cache folder (default: $CMTEB_EVAL_CACHE or ~/.cache/cmteb-eval)")
    run.add_argument("--backend", choices=BACKENDS, default="auto",
                     help="encoder runtime: lean (our fused forward for BERT-family models; CPU float32), "
                     "torch (transformers' forward), onnx (onnxruntime; CPU float32); auto = lean where "
                     "it applies, else torch")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bars: a progress line every 30 s instead (the default when stdout is not a terminal)")
    run.add_argument("--retrieval-method", choices=("dense", "sparse", "colbert", "hybrid"), default="dense",
                     help="bge-m3: score Retrieval and Reranking tasks by its dense embedding, its lexical weights "
                     "(sparse), its ColBERT vectors or their weighted mean (hybrid), as FlagEmbedding's BGEM3FlagModel "
                     "does; each method writes its own results folder (<model>__sparse, ...). Default dense")
    run.add_argument("--hybrid-weights", metavar="DENSE,SPARSE,COLBERT",
                     help="the hybrid's weights (default FlagEmbedding 1.4's 1,1,1; the bge-m3 card's example: "
                     "0.4,0.2,0.4); recorded in the result")
    run.add_argument("--token-vectors-budget-mb", type=int,
                     help="colbert/hybrid retrieval: exact over the whole corpus while its ColBERT vectors fit this "
                     "many MB (default 4096), else the dense top --rerank-top-k is rescored (said in the result)")
    served = run.add_argument_group("served models (--model or --reranker given as an http(s):// URL)")
    served.add_argument("--api", choices=["openai", "infinity", "tei"],
                        help="the server's API (default openai): openai = OpenAI-compatible /embeddings and "
                        "/rerank under the URL (vLLM: http://HOST:8000/v1); infinity = the same routes, rerank "
                        "with raw_scores (http://HOST:7997); tei = text-embeddings-inference /embed, /rerank, "
                        "/info (http://HOST:8080). --model-name is the served model id to request")
    served.add_argument("--api-key-env", metavar="VAR",
                        help="name of the environment variable that holds the API key (the key itself is "
                        "never taken on the command line, written or logged)")
    served.add_argument("--concurrency", type=int, default=1,
                        help="requests in flight at once (default 1: the server then computes the batches as "
                        "sent, and texts it tokenises alike get identical vectors, as locally; raise it for a "
                        "GPU server, where merged batches gain throughput)")
    served.add_argument("--request-timeout", type=float, default=120.0,
                        help="seconds one request may take (default 120)")
    served.add_argument("--max-retries", type=int, default=4,
                        help="retries of a request after 429, 5xx or a connection error, with exponential "
                        "backoff or the server's Retry-After (default 4)")
    served.add_argument("--batch-chars", type=int, default=60_000,
                        help="most characters per request (default 60000); --batch-size: most texts (default 32)")
    served.add_argument("--dimensions", type=int, help="ask an OpenAI-compatible server for this many dimensions")
    run.add_argument("--max-batch-tokens", type=int,
                     help="padded tokens per batch (default: 2048 on CPU, 32768 on CUDA); --batch-size caps texts")


def check_run_arguments(args: argparse.Namespace) -> None:
    """Numbers that must be positive, before any file is read."""
    check_positive(args.batch_size, "--batch-size")
    check_positive(args.max_length, "--max-length", "a positive number of tokens")
    check_positive(args.max_batch_tokens, "--max-batch-tokens")
    if args.token_vectors_budget_mb is not None and args.token_vectors_budget_mb < 0:
        raise UserError("--token-vectors-budget-mb must be 0 or more.", "Pass a size in MB (0: always rescore "
                        "the dense top --rerank-top-k).")
    check_positive(args.cutoff_layers, "--cutoff-layers", "a layer number")
    check_positive(args.concurrency, "--concurrency")
    check_positive(args.request_timeout, "--request-timeout", "a positive number of seconds")
    check_positive(args.batch_chars, "--batch-chars")
    check_positive(args.dimensions, "--dimensions")
    if args.max_retries < 0:
        raise UserError("--max-retries must be 0 or more.", "Pass e.g. --max-retries 4.")


def model_request(args: argparse.Namespace):
    from ..run.setup import ModelRequest

    return ModelRequest(model=args.model, model_name=args.model_name, reranker=args.reranker, revision=args.revision,
                        device=args.device, dtype=args.dtype, batch_size=args.batch_size,
                        use_instruction=not args.no_instruction, query_instruction=args.query_instruction,
                        document_instruction=args.document_instruction, prompts=args.prompts,
                        prompt_variant=args.prompt_variant,
                        pooling=args.pooling, normalize=False if args.no_normalize else None,
                        max_length=args.max_length, trust_remote_code=args.trust_remote_code, backend=args.backend,
                        ignore_remote_code=args.ignore_remote_code,
                        max_batch_tokens=args.max_batch_tokens, sigmoid=args.sigmoid,
                        retrieval_method=args.retrieval_method, hybrid_weights=args.hybrid_weights,
                        token_vectors_budget_mb=args.token_vectors_budget_mb, cutoff_layers=args.cutoff_layers,
                        api=args.api, api_key_env=args.api_key_env, concurrency=args.concurrency,
                        request_timeout=args.request_timeout, max_retries=args.max_retries,
                        batch_chars=args.batch_chars, dimensions=args.dimensions)


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

    with progress.configured(quiet=args.quiet):  # for this command only
        cache = None if args.no_cache else EmbeddingCache(args.cache_dir)
        models, name = load_models(request, device, cache, shard, rerank_top_k=args.rerank_top_k)
        print(run_plan(specs, args.data_dir, output_dir, name, models, cache, args.rerank_top_k))
        summary = run_tasks(models, name, specs, args.data_dir, output_dir, options=options,
                            overwrite=args.overwrite, retry_fp32=args.retry_fp32, debug=getattr(args, "debug", False))
        return report_run(summary, name, output_dir, cache)


def run_plan(specs, data_dirs, output_dir: Path, name: str, models, cache, rerank_top_k: int | None = None) -> str:
    """What the run is about to do (``run/plan.py``)."""
    from ..results.naming import model_folder
    from ..run.plan import plan_lines

    from ..data.ranking import load_retrieval

    folder = model_folder(output_dir, name, models.describe(None))
    corpus_of = lambda spec, split: load_retrieval(spec, split, data_dirs).corpus_texts  # noqa: E731
    pairs = None
    if models.reranker is not None:
        from ..data.ranking import reranking_pair_count

        top_k = rerank_top_k if models.embedder is not None else None
        pairs = {spec.name: reranking_pair_count(spec, data_dirs, top_k) for spec in specs}
    return "\n".join(plan_lines(specs, data_dirs, folder, models.embedder, cache, corpus_of, pairs))


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
