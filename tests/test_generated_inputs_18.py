"""Generated inputs for issue 18 (hypothesis), part 1: model names and folder identity, the files
a split is read from against the data fingerprint, CSV cells. Part 2 is test_generated_inputs_18_checks.py.

Each property runs twice: a fast subset in the default suite and a wider one marked slow
(``-m slow``). The number of generated cases each family ran is printed at the end of the module.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import unicodedata
from collections import Counter
from pathlib import Path

from hypothesis import strategies as st

from cmteb_eval.run import config
from cmteb_eval.errors import DataFormatError, DataNotFoundError, UserError
from cmteb_eval.results.naming import MAX_NAME, safe_name
from cmteb_eval.run.runner import run_tasks
from cmteb_eval.tasks.card import load_card
from helpers_18 import CLASS_ROWS, STS_ROWS, both, count_reporter, finishes_within, quiet, write_card, write_jsonl
from reliability_helpers import HashEmbedder, write_sts_task

COUNTS: Counter = Counter()
report_counts = count_reporter(COUNTS, "generated inputs (issue 18, part 1)")


# ------------------------------------------------------------------ model names and folder identity

plain_names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=160)


def _names(a: str, b: str) -> None:
    COUNTS["model names"] += 1
    for name in (a, b):
        safe = safe_name(name)
        assert safe and safe not in (".", "..") and not safe.startswith(".") and "/" not in safe and "\\" not in safe
        assert len(safe.encode("utf-8")) <= MAX_NAME and safe_name(safe) == safe
        normal = unicodedata.normalize("NFC", name)  # canonically equal spellings share one folder
        if re.fullmatch(r"[^\W_][\w.-]*", normal) and not normal.endswith((".", "_")) and \
                len(normal.encode("utf-8")) <= MAX_NAME:
            assert safe == normal  # readable as given, whatever the script
    normal = [unicodedata.normalize("NFC", n).strip() for n in (a, b)]
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
    path = folder / "out" / "final" / "no_revision_available" / "Who.json"
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
    from cmteb_eval.data.tables import load_split
    from cmteb_eval.evaluators.classification import load_texts_and_labels
    from cmteb_eval.data.ranking import load_reranking, load_retrieval

    splits = ["test"] + (["train"] if spec.type == "Classification" else [])
    for split in splits:
        {"Retrieval": load_retrieval, "Reranking": load_reranking,
         "Classification": load_texts_and_labels}.get(spec.type, load_split)(spec, split, dirs)


def _layouts(tmp_path_factory, arrangement) -> None:
    import cmteb_eval.data.tables as data_module
    import cmteb_eval.data.ranking as ranking_module

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

    fingerprint = outcome(lambda: config.data_fingerprint(spec, dirs))
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

    from cmteb_eval.data.tables import numeric_column, read_table

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
