"""Generated inputs for issue 18 (hypothesis), part 2: tolerances, result provenance, extreme gold
values, one-class pair data, name lengths, special files, --max-length and --device.

Each property runs twice: a fast subset in the default suite and a wider one marked slow
(``-m slow``). The number of generated cases each family ran is printed at the end of the module.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter

import pytest
from hypothesis import assume
from hypothesis import strategies as st

from cmteb_eval.results import integrity
from cmteb_eval.run import resume
from cmteb_eval.errors import UserError
from cmteb_eval.results.read import read_result
from cmteb_eval.run.runner import run_tasks
from cmteb_eval.tasks.card import load_card
from helpers_18 import both, count_reporter, finishes_within, quiet, write_card, write_jsonl
from reliability_helpers import HashEmbedder, write_sts_task

COUNTS: Counter = Counter()
report_counts = count_reporter(COUNTS, "generated inputs (issue 18, part 2)")


# ------------------------------------------------------------------ tolerances: one rule

tolerance_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**30),
                             st.booleans(), st.none(), st.text(max_size=4))


def _tolerance(value) -> None:
    from cmteb_eval.report.comparison.gate import check, check_tolerance
    from cmteb_eval.report.comparison.reproduce import reproduce
    from cmteb_eval.report.scores import ModelScores, TaskScore

    COUNTS["tolerances"] += 1
    good = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and value >= 0
    ours = ModelScores("m", "run", "here", {"T": TaskScore("T", "STS", "test", 50.0, splits={"test": 50.0})})
    published = ModelScores("p", "published", "there", {"T": TaskScore("T", "STS", "test", 45.0,
                                                                       splits={"test": 45.0})})
    verdicts = []
    for function in (lambda: check_tolerance(value), lambda: check(ours, published, tolerance=value),
                     lambda: reproduce(ours, published, value)):
        try:
            function()
            verdicts.append(True)
        except UserError:
            verdicts.append(False)
    assert verdicts == [good] * 3


test_tolerances, test_tolerances_wide = both(value=tolerance_values, fast=40, wide=400)(_tolerance)


# ------------------------------------------------------------------ result provenance: one rule for run and check


@pytest.fixture(scope="module")
def good_result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    spec = load_card(write_sts_task(folder, "Res"))
    path = run_tasks(HashEmbedder(), "m", [spec], [], folder / "out", log=quiet).outcomes[0].path
    payload = json.loads(path.read_text())
    items = payload["harness"]["items"]["file"]  # the per-item file, one unit with the result
    return spec, payload, (items, (path.parent / items).read_bytes())


edits = st.lists(st.sampled_from(["drop checksum", "drop harness", "rename harness", "raise score", "reseal",
                                  "drop config"]), max_size=4)


def _provenance(tmp_path_factory, good_result, steps) -> None:
    COUNTS["result provenance"] += 1
    spec, original, (items_name, items_bytes) = good_result
    payload = json.loads(json.dumps(original))
    for step in steps:
        harness = payload.get("harness")
        if step == "drop checksum" and isinstance(harness, dict):
            harness.pop("checksum", None)
        elif step == "drop harness":
            payload.pop("harness", None)
        elif step == "rename harness" and isinstance(harness, dict):
            harness["name"] = "other-tool"
        elif step == "raise score":
            payload["scores"]["test"][0]["main_score"] += 0.01
        elif step == "reseal" and isinstance(harness, dict):
            integrity.seal(payload)
        elif step == "drop config" and isinstance(harness, dict):
            harness.pop("config", None)
    path = tmp_path_factory.mktemp("prov") / "Res.json"
    path.write_text(json.dumps(payload))
    (path.parent / items_name).parent.mkdir(parents=True, exist_ok=True)
    (path.parent / items_name).write_bytes(items_bytes)
    found = resume.inspect_result(path, spec, original["harness"]["config"])
    try:
        data = read_result(path)
    except UserError:
        data = None
    kind = integrity.provenance(payload)
    if data is not None and kind == ("ours", None):
        assert found.state in ("complete", "stale")  # what check trusts, run trusts
    if found.state == "complete":
        assert data is not None and kind == ("ours", None)
    if kind[0] == "foreign":
        assert found.state == "foreign"  # run stops rather than move a foreign file (issue 13); check reads it as foreign
        if data is not None:
            from cmteb_eval.report.scores import load_model_folder

            assert load_model_folder(path.parent, [path]).tasks["Res"].foreign
    if isinstance(payload.get("harness"), dict) and payload["harness"].get("name") == "cmteb-eval" and \
            "checksum" not in payload["harness"]:
        assert data is None and found.state == "damaged"  # ours without a checksum: damaged for both


test_result_provenance, test_result_provenance_wide = both(steps=edits, fast=40, wide=300)(_provenance)


# ------------------------------------------------------------------ extreme gold values, one-class pairs

extreme = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e308, -1e308, 1.7e308, 1e154]),
                    st.integers(0, 420).map(lambda k: 10 ** k), st.integers(-5, 5))


def _gold(tmp_path_factory, values) -> None:
    COUNTS["gold values"] += 1
    folder = tmp_path_factory.mktemp("gold")
    spec = load_card(write_card(folder, "Gold", "STS", local_dir="data"))
    rows = [{"sentence1": f"left {i}", "sentence2": f"right {i % 3}", "score": v} for i, v in enumerate(values)]
    (folder / "data").mkdir()
    (folder / "data" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    outcome = run_tasks(HashEmbedder(), "m", [spec], [], folder / "out", log=quiet, debug=True).outcomes[0]
    if outcome.error is None:
        assert all(math.isfinite(s) for s in outcome.main_scores.values())
        return
    huge = any(abs(float(v)) > 1e150 if abs(v) < 10 ** 308 else True for v in values)
    assert not (huge and "degenerate" in outcome.error)  # too large is said, not blamed on the data's shape


test_gold_values, test_gold_values_wide = both(values=st.lists(extreme, min_size=3, max_size=8))(_gold)


def _pairs(tmp_path_factory, labels) -> None:
    COUNTS["pair labels"] += 1
    folder = tmp_path_factory.mktemp("pairs")
    spec = load_card(write_card(folder, "Pairs", "PairClassification", local_dir="data"))
    write_jsonl(folder / "data" / "test.jsonl",
                [{"sentence1": f"a {i}", "sentence2": f"b {i % 4}", "label": label} for i, label in enumerate(labels)])
    outcome = run_tasks(HashEmbedder(), "m", [spec], [], folder / "out", log=quiet, debug=True).outcomes[0]
    if len(set(labels)) < 2:
        assert "needs both classes" in outcome.error
    else:
        assert outcome.error is None and all(math.isfinite(s) for s in outcome.main_scores.values())


test_pair_labels, test_pair_labels_wide = both(labels=st.lists(st.sampled_from([0, 1]), min_size=1,
                                                              max_size=12))(_pairs)


# ------------------------------------------------------------------ name lengths, special files


def _name_lengths(tmp_path_factory, name, split) -> None:
    from cmteb_eval.errors import TaskCardError
    from cmteb_eval.results.naming import result_path
    from cmteb_eval.results.write import write_json_atomic

    COUNTS["name lengths"] += 1
    folder = tmp_path_factory.mktemp("names")
    try:
        spec = load_card(write_card(folder, name, "STS", eval_splits=(split,)))
    except TaskCardError:
        assert len(name) > 128 or len(split) > 128
        return
    except OSError:  # the card's own file name (our test's) is too long to create
        assume(False)
    assert len(name) <= 128 and len(split) <= 128
    path = result_path(folder / "out", "m", spec.name)
    write_json_atomic(path, {"task_name": spec.name})  # the temp file and the result fit the file system
    resume.set_aside(path)  # so does the set-aside name
    (folder / f"{split}.parquet").write_text("")


long_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,299}", fullmatch=True)
test_name_lengths, test_name_lengths_wide = both(name=long_names, split=long_names)(_name_lengths)


def _special(tmp_path_factory, where, kind) -> None:
    from cmteb_eval.models.cache.store import EmbeddingCache

    COUNTS["special files"] += 1
    folder = tmp_path_factory.mktemp("special")
    spec = load_card(write_sts_task(folder, "Sp"))
    if where == "data":
        target = spec.dataset.local_dir / "test.jsonl"
        target.unlink()
    elif where == "result":
        target = folder / "out" / "m" / "no_revision_available" / "Sp.json"
    elif where == "card":
        target = folder / "other.toml"
    else:
        target = folder / "cache" / "embeddings" / "ns" / f"{'ef' * 32}.npz"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(target) if kind == "fifo" else target.mkdir()

    def act():
        if where == "card":
            return load_card(target)
        if where == "cache":
            namespace = EmbeddingCache(folder / "cache").namespace({"x": 1})
            namespace.folder = target.parent
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return namespace.lookup(["a"])
        return run_tasks(HashEmbedder(), "m", [spec], [], folder / "out", log=quiet, debug=True)

    finished, value = finishes_within(act, 20, [target] if kind == "fifo" else [])
    assert finished, f"blocked on a {kind} named as the {where} file"
    if isinstance(value, BaseException):
        assert isinstance(value, UserError), value
    elif where == "data":
        assert "not a regular file" in value.outcomes[0].error
    elif where == "result":
        assert not value.failed  # set aside (a FIFO) or refused cleanly (a folder cannot be replaced)


test_special_files, test_special_files_wide = both(where=st.sampled_from(["data", "result", "card", "cache"]),
                                                   kind=st.sampled_from(["fifo", "folder"]), fast=8, wide=40)(_special)


# ------------------------------------------------------------------ --max-length and --device


def _max_length(value, positions, model_type, explicit) -> None:
    from types import SimpleNamespace

    from cmteb_eval.models.identity.settings import MAX_TOKENS_WITHOUT_POSITIONS, fit_max_length, usable_positions

    COUNTS["max length"] += 1
    config = SimpleNamespace(max_position_embeddings=positions, model_type=model_type, pad_token_id=1)
    limit = usable_positions(config)
    bound = limit if limit is not None else MAX_TOKENS_WITHOUT_POSITIONS
    try:
        fitted, note = fit_max_length(value, config, "m", explicit)
    except UserError as exc:
        assert explicit and value > bound and f"--max-length {bound} or less" in exc.hint
        return
    assert fitted == min(value, bound) and (note is None) == (value <= bound)


test_max_length, test_max_length_wide = both(
    value=st.one_of(st.integers(1, 4096), st.integers(1, 10**30)), positions=st.one_of(st.none(), st.integers(-2, 9000)),
    model_type=st.sampled_from(["bert", "xlm-roberta", "roberta", "mpnet", None]), explicit=st.booleans(),
    fast=60, wide=600)(_max_length)


def _device(name) -> None:
    from cmteb_eval.models.encoders.runtime import check_device

    COUNTS["devices"] += 1
    try:
        assert check_device(name) == name
    except UserError as exc:
        assert "--device" in exc.message


test_devices, test_devices_wide = both(
    name=st.one_of(st.sampled_from(["cpu", "cuda", "cuda:0", "cuda:1", "cuda:99", "tpu", "mps", "xla", "meta",
                                    "cpu:0", "cuda:-1", "CUDA", "gpu", ""]), st.text(max_size=10)),
    fast=40, wide=300)(_device)
