"""Summarization: mteb's protocol, equal to mteb on identical embeddings (both protocols), bad input."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cmteb_eval.errors import DataFormatError
from cmteb_eval.evaluators import summarization
from cmteb_eval.tasks.registry import Registry

from parity_data import write_jsonl

# A hand-made set: each text has human summaries and machine summaries of graded relevance (1-5).
# The last text's relevance is constant: mteb skips it, and so must we.
TEXTS = [
    ("A storm closed the city's schools on Monday and cut power to thousands of homes.",
     ["Storm shuts schools and cuts power.", "Schools closed, homes without power after a storm.",
      "A Monday storm closed schools."],
     [("The storm closed schools and cut power to homes.", 5.0), ("Schools were closed.", 3.7),
      ("Power was cut to thousands.", 3.3), ("The city has many schools.", 1.7), ("Monday was rainy.", 2.0)]),
    ("The central bank raised interest rates by half a point to slow rising prices.",
     ["Bank raises rates to fight inflation.", "Interest rates up half a point.", "Rates rise as prices climb."],
     [("The bank raised rates by half a point against inflation.", 4.7), ("Prices are rising.", 2.3),
      ("The bank changed its rates.", 3.0), ("Banks lend money.", 1.3)]),
    ("A local team won the championship after a late goal in extra time.",
     ["Late goal wins title for local team.", "Extra-time goal decides the championship."],
     [("The local team won the title with a goal in extra time.", 4.3), ("There was a game.", 1.7),
      ("A goal was scored late.", 3.0), ("The team celebrated.", 2.7), ("Football is popular.", 1.0)]),
    ("Researchers found a new species of frog in the rainforest.",
     ["New frog species found.", "Rainforest frog discovered by researchers."],
     [("A new frog was found.", 3.0), ("Researchers work in forests.", 3.0), ("Frogs live in forests.", 3.0)]),
]


def columns():
    return {"text": [t for t, _, _ in TEXTS], "human_summaries": [h for _, h, _ in TEXTS],
            "machine_summaries": [[m for m, _ in ms] for _, _, ms in TEXTS],
            "relevance": [[r for _, r in ms] for _, _, ms in TEXTS]}


def all_texts():
    data = columns()
    return [t for rows in (data["human_summaries"], data["machine_summaries"]) for row in rows for t in row]


@pytest.mark.parametrize("mteb_task,protocol", [("SummEval", "v1"), ("SummEvalSummarization.v2", "v2")])
def test_scores_equal_mtebs_on_identical_embeddings(minilm, tmp_path, mteb_task, protocol):
    from mteb_reference import FrozenEmbedder, mteb_scores_of

    frozen = FrozenEmbedder(minilm, all_texts())
    write_jsonl(tmp_path / "SummEval" / "test.jsonl", columns())
    spec = replace(Registry.load().task("SummEval"), scoring={"protocol": protocol})
    ours = summarization.evaluate(spec, "test", [tmp_path], frozen)
    theirs = mteb_scores_of(frozen, mteb_task, {"test": columns()}, "test")
    for name in ("cosine_spearman", "cosine_pearson", "dot_spearman", "dot_pearson", "spearman", "pearson"):
        assert ours.scores[name] == pytest.approx(theirs[name], abs=1e-6), name
    assert ours.items["text_index"] == [0, 1, 2]  # the constant-relevance text is skipped, as mteb does
    assert sum(ours.items["text_score"]) / 3 == pytest.approx(ours.scores["cosine_spearman"], abs=1e-12)


def test_protocol_v1_averages_the_statistic_with_its_p_value():
    from scipy.stats import spearmanr

    text = {"human": [1.0, 2.0, 3.0, 5.0], "cosine": [0.1, 0.3, 0.2, 0.9], "dot": [1.0, 3.0, 2.0, 9.0]}
    v1, _ = summarization.summarization_scores([text], "v1")
    v2, _ = summarization.summarization_scores([text], "v2")
    rho, p = spearmanr(text["human"], text["cosine"])
    assert v2["cosine_spearman"] == pytest.approx(rho) and v1["cosine_spearman"] == pytest.approx((rho + p) / 2)


def test_the_card_is_mtebs_summeval_with_the_published_protocol():
    spec = Registry.load().task("SummEval")
    assert (spec.type, spec.main_metric, spec.scoring["protocol"]) == ("Summarization", "cosine_spearman", "v1")


def test_a_row_without_one_relevance_per_machine_summary_is_a_clear_error(tmp_path):
    data = columns()
    data["relevance"][1] = data["relevance"][1][:-1]
    write_jsonl(tmp_path / "SummEval" / "test.jsonl", data)
    with pytest.raises(DataFormatError, match="row 1 .* one finite relevance number per machine summary"):
        summarization.evaluate(Registry.load().task("SummEval"), "test", [tmp_path], None)
