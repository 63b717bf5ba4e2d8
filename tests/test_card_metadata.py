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
# MTEB(eng, v1): the published numbers of bge-*-en-v1.5 (the model card's MTEB table) were made by FlagEmbedding's
# C_MTEB/eval_MTEB.py @ de8f464c on mteb 1.1.x (research notes: /work/notes/mteb_eng_v1.md)
TEST_ONLY = "FlagEmbedding's eval_MTEB.py passes eval_splits=['test'] (MSMARCO: ['dev']); mteb 2's metadata lists validation too"
V1_PAIR_EN = "the published MTEB numbers are cosine AP (mteb 1.x, the leaderboard's cos_sim_ap); mteb 2 reports max_ap"
EN_PINNED = ("the card pins the copy mteb 1.1.x read for the published numbers (the result files record this "
             "revision); mteb 2 reads a re-uploaded copy, recorded in the card's [reference]")
TOXIC_SPL = ("mteb 1.1.0-1.2.0 (the published numbers) drew 32 samples per label from the full test split; mteb 1.3+ "
             "draws 16 and subsamples test to 2,048 rows")

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
    **{(t, "eval_splits"): TEST_ONLY for t in (
        "AmazonCounterfactualClassification", "AmazonReviewsClassification-en", "MTOPDomainClassification",
        "MTOPIntentClassification", "MassiveIntentClassification-en", "MassiveScenarioClassification-en")},
    **{(t, "main_metric"): V1_PAIR_EN for t in ("SprintDuplicateQuestions", "TwitterSemEval2015", "TwitterURLCorpus")},
    **{(t, "dataset"): EN_PINNED for t in (
        "AmazonCounterfactualClassification", "AmazonReviewsClassification-en", "MTOPDomainClassification",
        "MTOPIntentClassification", "MassiveIntentClassification-en", "MassiveScenarioClassification-en",
        "ToxicConversationsClassification", "RedditClusteringP2P", "SICK-R", "STS17", "STS22-en")},
    ("ToxicConversationsClassification", "samples_per_label"): TOXIC_SPL,
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
    if spec.type == "Classification":
        from cmteb_eval.evaluators.classification import settings

        ours = settings(spec)
        for key in ("samples_per_label", "n_experiments"):
            if ours[key] != getattr(task, key):
                out[key] = f"card {ours[key]}, mteb {getattr(task, key)}"
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


# ---------------------------------------------------------------- MTEB(eng, v1)

# FlagEmbedding C_MTEB/eval_MTEB.py @ de8f464c060576aeabd50c352dea625d59bb05cf: the retrieval tasks whose queries
# get "Represent this sentence for searching relevant passages: " ('CQADupstack' in task, or one of these)
FLAG_INSTRUCTED = {"Touche2020", "SciFact", "TRECCOVID", "NQ", "NFCorpus", "MSMARCO", "HotpotQA", "FiQA2018", "FEVER",
                   "DBPedia", "ClimateFEVER", "SCIDOCS"}


def mteb_eng_v1():
    import mteb

    return mteb.get_benchmark("MTEB(eng, v1)")


def test_mteb_en_is_mtebs_benchmark_task_for_task_and_subset_for_subset():
    """Every task of mteb's MTEB(eng, v1), with its hf_subset, is one entry of our mteb-en (the aggregate
    CQADupstackRetrieval our group of the 12 sub-forum cards, as mteb 2 aggregates them), and nothing else."""
    from cmteb_eval.tasks.aliases import card_for_mteb_task, mteb_name

    registry = Registry.load()
    bench = registry.benchmark("MTEB(eng, v1)")
    assert bench is registry.benchmark("mteb-en")
    specs = [registry.task(t) for t in bench.tasks]
    ours = {}
    for entry, cards in bench.entries():
        if len(cards) == 1:
            ours[entry] = cards
    theirs = {}
    for task in mteb_eng_v1().tasks:
        name = task.metadata.name
        if name == "CQADupstackRetrieval":
            subtasks = sorted(t.metadata.name for t in task.metadata.tasks)
            assert sorted(mteb_name(registry.task(c)) for c in bench.groups[name]) == subtasks
            continue
        subset = task.hf_subsets[0] if task.metadata.is_multilingual else "default"
        assert len(task.hf_subsets) == 1
        card = card_for_mteb_task(specs, name, subset)
        assert card is not None, f"no card of mteb-en is {name} ({subset})"
        theirs[card.name] = name
    assert len(bench.entries()) == len(mteb_eng_v1().tasks) == 56
    assert set(ours) == set(theirs)


def test_mteb_en_instructions_are_flagembeddings():
    registry = Registry.load()
    for name in registry.benchmark("mteb-en").tasks:
        spec = registry.task(name)
        expected = spec.type == "Retrieval" and ("CQADupstack" in name or name in FLAG_INSTRUCTED)
        assert spec.query_instruction is expected, name
        if spec.type in ("Retrieval", "Reranking"):  # the card names where its instruction rule comes from
            assert "FlagEmbedding" in spec.card_path.read_text(encoding="utf-8"), name
