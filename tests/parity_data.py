"""Parity data for classification and clustering, built from ../shared/data/extra by fixed rules.

Classification (Waimai-shaped): waimai_10k.jsonl is sorted by label, so splits are
stratified. Rows are grouped by label, keeping file order; the row at position p
(0-based) within its label is kept when ``p % thin == 0`` (thin=1 keeps all), and a
kept row at position q among the kept rows of its label goes to *test* when
``q % 5 == 0``, otherwise to *train* (80/20, per label).

Clustering: tnews_dev.jsonl (label = news category, 15) and
online_shopping_10_cats.jsonl (label = ``category``, 10 product kinds) are the two
sets of one task, in that order. A slice keeps every ``thin``-th row of each file
(both are grouped by label or close to it, so this keeps label proportions).
"""

from __future__ import annotations

import json
from pathlib import Path


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def waimai_splits(shared: Path, thin: int = 1) -> dict[str, dict[str, list]]:
    """{'train': {'text': [...], 'label': [...]}, 'test': {...}} by the rule in the module docstring."""
    rows = read_jsonl(shared / "data" / "extra" / "waimai_10k.jsonl")
    seen: dict[int, int] = {}
    kept: dict[int, int] = {}
    splits = {"train": {"text": [], "label": []}, "test": {"text": [], "label": []}}
    for row in rows:
        label = int(row["label"])
        position = seen.get(label, 0)
        seen[label] = position + 1
        if position % thin:
            continue
        rank = kept.get(label, 0)
        kept[label] = rank + 1
        split = splits["test" if rank % 5 == 0 else "train"]
        split["text"].append(row["text"])
        split["label"].append(label)
    return splits


def clustering_sets(shared: Path, thin_tnews: int = 1, thin_shopping: int = 1) -> dict[str, list]:
    """{'sentences': [set1, set2], 'labels': [labels1, labels2]}: the hub layout, one set per row."""
    extra = shared / "data" / "extra"
    tnews = read_jsonl(extra / "tnews_dev.jsonl")[::thin_tnews]
    shopping = read_jsonl(extra / "online_shopping_10_cats.jsonl")[::thin_shopping]
    return {
        "sentences": [[r["text"] for r in tnews], [r["text"] for r in shopping]],
        "labels": [[r["label"] for r in tnews], [r["category"] for r in shopping]],
    }


def write_jsonl(path: Path, columns: dict[str, list]) -> None:
    """Write a column table as JSON Lines (the offline mirror layout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(columns)
    with open(path, "w", encoding="utf-8") as handle:
        for values in zip(*(columns[n] for n in names)):
            handle.write(json.dumps(dict(zip(names, values)), ensure_ascii=False) + "\n")
