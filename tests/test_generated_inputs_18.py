"""Generated inputs for the families of issue 18 (hypothesis): model names and folder identity,
the files a split is read from, CSV cells, tolerances, result provenance, extreme gold values,
one-class pair data, name lengths, special files, --max-length and --device.

Each property runs twice: a fast subset in the default suite and a wider one marked slow
(``-m slow``). The number of generated cases each family ran is printed at the end of the module.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cmteb_eval import integrity, resume
from cmteb_eval.errors import DataFormatError, DataNotFoundError, UserError
from cmteb_eval.results import MAX_NAME, read_result, safe_name
from cmteb_eval.runner import run_tasks
from cmteb_eval.taskspec import load_card
from helpers_18 import CLASS_ROWS, STS_ROWS, finishes_within, write_card, write_jsonl
from reliability_helpers import HashEmbedder, write_sts_task

COUNTS: Counter = Counter()
FAST, WIDE = 25, 250


def both(fast: int = FAST, wide: int = WIDE, **strategies):
    """Two tests of one property: ``fast`` examples in the default suite, ``wide`` under -m slow."""
    def make(function):
        common = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
        quick = settings(max_examples=fast, **common)(given(**strategies)(function))
        slow = pytest.mark.slow(settings(max_examples=wide, **common)(given(**strategies)(function)))
        return quick, slow
    return make


@pytest.fixture(scope="module", autouse=True)
def report_counts(pytestconfig):
    """Print how many generated cases each family ran (outside pytest's output capture)."""
    yield
    if COUNTS:
        line = ", ".join(f"{family} {n}" for family, n in sorted(COUNTS.items()))
        capture = pytestconfig.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print(f"\ngenerated inputs (issue 18): {sum(COUNTS.values())} cases: {line}")


def quiet(_):
    pass


# ------------------------------------------------------------------ model names and folder identity

plain_names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=160)


def _names(a: str, b: str) -> None:
    COUNTS["model names"] += 1
    for name in (a, b):
        safe = safe_name(name)
        assert safe and safe not in (".", "..") and not safe.startswith(".") and "/" not in safe and "\\" not in safe
        assert len(safe.encode("utf-8")) <= MAX_NAME and safe_name(safe) == safe
        if re.fullmatch(r"[^\W_][\w.-]*", name) and not name.endswith((".", "_")) and \
                len(name.encode("utf-8")) <= MAX_NAME:
            assert safe == name  # readable as given, whatever the script
    normal = [__import__("unicodedata").normalize("NFC", n).strip() for n in (a, b)]
    if normal[0] != normal[1] and not any(c in n for n in normal for c in "/\\"):
        assert safe_name(a) != safe_name(b)  # different names, different folders


test_model_names, test_model_names_wide = both(a=plain_names, b=plain_names)(_names)


class Model(HashEmbedder):
    def __init__(self, model, weights):
        super().__init__()
        self.model, self.weights = model, weights

    def describe(self, task=None):
        return {**super().describe(task), "model": self.model, "weights_fingerprint": self.weights}


identities = st.tuples(st.sampled_from(["/runs/exp1/final", "/runs/exp2/final", "org/name", "org__name"]),
                       st.sampled_from([None, "w1", "w2"]))


def _identity(tmp_path_factory, first, second) -> None:
    COUNTS["folder identity"] += 1
    folder = tmp_path_factory.mktemp("identity")
    spec = load_card(write_sts_task(folder, "Who"))
    run_tasks(Model(*first), "final", [spec], [], folder / "out", log=quiet)
    path = folder / "out" / "final" / "Who.json"
    before = path.read_bytes()
    same = first[0] == second[0] or (first[1] is not None and first[1] == second[1])
    try:
        run_tasks(Model(*second), "final", [spec], [], folder / "out", log=quiet)
    except UserError as exc:
        assert not same and "--model-name" in str(exc)
        assert path.read_bytes() == before  # the other model's result is untouched
        return
    assert same


test_folder_identity, test_folder_identity_wide = both(first=identities, second=identities, fast=20,
                                                      wide=150)(_identity)


# ------------------------------------------------------------------ the files a split is read from

ROLES = {"STS": ["test"], "Classification": ["test", "train"], "Retrieval": ["corpus", "queries", "qrels/test"],
         "Reranking": ["test", "corpus", "queries", "qrels/test", "top_ranked/test"]}


def _rows(role: str, nonce: str) -> list[dict]:
    if role == "corpus":
        rows = [{"id": f"d{i}", "text": f"document {i}"} for i in range(4)]
    elif role == "queries":
        rows = [{"id": f"q{i}", "text": f"query {i}"} for i in range(2)]
    elif role.startswith("qrels"):
        rows = [{"query-id": f"q{i}", "corpus-id": f"d{i}", "score": 1} for i in range(2)]
    elif role.startswith("top_ranked"):
        rows = [{"query-id": f"q{i}", "corpus-ids": ["d0", "d1", "d2", "d3"]} for i in range(2)]
    else:
        rows = None
    return [dict(r, nonce=nonce) for r in rows] if rows is not None else None


def _split_rows(task_type: str, role: str, nonce: str) -> list[dict]:
    if task_type == "Reranking":
        return [{"query": f"q {i}", "positive": ["p"], "negative": ["n", "m"], "nonce": nonce} for i in range(3)]
    if task_type == "Classification":
        return [dict(r, nonce=nonce) for r in CLASS_ROWS]
    return [dict(r, nonce=nonce) for r in STS_ROWS]


@st.composite
def arrangements(draw):
    task_type = draw(st.sampled_from(list(ROLES)))
    folders = []
    for index in range(3):  # local_dir, then two data dirs
        roles = draw(st.sets(st.sampled_from(ROLES[task_type])))
        kind = draw(st.sampled_from(["plain", "plain", "symlinked"]))
        odd = draw(st.sampled_from([None] * 6 + ["fifo", "folder"]))
        folders.append((roles, kind, odd))
    return task_type, folders


def _build(root: Path, task_type: str, folders) -> tuple:
    extra = 'train_split = "train"\n' if task_type == "Classification" else ""
    card = write_card(root, "T", task_type, local_dir="local", dataset_extra=extra)
    places = [root / "local", root / "d1" / "T", root / "d2" / "T"]
    fifos = []
    for index, (place, (roles, kind, odd)) in enumerate(zip(places, folders)):
        target = root / f"real{index}" if kind == "symlinked" else place
        target.mkdir(parents=True, exist_ok=True)
        if kind == "symlinked":
            place.parent.mkdir(parents=True, exist_ok=True)
            place.symlink_to(target, target_is_directory=True)
        for role in sorted(roles):
            rows = _rows(role, f"{index}-{role}") or _split_rows(task_type, role, f"{index}-{role}")
            write_jsonl(target / f"{role}.jsonl", rows)
        if odd and roles:
            victim = target / f"{sorted(roles)[0]}.jsonl"
            victim.unlink()
            if odd == "fifo":
                os.mkfifo(victim)
                fifos.append(victim)
            else:
                victim.mkdir()
    return load_card(card), [root / "d1", root / "d2"], fifos


def _load_all(spec, dirs):
    from cmteb_eval.data import load_split
    from cmteb_eval.evaluators.classification import load_texts_and_labels
    from cmteb_eval.ranking_data import load_reranking, load_retrieval

    splits = ["test"] + (["train"] if spec.type == "Classification" else [])
    for split in splits:
        {"Retrieval": load_retrieval, "Reranking": load_reranking,
         "Classification": load_texts_and_labels}.get(spec.type, load_split)(spec, split, dirs)


def _layouts(tmp_path_factory, arrangement) -> None:
    import cmteb_eval.data as data_module
    import cmteb_eval.ranking_data as ranking_module

    COUNTS["data layouts"] += 1
    task_type, folders = arrangement
    root = tmp_path_factory.mktemp("layout")
    spec, dirs, fifos = _build(root, task_type, folders)
    reads: list[Path] = []
    original = data_module.read_table

    def recording(path):
        reads.append(Path(path))
        return original(path)

    def outcome(function):
        finished, value = finishes_within(function, 20, fifos)
        assert finished, "blocked on a special file"
        if isinstance(value, BaseException) and not isinstance(value, UserError):
            raise value
        return value

    fingerprint = outcome(lambda: resume.data_fingerprint(spec, dirs))
    data_module.read_table, ranking_module.read_table = recording, recording
    try:
        loaded = outcome(lambda: _load_all(spec, dirs))
    finally:
        data_module.read_table, ranking_module.read_table = original, original
    if isinstance(fingerprint, UserError) or isinstance(loaded, UserError):
        # a special file where a data file should be: both refuse it, neither hangs
        assert isinstance(fingerprint, DataFormatError) or isinstance(loaded, (DataFormatError, DataNotFoundError))
        if isinstance(fingerprint, DataFormatError):
            assert "not a regular file" in fingerprint.message
        return
    hashed = set(re.findall(r"[0-9a-f]{64}", json.dumps(fingerprint)))
    assert hashed == {hashlib.sha256(p.read_bytes()).hexdigest() for p in reads}


test_data_layouts, test_data_layouts_wide = both(arrangement=arrangements(), fast=30, wide=300)(_layouts)


# ------------------------------------------------------------------ CSV cells stay what they are

TRICKY = st.sampled_from(["NA", "N/A", "#N/A", "None", "null", "NULL", "nan", "NaN", "-nan", "007", "0x1F", "1e5",
                          "TRUE", "false", "", " ", "  padded  ", "a,b", '"quoted"', "line\nbreak", "\\N", "-"])
cells = st.one_of(TRICKY, st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                                  max_size=12))


def _csv(tmp_path_factory, texts, scores) -> None:
    import csv

    from cmteb_eval.data import numeric_column, read_table

    COUNTS["csv cells"] += 1
    folder = tmp_path_factory.mktemp("csv")
    path = folder / "test.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence1", "score"])
        for text, score in zip(texts, scores):
            writer.writerow([text, score])
    n = min(len(texts), len(scores))
    table = read_table(path)
    assert table["sentence1"] == texts[:n] and table["score"] == scores[:n]
    spec = load_card(write_card(folder, "Csv", "STS"))
    try:
        numbers = numeric_column(table["score"], spec, "score", str(path))
    except DataFormatError:
        assert any(not _finite_number(s) for s in scores[:n])
        return
    assert numbers == [float(s) for s in scores[:n]]


def _finite_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except (ValueError, OverflowError):
        return False


numbers_as_text = st.one_of(st.floats(allow_nan=True).map(repr), st.integers(-10**6, 10**6).map(str), TRICKY)
test_csv_cells, test_csv_cells_wide = both(texts=st.lists(cells, min_size=1, max_size=8),
                                           scores=st.lists(numbers_as_text, min_size=1, max_size=8))(_csv)


# ------------------------------------------------------------------ tolerances: one rule

tolerance_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**30),
                             st.booleans(), st.none(), st.text(max_size=4))


def _tolerance(value) -> None:
    from cmteb_eval.gate import check, check_tolerance
    from cmteb_eval.reproduce import reproduce
    from cmteb_eval.scoreset import ModelScores, TaskScore

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
    return spec, json.loads(path.read_text())


edits = st.lists(st.sampled_from(["drop checksum", "drop harness", "rename harness", "raise score", "reseal",
                                  "drop config"]), max_size=4)


def _provenance(tmp_path_factory, good_result, steps) -> None:
    COUNTS["result provenance"] += 1
    spec, original = good_result
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
        assert found.state == "damaged"  # run sets a foreign file aside; check reads it only as foreign
        if data is not None:
            from cmteb_eval.scoreset import load_model_folder

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
    from cmteb_eval.results import result_path, write_json_atomic

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
    from cmteb_eval.cache import EmbeddingCache

    COUNTS["special files"] += 1
    folder = tmp_path_factory.mktemp("special")
    spec = load_card(write_sts_task(folder, "Sp"))
    if where == "data":
        target = spec.dataset.local_dir / "test.jsonl"
        target.unlink()
    elif where == "result":
        target = folder / "out" / "m" / "Sp.json"
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

    from cmteb_eval.models.settings import MAX_TOKENS_WITHOUT_POSITIONS, fit_max_length, usable_positions

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
    from cmteb_eval.models.runtime import check_device

    COUNTS["devices"] += 1
    try:
        assert check_device(name) == name
    except UserError as exc:
        assert "--device" in exc.message


test_devices, test_devices_wide = both(
    name=st.one_of(st.sampled_from(["cpu", "cuda", "cuda:0", "cuda:1", "cuda:99", "tpu", "mps", "xla", "meta",
                                    "cpu:0", "cuda:-1", "CUDA", "gpu", ""]), st.text(max_size=10)),
    fast=40, wide=300)(_device)
