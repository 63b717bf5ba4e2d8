"""Every task card against mteb's own task metadata: hub id, revision, eval splits, subset, main metric.

mteb is the reference implementation; a card may differ from its metadata only where the
published numbers were made otherwise (mteb 1.x, FlagEmbedding's C_MTEB tasks). Each such
difference is listed in DELIBERATE with its reason; a difference not listed there fails.
"""

from __future__ import annotations

import pytest

from cmteb_eval.tasks.registry import Registry

V1_PAIR = "C-MTEB's published PairClassification score is cosine AP (mteb 1.x); mteb 2 reports max_accuracy"
V1_RERANK = "published reranking numbers are mteb 1.x MAP (protocol v1); mteb 2 reports map_at_1000 (--protocol v2)"
PINNED = ("the card pins the copy the published numbers were made with (FlagEmbedding's C_MTEB / mteb 1.x); "
          "mteb 2 reads a re-uploaded copy, recorded in the card's [reference] and checked below")
NOT_IN_MTEB = "not an mteb task: FlagEmbedding's C_MTEB defines it for the BGE reranker table"

# (task, field) -> why the card differs from mteb's metadata on purpose
DELIBERATE: dict[tuple[str, str], str] = {
    ("Ocnli", "main_metric"): V1_PAIR,
    ("Cmnli", "main_metric"): V1_PAIR,
    **{(t, "main_metric"): V1_RERANK for t in (
        "T2Reranking", "MMarcoReranking", "CMedQAv1", "CMedQAv2", "AskUbuntuDupQuestions", "SciDocsRR",
        "StackOverflowDupQuestions")},
    ("MindSmallReranking", "main_metric"): "published MTEB numbers are mteb 1.x MAP (protocol v1); mteb 2 "
                                           "reports max_over_subqueries_map_at_1000",
    **{(t, "dataset"): PINNED for t in (
        "T2Retrieval", "MMarcoRetrieval", "DuRetrieval", "CovidRetrieval", "CmedqaRetrieval", "EcomRetrieval",
        "MedicalRetrieval", "VideoRetrieval", "T2Reranking", "MMarcoReranking", "CMedQAv1", "CMedQAv2", "PAWSX",
        "STSB", "AmazonReviewsClassification", "AskUbuntuDupQuestions", "SciDocsRR", "StackOverflowDupQuestions",
        "MindSmallReranking")},
    ("T2RerankingZh2En", "task"): NOT_IN_MTEB,
    ("T2RerankingEn2Zh", "task"): NOT_IN_MTEB,
}


def mteb_task(spec):
    import mteb

    return mteb.get_task(spec.reference.get("mteb_name", spec.name))


def hub_cards():
    """Every built-in card whose data lives on the hub (not the demo cards, whose data ships with us)."""
    return [s for s in Registry.load().tasks.values() if not s.dataset.hub_id.startswith("cmteb-eval/")]


def differences(spec) -> dict[str, str]:
    """field -> what differs between the card and mteb's metadata."""
    try:
        task = mteb_task(spec)
    except KeyError:
        return {"task": "mteb has no task of this name"}
    meta = task.metadata
    out = {}
    ours = (spec.dataset.hub_id, spec.dataset.revision)
    theirs = (meta.dataset["path"], meta.dataset["revision"])
    if ours != theirs:
        out["dataset"] = f"card {ours}, mteb {theirs}"
    if sorted(spec.eval_splits) != sorted(meta.eval_splits):
        out["eval_splits"] = f"card {list(spec.eval_splits)}, mteb {meta.eval_splits}"
    subsets = list(meta.hf_subsets_to_langscripts) if meta.is_multilingual else ["default"]
    if (spec.dataset.subset or "default") not in subsets:
        out["subset"] = f"card {spec.dataset.subset!r}, mteb {subsets[:8]}"
    if spec.main_metric != meta.main_score:
        out["main_metric"] = f"card {spec.main_metric}, mteb {meta.main_score}"
    return out


@pytest.mark.parametrize("spec", hub_cards(), ids=lambda s: s.name)
def test_card_equals_mteb_metadata_or_the_difference_is_listed(spec):
    unexplained = {f: d for f, d in differences(spec).items() if (spec.name, f) not in DELIBERATE}
    assert not unexplained, f"{spec.name}: {unexplained} (fix the card, or list the difference with its reason)"


@pytest.mark.parametrize("key", sorted(DELIBERATE), ids=lambda k: f"{k[0]}.{k[1]}")
def test_every_listed_difference_is_real(key):
    """A listed difference that no longer exists is stale: the table must say what is true."""
    spec = Registry.load().task(key[0])
    assert key[1] in differences(spec), f"{key} is listed in DELIBERATE but the card equals mteb there"


@pytest.mark.parametrize("name", sorted({t for t, f in DELIBERATE if f == "dataset"}))
def test_a_pinned_copy_records_the_copy_mteb_reads(name):
    spec = Registry.load().task(name)
    meta = mteb_task(spec).metadata
    assert (spec.reference.get("mteb_current_hub_id"), spec.reference.get("mteb_current_revision")) == \
        (meta.dataset["path"], meta.dataset["revision"])
