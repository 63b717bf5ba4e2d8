"""``[scoring]`` values have declared types and unknown keys are card errors (issue 14, case 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmteb_eval.errors import TaskCardError
from cmteb_eval.tasks.registry import Registry
from cmteb_eval.tasks.card import load_card
from cmteb_eval.tasks.types import SCORING, TASK_TYPES

REPO = Path(__file__).resolve().parent.parent


def card(tmp_path, task_type, scoring):
    extra = 'train_split = "train"\n' if task_type == "Classification" else ""
    path = tmp_path / "card.toml"
    path.write_text(f'name = "Sc"\ntype = "{task_type}"\nlanguages = ["eng-Latn"]\neval_splits = ["test"]\n'
                    f'[dataset]\nhub_id = "x/y"\nrevision = "r"\n{extra}[scoring]\n{scoring}\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("task_type, scoring, message", [
    ("Retrieval", 'ignore_identical_ids = "false"', "must be true or false (a TOML boolean), got string 'false'"),
    ("Retrieval", "ignore_identical_idz = true", "'scoring.ignore_identical_idz' is not a Retrieval setting "
                                                 "(known: ignore_identical_ids, allow_dangling_qrels)"),
    ("Retrieval", "allow_dangling_qrels = 1", "must be true or false"),
    ("Reranking", 'protocol = "v3"', "must be one of 'v1', 'v2', got string 'v3'"),
    ("Reranking", 'data_layout = "rows"', "must be one of 'mteb2'"),
    ("Classification", "samples_per_label = 0", "must be an integer >= 1, got 0"),
    ("Classification", "n_experiments = 2.0", "must be an integer, got float 2.0"),
    ("Classification", "seed = true", "must be an integer, got boolean True"),
    ("Clustering", "batch_size = -5", "must be an integer >= 1"),
    ("STS", "seed = 1", "STS tasks take no [scoring] settings"),
])
def test_a_scoring_value_of_the_wrong_type_or_an_unknown_key_is_refused(tmp_path, task_type, scoring, message):
    with pytest.raises(TaskCardError) as info:
        load_card(card(tmp_path, task_type, scoring))
    assert message in str(info.value) and "card.toml" in str(info.value)


def test_valid_scoring_values_load(tmp_path):
    spec = load_card(card(tmp_path, "Retrieval", "ignore_identical_ids = false\nallow_dangling_qrels = true"))
    assert spec.scoring == {"ignore_identical_ids": False, "allow_dangling_qrels": True}


def test_every_task_type_declares_its_settings_and_every_shipped_card_is_valid():
    assert set(SCORING) == set(TASK_TYPES)
    registry = Registry.load()
    for spec in registry.tasks.values():
        assert set(spec.scoring) <= set(SCORING[spec.type]), spec.name


def test_the_evaluators_defaults_are_the_declared_ones():
    from cmteb_eval.evaluators import classification, clustering

    assert classification.DEFAULTS == {k: s.default for k, s in SCORING["Classification"].items()}
    assert clustering.DEFAULTS == {k: s.default for k, s in SCORING["Clustering"].items()}
