
import pytest

from cmteb_eval.errors import TaskCardError, UnknownNameError
from cmteb_eval.tasks.registry import Registry
from cmteb_eval.tasks.card import load_card
from cmteb_eval.tasks.types import TASK_TYPES


@pytest.fixture(scope="module")
def registry():
    return Registry.load()


def test_every_card_loads_and_benchmarks_have_their_tasks(registry):
    assert len(registry.benchmark("cmteb").tasks) == 35
    assert len(registry.benchmark("cmteb-v1").tasks) == 31
    assert registry.benchmark("cmteb-reranking").tasks == (
        "T2Reranking", "T2RerankingZh2En", "T2RerankingEn2Zh", "MMarcoReranking", "CMedQAv1", "CMedQAv2")
    assert len(registry.benchmark("mteb-reranking").tasks) == 4
    types = {registry.task(t).type for t in registry.benchmark("cmteb").tasks}
    assert types == set(TASK_TYPES) - {"Summarization"}  # C-MTEB has no Summarization task
    mteb_en = registry.benchmark("mteb-en")
    assert (len(mteb_en.tasks), len(mteb_en.entries())) == (67, 56)  # the 12 CQADupstack cards count once
    assert {registry.task(t).type for t in mteb_en.tasks} == set(TASK_TYPES)
    assert registry.benchmark("MTEB(eng, v1)") is mteb_en  # mteb's name is an alias


def test_cards_match_the_published_task_table(registry, shared):
    """Hub ids, revisions and the published split (the one tables show) of every C-MTEB card equal
    ../shared/published/cmteb_tasks.md."""
    rows = [line.split("|") for line in (shared / "published" / "cmteb_tasks.md").read_text().splitlines()
            if line.startswith("| ") and line.split("|")[1].strip().isdigit()]
    assert len(rows) == 35
    for row in rows:
        name = row[2].strip().replace("-reranking", "")
        source, split = row[4].strip(), row[6].strip()
        spec = registry.task(name)
        hub_rev = source.split(" ")[0]
        assert f"{spec.dataset.hub_id}@{spec.dataset.revision}" == hub_rev, name
        assert spec.table_split == split and split in spec.eval_splits, name  # every split: test_card_metadata
        if "(subset" in source:
            assert spec.dataset.subset == source.split("(subset ")[1].rstrip(")")


def test_instruction_only_for_retrieval_and_chinese_reranking(registry):
    for name in registry.benchmark("cmteb").tasks:
        spec = registry.task(name)
        assert spec.query_instruction == (spec.type in ("Retrieval", "Reranking")), name


def test_unknown_task_suggests_close_names(registry):
    with pytest.raises(UnknownNameError, match="Did you mean 'LCQMC'"):
        registry.task("LCQMCC")
    with pytest.raises(UnknownNameError, match="Unknown benchmark"):
        registry.benchmark("cmtebb")


def test_lookup_is_case_insensitive(registry):
    assert registry.task("lcqmc").name == "LCQMC"


GOOD = """
name = "MySTS"
type = "STS"
languages = ["cmn-Hans"]
eval_splits = ["test"]
[dataset]
hub_id = "me/my-sts"
revision = "abc"
local_dir = "mydata"
[columns]
sentence1 = "a"
sentence2 = "b"
score = "gold"
"""


def test_user_card_with_local_data(tmp_path):
    card = tmp_path / "my.toml"
    card.write_text(GOOD)
    registry = Registry.load([card])
    spec = registry.task("MySTS")
    assert spec.column("sentence1") == "a"
    assert spec.dataset.local_dir == (tmp_path / "mydata").resolve()


@pytest.mark.parametrize("edit, field", [
    (lambda t: t.replace('type = "STS"', 'type = "Regression"'), "type"),
    (lambda t: t.replace('sentence1 = "a"', 'premise = "a"'), "columns.premise"),
    (lambda t: t.replace('name = "MySTS"\n', ''), "name"),
    (lambda t: t.replace('revision = "abc"', 'revision = 3'), "dataset.revision"),
    (lambda t: t.replace('eval_splits = ["test"]', 'eval_splits = []'), "eval_splits"),
    (lambda t: "extra_field = 1\n" + t, "extra_field"),
])
def test_malformed_card_names_file_and_field(tmp_path, edit, field):
    card = tmp_path / "bad.toml"
    card.write_text(edit(GOOD))
    with pytest.raises(TaskCardError) as info:
        load_card(card)
    assert str(card) in str(info.value) and f"'{field}'" in str(info.value)


def test_invalid_toml_is_a_clear_error(tmp_path):
    card = tmp_path / "broken.toml"
    card.write_text("name = ")
    with pytest.raises(TaskCardError, match="not valid TOML"):
        load_card(card)


def test_classification_card_needs_train_split(tmp_path):
    card = tmp_path / "cls.toml"
    card.write_text(GOOD.replace('type = "STS"', 'type = "Classification"').split("[columns]")[0])
    with pytest.raises(TaskCardError, match="train_split"):
        load_card(card)
