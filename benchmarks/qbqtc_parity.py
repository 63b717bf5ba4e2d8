"""Parity on the whole of qbqtc_dev: our reranking (v1, v2) and retrieval scores against mteb's.

    HF_HUB_OFFLINE=1 python benchmarks/qbqtc_parity.py [--shared ../shared] [--max-rows N] [--out FILE]

Reranking: every query with a positive (label >= 1) and a negative (label 0) title
(the others are skipped by both protocols). Retrieval: every distinct title is the
corpus, every query is scored against graded qrels (the label). Model: the packaged
all-MiniLM-L6-v2. References: mteb 1.x's RerankingEvaluator (re-implemented in
tests/ranking_reference.py) for v1, the installed mteb 2 for v2 and retrieval.
Prints and writes (JSON) each metric, ours, mteb's and the absolute delta.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from ranking_reference import (mteb1_reranking, mteb2_reranking, mteb2_retrieval, read_qbqtc,  # noqa: E402
                               reranking_rows, retrieval_tables, write_qbqtc_tasks)

from cmteb_eval.cli import packaged_minilm  # noqa: E402
from cmteb_eval.models.encoders.embedder import load_embedder  # noqa: E402
from cmteb_eval.evaluators.base import RunOptions  # noqa: E402
from cmteb_eval.tasks.registry import Registry  # noqa: E402
from cmteb_eval.run.runner import evaluate_task  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(REPO.parent / "shared"))
    parser.add_argument("--max-rows", type=int, default=None, help="only the first N rows (default: all)")
    parser.add_argument("--retrieval-rows", type=int, default=None,
                        help="build the retrieval task from the first N rows only (default: as --max-rows)")
    parser.add_argument("--skip-retrieval", action="store_true")
    parser.add_argument("--out", default=None, help="write the comparison as JSON here")
    args = parser.parse_args()
    from sentence_transformers import SentenceTransformer

    path = Path(args.shared) / "data" / "extra" / "qbqtc_dev.jsonl"
    rows = read_qbqtc(path, args.max_rows)
    rerank = reranking_rows(rows, only_complete=True)
    corpus, queries, qrels = retrieval_tables(rows[:args.retrieval_rows] if args.retrieval_rows else rows)
    cards = write_qbqtc_tasks(Path(tempfile.mkdtemp()), rerank, corpus, queries, qrels)
    registry = Registry.load(list(cards))
    model_dir = packaged_minilm()
    ours_model = load_embedder(model_dir, model_name="sentence-transformers/all-MiniLM-L6-v2", batch_size=64)
    reference_model = SentenceTransformer(str(model_dir), device="cpu")
    report = {"rows": len(rows), "retrieval_rows": args.retrieval_rows or len(rows), "rerank_queries": len(rerank["query"]), "corpus": len(corpus["id"]),
              "retrieval_queries": len(queries["id"]), "comparisons": []}

    def compare(label, ours, reference, names):
        for ours_name, ref_name in names:
            delta = abs(ours[ours_name] - reference[ref_name])
            report["comparisons"].append({"what": label, "metric": ours_name, "ours": ours[ours_name],
                                          "mteb": reference[ref_name], "abs_delta": delta})
            print(f"{label:26} {ours_name:14} ours {ours[ours_name]:.6f}  mteb {reference[ref_name]:.6f}  "
                  f"delta {delta:.2e}", flush=True)

    started = time.perf_counter()
    task = registry.task("QbqtcReranking")
    v1 = evaluate_task(task, ours_model, [], RunOptions(protocol="v1"))["dev"].scores
    compare("reranking v1 / mteb 1.x", v1, mteb1_reranking(rerank, reference_model), [("map", "map"), ("mrr", "mrr")])
    v2 = evaluate_task(task, ours_model, [], RunOptions(protocol="v2"))["dev"].scores
    names = [("map_at_1000", "map_at_1000"), ("mrr_at_10", "mrr_at_10"), ("ndcg_at_10", "ndcg_at_10")]
    compare("reranking v2 / mteb 2", v2, mteb2_reranking(rerank, reference_model), names)
    # mteb's default batch size: copies of one text in different batches may differ in the last bits
    compare("reranking v2 / mteb 2 bs32", v2, mteb2_reranking(rerank, reference_model, batch_size=32), names)
    if not args.skip_retrieval:
        ours = evaluate_task(registry.task("QbqtcRetrieval"), ours_model, [])["dev"].scores
        reference = mteb2_retrieval(corpus, queries, qrels, reference_model)
        compare("retrieval / mteb 2", ours, reference,
                [(f"{m}_at_{k}", f"{m}_at_{k}") for m in ("ndcg", "map", "mrr", "recall") for k in (10, 100, 1000)])
    report["seconds"] = time.perf_counter() - started
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    worst = max(c["abs_delta"] for c in report["comparisons"] if "bs32" not in c["what"])
    print(f"largest delta (one-batch reference): {worst:.2e}  ({report['seconds']:.0f}s)")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
