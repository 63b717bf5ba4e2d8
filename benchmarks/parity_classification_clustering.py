"""Parity of our Classification and Clustering scores with mteb's own evaluation, on whole files.

Data (../shared/data/extra, built by the fixed rules in tests/parity_data.py):
- Waimai-shaped classification: waimai_10k.jsonl split per label, 80/20 (train 9589, test 2398),
  evaluated with the Waimai card's protocol (32 samples per label, 10 experiments) and
  mteb's task ``Waimai`` (AbsTaskClassification) on the same two splits.
- Clustering: one task with two sets, tnews_dev.jsonl (15 labels) and
  online_shopping_10_cats.jsonl (10 categories), evaluated with the CLSClusteringS2S card's
  protocol and mteb's task ``CLSClusteringS2S`` (AbsTaskClusteringLegacy) on the same sets.

Both sides use the packaged all-MiniLM-L6-v2 on CPU in float32: ours through cmteb-eval's
embedder, mteb's through sentence-transformers. Prints a table of ours, mteb's and the
absolute difference, and writes it as JSON with ``--output``.

    python benchmarks/parity_classification_clustering.py [--shopping-thin N] [--output FILE]

``--shopping-thin N`` keeps every N-th row of online_shopping_10_cats (62,773 rows, about
an hour per model on a slow shared CPU); the default 1 is the whole file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from mteb_reference import mteb_split_scores  # noqa: E402
from parity_data import clustering_sets, waimai_splits, write_jsonl  # noqa: E402

from cmteb_eval.cli import packaged_minilm  # noqa: E402
from cmteb_eval.models.encoders.embedder import load_embedder  # noqa: E402
from cmteb_eval.tasks.registry import Registry  # noqa: E402
from cmteb_eval.run.runner import evaluate_task  # noqa: E402


def compare(name: str, ours: dict, reference: dict, metrics: list[str], timings: dict) -> list[dict]:
    rows = []
    for metric in metrics:
        rows.append({"task": name, "metric": metric, "ours": ours[metric], "mteb": float(reference[metric]),
                     "abs_diff": abs(ours[metric] - float(reference[metric])), **timings})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=os.environ.get("CMTEB_SHARED_DIR", str(REPO.parent / "shared")))
    parser.add_argument("--shopping-thin", type=int, default=1)
    parser.add_argument("--tnews-thin", type=int, default=1)
    parser.add_argument("--skip", choices=["classification", "clustering"], action="append", default=[])
    parser.add_argument("--output", help="write the comparison as JSON here")
    args = parser.parse_args()
    shared = Path(args.shared)
    model_dir = packaged_minilm()
    model = load_embedder(model_dir, model_name="sentence-transformers/all-MiniLM-L6-v2", device="cpu",
                          dtype="float32", batch_size=64)
    registry = Registry.load()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        if "classification" not in args.skip:
            splits = waimai_splits(shared)
            for split, columns in splits.items():
                write_jsonl(data / "Waimai" / f"{split}.jsonl", columns)
            sizes = {s: len(c["text"]) for s, c in splits.items()}
            print(f"Waimai-shaped classification: {sizes}", flush=True)
            started = time.perf_counter()
            ours = evaluate_task(registry.task("Waimai"), model, [data])["test"].scores
            ours_s = time.perf_counter() - started
            started = time.perf_counter()
            reference = mteb_split_scores("Waimai", splits, "test", model_dir)
            mteb_s = time.perf_counter() - started
            rows += compare(f"Waimai-shaped (train {sizes['train']}, test {sizes['test']})", ours, reference,
                            ["accuracy", "f1", "f1_weighted", "ap"], {"ours_s": ours_s, "mteb_s": mteb_s})
        if "clustering" not in args.skip:
            sets = clustering_sets(shared, args.tnews_thin, args.shopping_thin)
            write_jsonl(data / "CLSClusteringS2S" / "test.jsonl", sets)
            sizes = [len(s) for s in sets["sentences"]]
            print(f"Clustering sets (tnews_dev, online_shopping_10_cats): {sizes}", flush=True)
            started = time.perf_counter()
            result = evaluate_task(registry.task("CLSClusteringS2S"), model, [data])["test"]
            ours_s = time.perf_counter() - started
            started = time.perf_counter()
            reference = mteb_split_scores("CLSClusteringS2S", {"test": sets}, "test", model_dir)
            mteb_s = time.perf_counter() - started
            ours = dict(result.scores)
            for number, value in enumerate(result.items["v_measure_per_set"]):
                ours[f"v_measure_set{number}"] = value
                reference[f"v_measure_set{number}"] = reference["v_measures"][number]
            rows += compare(f"Clustering (sets of {sizes[0]} and {sizes[1]} texts)", ours, reference,
                            ["v_measure", "v_measure_std", "v_measure_set0", "v_measure_set1"],
                            {"ours_s": ours_s, "mteb_s": mteb_s})
    print("\n| task | metric | ours | mteb | abs diff | ours s | mteb s |\n|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['task']} | {row['metric']} | {row['ours']:.6f} | {row['mteb']:.6f} | {row['abs_diff']:.2e} "
              f"| {row['ours_s']:.0f} | {row['mteb_s']:.0f} |")
    if args.output:
        Path(args.output).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    worst = max((row["abs_diff"] for row in rows), default=0.0)
    print(f"\nLargest difference: {worst:.2e} ({'within' if worst <= 1e-4 else 'OUTSIDE'} 1e-4)")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
