"""mteb's task names map to our cards through the cards' [reference] mteb_name and [dataset] subset."""

from dataclasses import replace

from cmteb_eval.tasks.aliases import card_for_mteb_task, cards_for_mteb_name, mteb_name, mteb_subset
from cmteb_eval.tasks.registry import Registry


def test_cards_map_to_mteb_names_and_back():
    specs = list(Registry.load().tasks.values())
    cmedqa = card_for_mteb_task(specs, "CMedQAv1-reranking")
    assert cmedqa is not None and cmedqa.name == "CMedQAv1" and mteb_name(cmedqa) == "CMedQAv1-reranking"
    stsb = card_for_mteb_task(specs, "STSB", "default")
    assert stsb is not None and stsb.name == "STSB" and mteb_subset(stsb) == "default"
    assert card_for_mteb_task(specs, "CMedQAv1") is None  # not mteb's name for it
    assert card_for_mteb_task(specs, "CLSClusteringS2S.v2") is None  # another version of the task


def test_subsets_of_one_dataset_are_told_apart():
    base = Registry.load().task("STSB")
    en = replace(base, name="X-en", reference={"mteb_name": "X"}, dataset=replace(base.dataset, subset="en"))
    de = replace(base, name="X-de", reference={"mteb_name": "X"}, dataset=replace(base.dataset, subset="de"))
    assert [s.name for s in cards_for_mteb_name([en, de], "X")] == ["X-en", "X-de"]
    assert card_for_mteb_task([en, de], "X", "de") is de
    assert card_for_mteb_task([en, de], "X") is None  # ambiguous without the subset
