"""A result and its per-item file are one unit (issue 14, case 5), and every command-line option
that changes a number is in the configuration resume compares (case 4)."""

from __future__ import annotations

import json

import pytest

from cmteb_eval.evaluators.base import RunOptions
from cmteb_eval.run.runner import run_tasks
from cmteb_eval.tasks.card import load_card
from mutation_helpers import cli, write_reranking_task
from reliability_helpers import HashEmbedder, write_sts_task


def quiet(_):
    pass


@pytest.fixture()
def sts(tmp_path):
    return load_card(write_sts_task(tmp_path / "cards", "Unit", n_rows=16))


def run(spec, out, model=None, log=quiet, name="m"):
    model = model or HashEmbedder()
    return run_tasks(model, name, [spec], [], out, log=log), model


def _replace_value(path):
    items = json.loads(path.read_text())
    items["splits"]["test"]["cosine"][0] = 0.123
    path.write_text(json.dumps(items))


ITEM_DAMAGE = {
    "deleted": lambda path: path.unlink(),
    "truncated": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "one value changed": _replace_value,
    "emptied": lambda path: path.write_text(""),
    "another task's items": lambda path: path.write_text(path.read_text().replace('"Unit"', '"Other"')),
}


@pytest.mark.parametrize("damage", sorted(ITEM_DAMAGE))
def test_a_damaged_items_file_makes_the_task_recompute(tmp_path, sts, damage):
    out = tmp_path / "out"
    first, _ = run(sts, out)
    result, items = out / "m" / "no_revision_available" / "Unit.json", out / "m" / "no_revision_available" / "items" / "Unit.json"
    good_items = items.read_bytes()
    ITEM_DAMAGE[damage](items)
    logged = []
    second, model = run(sts, out, log=logged.append)
    assert model.calls == 1 and not second.outcomes[0].skipped
    assert any("per-item file" in line and "moved it to" in line for line in logged), logged
    assert items.read_bytes() == good_items  # recomputed: the same per-item values again
    assert json.loads(result.read_text())["scores"] == json.loads(first.outcomes[0].path.read_text())["scores"]
    assert len(list(result.parent.glob("Unit.json.bad-*"))) == 1  # the old result is kept aside
    if damage != "deleted":  # the damaged items file too
        assert len(list(items.parent.glob("Unit.json.bad-*"))) == 1
    third, model = run(sts, out)
    assert third.outcomes[0].skipped and model.calls == 0  # the unit is whole again


def test_the_results_checksum_covers_the_items_hash(tmp_path, sts):
    out = tmp_path / "out"
    run(sts, out)
    harness = json.loads((out / "m" / "no_revision_available" / "Unit.json").read_text())["harness"]
    import hashlib

    items = (out / "m" / "no_revision_available" / "items" / "Unit.json").read_bytes()
    assert harness["items"] == {"file": "items/Unit.json", "sha256": hashlib.sha256(items).hexdigest()}


@pytest.mark.parametrize("damage", ["one value changed", "deleted"])
def test_compare_refuses_an_items_file_that_does_not_match_its_result(tmp_path, sts, damage):
    out = tmp_path / "out"
    run(sts, out, name="base")
    run(sts, out, model=HashEmbedder(dim=8), name="cand")
    code, report, err = cli("compare", str(out / "base"), str(out / "cand"))
    assert code == 0 and "Unit" in report, err
    ITEM_DAMAGE[damage](out / "cand" / "no_revision_available" / "items" / "Unit.json")
    code, _, err = cli("compare", str(out / "base"), str(out / "cand"))
    assert code == 2 and "per-item file" in err and "Traceback" not in err
    assert ("does not match" if damage != "deleted" else "is missing") in err


def test_an_items_file_of_an_older_result_format_is_not_used_unchecked(tmp_path, sts):
    from cmteb_eval.results import integrity

    out = tmp_path / "out"
    run(sts, out, name="base")
    run(sts, out, model=HashEmbedder(dim=8), name="cand")
    path = out / "cand" / "no_revision_available" / "Unit.json"
    payload = json.loads(path.read_text())
    del payload["harness"]["items"]  # as a result written before items were bound to it
    path.write_text(json.dumps(integrity.seal(payload)))
    code, report, err = cli("compare", str(out / "base"), str(out / "cand"))
    assert code == 0, err
    assert "cannot be checked against it" in report


# ------------------------------------------------------------------ case 4: the configuration


def test_the_reranking_protocol_is_part_of_the_configuration(tmp_path):
    spec = load_card(write_reranking_task(tmp_path / "cards", "Rr"))
    out = tmp_path / "out"
    run_tasks(HashEmbedder(), "m", [spec], [], out, log=quiet, options=RunOptions(protocol="v1"))
    logged = []
    summary = run_tasks(HashEmbedder(), "m", [spec], [], out, log=logged.append,
                        options=RunOptions(protocol="v2"))
    assert not summary.outcomes[0].skipped
    assert any('reranking_protocol: "v1" -> "v2"' in line for line in logged), logged
    assert "mteb 2.x" in json.loads((out / "m" / "no_revision_available" / "Rr.json").read_text())["harness"]["protocol"]
    # no --protocol: the card's default (v1) again, which is another configuration than v2
    again = run_tasks(HashEmbedder(), "m", [spec], [], out, log=quiet)
    assert not again.outcomes[0].skipped


def test_every_option_that_changes_a_number_changes_the_configuration(tmp_path, tiny_bert, tiny_reranker):
    """Each step adds one option to the previous step's command: each must recompute. Adding a
    cross-encoder makes another model (embedder + reranker), whose results go to a folder of their
    own (results/model_folder.py refuses to mix them): the reranker's options form a second chain."""
    card = write_reranking_task(tmp_path / "cards", "Rr")
    base = ["run", "--model", str(tiny_bert), "--pooling", "cls", "--device", "cpu", "--no-cache", "--task-file",
            str(card), "--tasks", "Rr", "--output-dir", str(tmp_path / "out")]
    chains = [("same", [[], ["--protocol", "v2"], ["--query-instruction", "Q: "], ["--no-instruction"],
                        ["--pooling", "mean"], ["--no-normalize"], ["--max-length", "16"], ["--backend", "torch"]]),
              ("pipeline", [["--reranker", str(tiny_reranker)], ["--sigmoid"], ["--rerank-top-k", "2"]])]
    for name, steps in chains:
        options: list[str] = []
        for number, step in enumerate(steps):
            options += step
            code, log, err = cli(*base, "--model-name", name, *options)
            assert code == 0, (step, err)
            if number:
                assert "made with another configuration" in log, (step, log)
        code, log, err = cli(*base, "--model-name", name, *options, "--batch-size", "3", "--max-batch-tokens", "512")
        assert code == 0 and "already done with this configuration" in log, err  # these change no number
    code, _, err = cli(*base, "--model-name", "same", "--reranker", str(tiny_reranker))
    assert code == 2 and "--model-name" in err  # the embedder's folder is not the pipeline's
