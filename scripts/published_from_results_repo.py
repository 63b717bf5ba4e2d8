#!/usr/bin/env python3
"""Refresh a model's entry of cmteb_eval/report/published_reference.json from a checkout of the public
MTEB results repository (embeddings-benchmark/results), with every split our cards evaluate.

    python scripts/published_from_results_repo.py RESULTS_REPO sentence-transformers/all-MiniLM-L6-v2

Reads ``results/<org>__<model>/<revision>/<Task>.json`` in mteb's current file format (mteb >= 1.11:
``scores`` -> split -> one entry per subset), for every task of our registry the folder holds.
Per split it takes our card's main metric (else the file's ``main_score``) of the card's subset,
x100 rounded to 4 decimals as the other entries; a NaN or missing value drops that split. The
files' mteb version and the repository commit are recorded. The legacy mteb 1.x format (BGE's
files) is not read here: those entries come from shared/published/published_scores.json.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cmteb_eval.tasks.registry import Registry  # noqa: E402

REFERENCE = REPO / "cmteb_eval" / "report" / "published_reference.json"
# Files of the results repository named otherwise than our cards.
MTEB_NAMES = {"CMedQAv1": "CMedQAv1-reranking", "CMedQAv2": "CMedQAv2-reranking"}


def split_scores(data: dict, metric: str, subset: str | None) -> dict[str, float]:
    out = {}
    for split, entries in (data.get("scores") or {}).items():
        for entry in entries:
            if entry.get("hf_subset", "default") != (subset or "default"):
                continue
            value = entry.get(metric, entry.get("main_score"))
            if isinstance(value, (int, float)) and math.isfinite(value):
                out[split] = round(100 * float(value), 4)
    return out


def _commit(root: Path) -> str:
    """The checkout's commit (git), or a COMMIT file beside results/ for an exported copy."""
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
    if done.returncode == 0:
        return done.stdout.strip()
    marker = root / "COMMIT"
    return marker.read_text().strip() if marker.is_file() else ""


def main(results_repo: str, model: str) -> None:
    root = Path(results_repo)
    folders = sorted(p for p in (root / "results" / model.replace("/", "__")).iterdir() if p.is_dir())
    commit = _commit(root) \
        or "unknown-commit"
    registry = Registry.load()
    tasks = {}
    for spec in registry.tasks.values():
        for folder in folders:
            path = folder / f"{MTEB_NAMES.get(spec.name, spec.name)}.json"
            if not path.is_file():
                continue
            data = json.loads(path.read_text(encoding="utf-8"))  # Python's json reads NaN; we drop it
            if "scores" not in data:
                continue  # legacy format
            splits = {s: v for s, v in split_scores(data, spec.main_metric, spec.dataset.subset).items()
                      if s in spec.eval_splits}
            if not splits:
                continue
            split = spec.table_split if spec.table_split in splits else next(iter(splits))
            tasks[spec.name] = {"type": spec.type, "split": split, "splits": dict(sorted(splits.items())),
                                "metric": spec.main_metric, "score": splits[split],
                                "mteb_version": data.get("mteb_version"),
                                "file": f"{path.relative_to(root).as_posix()}@{commit[:12]}"}
            if spec.dataset.subset:
                tasks[spec.name]["subset"] = spec.dataset.subset
            break
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    entry = reference["models"].setdefault(model, {"source": "mteb-results"})
    versions = sorted({t["mteb_version"] for t in tasks.values() if t.get("mteb_version")})
    entry["protocol"] = (f"mteb {', '.join(versions)} result files (Reranking main score MAP as in mteb 1.x); "
                         "per-task mteb_version below")
    entry["tasks"] = dict(sorted(tasks.items()))
    REFERENCE.write_text(json.dumps(reference, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{model}: {len(tasks)} task(s) from {root} @ {commit[:12]}")
    for name, fact in sorted(tasks.items()):
        print(f"  {name}: {fact['splits']}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
