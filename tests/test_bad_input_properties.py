"""Property tests: malformed task cards, data files and result files fail with the project's
own UserError (one clear paragraph), never with another exception."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cmteb_eval.results import integrity
from cmteb_eval.run import resume
from cmteb_eval.errors import UserError
from cmteb_eval.results.read import read_result
from cmteb_eval.run.runner import run_tasks
from cmteb_eval.tasks.card import load_card, parse_card
from reliability_helpers import HashEmbedder, write_sts_task

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

# ------------------------------------------------------------------ values

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["", "test", "STS", "PairClassification", "Retrieval",
                                                           "Clustering", "sentence1", "label", "../x", "\x00"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=12)


def toml_value(value) -> str:
    """A TOML inline rendering of a JSON-like value (None becomes an empty inline table)."""
    if value is None:
        return "{}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(data: dict) -> str:
    return "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in data.items())


VALID_CARD = {"name": "Card", "type": "STS", "languages": ["eng-Latn"], "eval_splits": ["test"],
              "dataset": {"hub_id": "me/data", "revision": "abc", "local_dir": "data"},
              "columns": {"sentence1": "a", "sentence2": "b", "score": "s"}}


@st.composite
def mutated_cards(draw):
    card = json.loads(json.dumps(VALID_CARD))
    for _ in range(draw(st.integers(1, 4))):
        sections = [card] + [card[k] for k in ("dataset", "columns") if isinstance(card.get(k), dict)]
        section = draw(st.sampled_from(sections))
        action = draw(st.sampled_from(["drop", "set", "add"]))
        keys = list(section)
        if action == "drop" and keys:
            section.pop(draw(st.sampled_from(keys)))
        elif action == "set" and keys:
            section[draw(st.sampled_from(keys))] = draw(json_values)
        else:
            section[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
    return card


@SETTINGS
@given(mutated_cards())
@example({**VALID_CARD, "dataset": {**VALID_CARD["dataset"], "local_dir": "a\x00b"}})
@example({**VALID_CARD, "eval_splits": ["../../etc/passwd"]})
@example({**VALID_CARD, "name": "a\x00"})
def test_malformed_cards_fail_with_a_user_error(tmp_path_factory, card):
    path = tmp_path_factory.mktemp("card") / "card.toml"
    path.write_text(toml_document(card), encoding="utf-8", errors="surrogatepass")
    try:
        load_card(path)
    except UserError as exc:
        assert "card" in str(exc).lower()
    try:
        parse_card(card, path)  # the same dict without TOML in between (None, NaN survive)
    except UserError:
        pass


@SETTINGS
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: b.decode("latin-1"))))
def test_arbitrary_card_text_fails_with_a_user_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("card") / "card.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_card(path)
    except UserError:
        pass


# ------------------------------------------------------------------ data files

STS_KEYS = ["sentence1", "sentence2", "score", "label", "sent1", "sent2", "labels", "other"]
rows = st.one_of(
    st.fixed_dictionaries({"sentence1": st.text(max_size=8), "sentence2": st.text(max_size=8),
                           "score": st.floats(-1, 6), "label": st.sampled_from([0, 1, 1.0, 2, "1"])}),
    st.fixed_dictionaries({"sent1": st.lists(st.one_of(st.text(max_size=6), json_values), max_size=4),
                           "sent2": st.lists(st.one_of(st.text(max_size=6), json_values), max_size=4),
                           "labels": st.one_of(st.lists(st.sampled_from([0, 1]), max_size=4), json_values)}),
    st.dictionaries(st.sampled_from(STS_KEYS), json_values, max_size=5),
    json_values,
)
# ensure_ascii=True writes lone surrogates as \\udXXX escapes, which JSON accepts and UTF-8 cannot encode
lines = st.one_of(st.builds(lambda r, a: json.dumps(r, ensure_ascii=a), rows, st.booleans()), st.text(max_size=30))


@st.composite
def nearly_valid_rows(draw):
    """Good rows (both layouts' names), then at most one defect: a value, a key or a whole row."""
    words = st.text(alphabet="abc 今天猫", min_size=1, max_size=6)
    out = [{"sentence1": draw(words), "sentence2": draw(words), "score": draw(st.floats(0, 5)),
            "label": draw(st.integers(0, 1))} for _ in range(draw(st.integers(0, 8)))]
    if out and draw(st.booleans()):
        row = out[draw(st.integers(0, len(out) - 1))]
        defect = draw(st.sampled_from(["value", "drop", "row"]))
        key = draw(st.sampled_from(["sentence1", "sentence2", "score", "label"]))
        if defect == "value":
            row[key] = draw(json_values)
        elif defect == "drop":
            row.pop(key)
        else:
            out.append(draw(json_values))
    return out


@st.composite
def data_files(draw):
    kind = draw(st.sampled_from(["jsonl", "jsonl", "jsonl", "csv", "parquet"]))
    if kind == "jsonl" and draw(st.booleans()):
        ascii_only = draw(st.booleans())
        body = "\n".join(json.dumps(r, ensure_ascii=ascii_only) for r in draw(nearly_valid_rows()))
        body = body.encode("utf-8", "surrogatepass")
    elif kind == "jsonl":
        body = "\n".join(draw(st.lists(lines, max_size=12))).encode("utf-8", "surrogatepass")
    elif kind == "csv":
        body = draw(st.one_of(st.binary(max_size=200),
                              st.lists(st.lists(st.text(alphabet="ab1.,\"\n", max_size=5), min_size=1, max_size=4),
                                       max_size=8).map(lambda rs: "\n".join(",".join(r) for r in rs).encode())))
    else:
        body = draw(st.binary(max_size=200))
    return kind, body


@SETTINGS
@pytest.mark.filterwarnings("ignore")
@given(data=data_files(), task_type=st.sampled_from(["STS", "PairClassification"]))
def test_malformed_data_files_fail_with_a_user_error(tmp_path_factory, data, task_type):
    folder = tmp_path_factory.mktemp("task")
    card = write_sts_task(folder, "Prop")
    if task_type == "PairClassification":
        # the hub layout's names (one row of lists), with the one-pair-per-row names as fallback
        card.write_text(card.read_text().replace('"STS"', '"PairClassification"')
                        + '[columns]\nsentence1 = "sent1"\nsentence2 = "sent2"\nlabel = "labels"\n')
    (folder / "Prop_data" / "test.jsonl").unlink()
    kind, body = data
    (folder / "Prop_data" / f"test.{kind}").write_bytes(body)
    spec = load_card(card)
    # debug=True: the runner re-raises anything that is not a UserError, failing this test
    summary = run_tasks(HashEmbedder(), "m", [spec], [], folder / "out", log=lambda _: None, debug=True)
    outcome = summary.outcomes[0]
    from hypothesis import event

    event("ok" if outcome.error is None else outcome.error.split(":")[1][:40] if ":" in outcome.error else "err")
    if outcome.error is None:
        assert read_result(outcome.path)["task_name"] == "Prop"
        assert all(math.isfinite(s) for s in outcome.main_scores.values())


def test_a_lone_surrogate_in_the_text_is_a_data_error(tmp_path):
    card = write_sts_task(tmp_path, "Prop")
    data = tmp_path / "Prop_data" / "test.jsonl"
    data.write_text(data.read_text().replace('"sentence1": "', '"sentence1": "\\ud800', 1))
    summary = run_tasks(HashEmbedder(), "m", [load_card(card)], [], tmp_path / "out", log=lambda _: None, debug=True)
    assert "not valid Unicode (a lone surrogate)" in summary.outcomes[0].error


# ------------------------------------------------------------------ result files


@pytest.fixture(scope="module")
def good_result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("result")
    spec = load_card(write_sts_task(folder, "Res"))
    summary = run_tasks(HashEmbedder(), "m", [spec], [], folder / "out", log=lambda _: None, debug=True)
    path = summary.outcomes[0].path
    return spec, path.read_text(encoding="utf-8")


@st.composite
def mutated_results(draw, text):
    payload = json.loads(text)
    for _ in range(draw(st.integers(1, 3))):
        node = payload
        while isinstance(node, (dict, list)) and node and draw(st.booleans()):
            key = draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
            if not isinstance(node[key], (dict, list)) or not node[key]:
                break
            node = node[key]
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(list(node)))
            if draw(st.booleans()):
                node.pop(key)
            else:
                node[key] = draw(json_values)
        elif isinstance(node, list) and node:
            node[draw(st.integers(0, len(node) - 1))] = draw(json_values)
    if isinstance(payload.get("harness"), dict) and draw(st.booleans()):
        try:
            integrity.seal(payload)  # a checksum that matches, so the structural checks are what stands
        except ValueError:
            pass  # NaN cannot be sealed (strict JSON); the file then holds NaN, which must be refused
    return json.dumps(payload, ensure_ascii=False)


def result_texts(text):
    return st.one_of(mutated_results(text), st.text(max_size=200),
                     st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
                     st.integers(0, len(text)).map(lambda n: text[:n]))


@SETTINGS
@given(data=st.data())
def test_malformed_result_files_are_refused_never_used(tmp_path_factory, good_result, data):
    spec, text = good_result
    config = json.loads(text)["harness"]["config"]
    damaged = data.draw(result_texts(text))
    path = tmp_path_factory.mktemp("res") / "Res.json"
    path.write_bytes(damaged.encode("utf-8", "surrogatepass"))
    found = resume.inspect_result(path, spec, config)  # never raises
    assert found.state in ("complete", "stale", "damaged", "foreign")
    if found.state == "complete":
        assert all(math.isfinite(v) for v in found.main_scores().values())
        assert set(found.main_scores()) >= set(spec.eval_splits)
    if damaged != text and found.state == "complete":
        # a change that keeps a valid checksum must have been re-sealed on purpose
        assert integrity.verify(json.loads(damaged)) is None
    try:
        read_result(path)
    except UserError:
        pass
