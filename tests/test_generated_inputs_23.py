"""Generated inputs for issue 23 (hypothesis): models in memory changed module by module between two
calls, two models under one name in one output folder, and result folders with a split removed or
made NaN, read by every report command (table, card, compare, plot delta).

Each property runs twice: a fast subset in the default suite and a wider one marked slow (``-m slow``).
The oracles are computed here, independently of the code under test: the score of a model in memory
is a fresh call on the model as it is now (no output folder, no cache); whether two models are one is
known from how the case built them; the number a report must show for a task is read straight from
the JSON file (the main score of the split the task's card lists first among test/others, x100), or
"-" when that split is missing or NaN. Every case ends worked or refused with a clean error; the
counts of cases and of defects (silent-wrong, stale, lost, tracebacks) are printed at the end.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import tomllib
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import strategies as st

from conftest import write_tiny_bert
from helpers_18 import both, count_reporter

import cmteb_eval
from cmteb_eval.errors import UserError

sentence_transformers = pytest.importorskip("sentence_transformers")
torch = pytest.importorskip("torch")
from sentence_transformers import models as st_models  # noqa: E402

COUNTS: Counter = Counter()
DEFECTS: Counter = Counter()  # silent-wrong, stale, lost, tracebacks: must stay 0
report_counts = count_reporter(COUNTS, "generated inputs (issue 23)")
DEMO = ["DemoSTSEn"]
TASKS_DIR = Path(__file__).resolve().parent.parent / "tasks"
REPO = Path(__file__).parent / "data" / "results_repo" / "results" / "sentence-transformers__all-MiniLM-L6-v2"
REVISION = "8b3219a92973c328a8e22fadcfa821b5dc75636a"
OURS = {"AFQMC": "AFQMC", "CLSClusteringS2S.v2": "CLSClusteringS2S.v2", "CMedQAv1-reranking": "CMedQAv1",
        "STSB": "STSB", "T2Reranking": "T2Reranking"}  # file stem -> the column our tables show


@pytest.fixture(scope="module", autouse=True)
def print_defects(pytestconfig):
    yield
    if COUNTS:
        with pytestconfig.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
            print(f"\nissue 23 defects: silent-wrong {DEFECTS['silent-wrong']}, stale {DEFECTS['stale']}, "
                  f"lost {DEFECTS['lost']}, tracebacks {DEFECTS['tracebacks']}")


def defect(kind: str, message: str):
    DEFECTS[kind] += 1
    raise AssertionError(f"{kind}: {message}")


_BERT: dict = {}


def bert() -> Path:
    if "path" not in _BERT:
        _BERT["path"] = write_tiny_bert(Path(tempfile.mkdtemp(prefix="bert23-")) / "bert", initializer_range=0.3)
    return _BERT["path"]


def build(seed: int = 0):
    transformer = st_models.Transformer(str(bert()), max_seq_length=64)
    torch.manual_seed(seed)  # after loading: the Dense weights depend on the seed alone
    modules = [transformer, st_models.Pooling(32, pooling_mode="mean"), st_models.Dense(32, 16), st_models.Normalize()]
    return sentence_transformers.SentenceTransformer(modules=modules, device="cpu", prompts={"text": "query: the "},
                                                     default_prompt_name="text")


ACTIVATIONS = {"Tanh": torch.nn.Tanh, "Identity": torch.nn.Identity, "ReLU": torch.nn.ReLU, "Sigmoid": torch.nn.Sigmoid}


def mutate(model, change) -> None:
    kind, value = change
    if kind == "pooling":
        model[1].pooling_mode = value
    elif kind == "include_prompt":
        model[1].include_prompt = value
    elif kind == "activation":
        model[2].activation_function = ACTIVATIONS[value]()
    elif kind == "dense weight":
        with torch.no_grad():
            model[2].linear.weight.view(-1)[value[0]] *= value[1]
    elif kind == "max length":
        model.max_seq_length = value
    elif kind == "prompt":
        model.prompts = {**model.prompts, "text": value}  # the default prompt; the others as they were
    elif kind == "lowercase":
        model[0].do_lower_case = value
    else:  # pragma: no cover
        raise ValueError(kind)


changes = st.one_of(
    st.tuples(st.just("pooling"), st.sampled_from(["mean", "cls", "max", "mean_sqrt_len_tokens"])),
    st.tuples(st.just("include_prompt"), st.booleans()),
    st.tuples(st.just("activation"), st.sampled_from(sorted(ACTIVATIONS))),
    st.tuples(st.just("dense weight"), st.tuples(st.integers(0, 32 * 16 - 1), st.sampled_from([0.0, -1.0, 3.0]))),
    st.tuples(st.just("max length"), st.integers(2, 64)),
    st.tuples(st.just("prompt"), st.sampled_from(["", "query: the ", "passage: a cat ", "今天 "])),
    st.tuples(st.just("lowercase"), st.booleans()),
)


def score(results) -> float:
    return results.main_scores()["DemoSTSEn"]["test"]


def guarded(call):
    """Run a call: a UserError is a clean refusal (returned), anything else a traceback (a defect)."""
    try:
        return call(), None
    except UserError as exc:
        return None, exc
    except Exception as exc:  # noqa: BLE001
        defect("tracebacks", f"{type(exc).__name__}: {exc}")


# ------------------------------------------------------------------ in-memory changes per module


def _in_memory(changes_made) -> None:
    COUNTS["in-memory changes"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        out, cache = Path(tmp) / "out", str(Path(tmp) / "cache")
        model = build()
        first, _ = guarded(lambda: cmteb_eval.evaluate(model, tasks=DEMO, output_dir=out, cache_dir=cache))
        first_file = first.tasks[0].path.read_bytes()
        for change in changes_made:
            mutate(model, change)
        again, refused = guarded(lambda: cmteb_eval.evaluate(model, tasks=DEMO, output_dir=out, cache_dir=cache))
        oracle, undefined = guarded(lambda: cmteb_eval.evaluate(model, tasks=DEMO))  # the model as it is now
        if undefined is not None:  # a score the model as it is now does not have (every pair alike): refused
            if refused is None:
                defect("stale", f"{changes_made}: {score(again)} kept where a fresh call refuses: {undefined}")
            return
        expected = score(oracle)
        if refused is not None:
            return
        if score(again) != expected:
            defect("stale", f"{changes_made}: {score(again)} (reused={again.tasks[0].reused}) for fresh {expected}")
        if first.tasks[0].path.read_bytes() != first_file and first.tasks[0].path != again.tasks[0].path:
            defect("lost", f"{changes_made}: the first model's result file changed")
        if not first.tasks[0].path.is_file():
            defect("lost", f"{changes_made}: the first model's result file is gone")


test_in_memory_changes, test_in_memory_changes_wide = both(fast=3, wide=40, changes_made=st.lists(
    changes, min_size=1, max_size=2))(_in_memory)


# ------------------------------------------------------------------ same-name models in one folder


names = st.sampled_from([None, "exp", "other"])


def _same_name(seed_b: int, change, name_a, name_b) -> None:
    COUNTS["same-name models"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        a, b = build(1), build(seed_b)
        if change is not None:
            mutate(b, change)
        same_model = seed_b == 1 and (change is None or _no_op(change))
        first, _ = guarded(lambda: cmteb_eval.evaluate(a, tasks=DEMO, output_dir=out, model_name=name_a))
        before = {p: p.read_bytes() for p in out.rglob("*.json")}
        second, refused = guarded(lambda: cmteb_eval.evaluate(b, tasks=DEMO, output_dir=out, model_name=name_b))
        must_refuse = not same_model and name_b is not None and name_b == name_a
        own, undefined = guarded(lambda: cmteb_eval.evaluate(b, tasks=DEMO))  # the oracle: b on its own
        if refused is not None:
            if not must_refuse and undefined is None:
                defect("silent-wrong", f"refused two models it should keep apart: {refused}")
            if {p: p.read_bytes() for p in out.rglob("*.json")} != before:
                defect("lost", "a refused call changed the folder")
            return
        if must_refuse:
            defect("lost", f"{name_b!r} owned by another model, not refused")
        if own is None or score(second) != score(own):
            defect("silent-wrong", f"the second model's score {score(second)} is not its own")
        if not same_model:
            kept = json.loads(first.tasks[0].path.read_text())["scores"]["test"][0]["main_score"]
            if kept != score(first):
                defect("lost", "the first model's result was overwritten by the second's")


def _no_op(change) -> bool:
    """Whether a change leaves the model as build() made it (the oracle of 'the same model')."""
    kind, value = change
    if kind == "dense weight":
        return value[1] == 1.0
    return value == {"pooling": "mean", "include_prompt": True, "activation": "Tanh", "max length": 64,
                     "prompt": "query: the ", "lowercase": False}[kind]


test_same_name_models, test_same_name_models_wide = both(
    fast=3, wide=40, seed_b=st.sampled_from([1, 2]), change=st.one_of(st.none(), changes), name_a=names,
    name_b=names)(_same_name)


# ------------------------------------------------------------------ split removal and NaN per report command


def card_split(stem: str) -> str | None:
    """The split tables show for the task of the file ``stem``: its card's (read here from the TOML file:
    "test" when evaluated, else the first eval split); None for a task without a card."""
    card = TASKS_DIR / f"{OURS[stem]}.toml"
    if not card.is_file():
        return None
    data = tomllib.loads(card.read_text(encoding="utf-8"))
    splits = data["eval_splits"]
    return data.get("table_split") or ("test" if "test" in splits else splits[0])


def expected_cells(folder: Path) -> dict[str, str]:
    """{column: the cell a report must show}, read straight from the files: '-' where the table split is
    missing or NaN (or the file has no finite score at all)."""
    out = {}
    for path in sorted(folder.glob("*.json")):
        if path.name == "model_meta.json":
            continue
        scores = json.loads(path.read_text())["scores"]
        finite = {s: e[0]["main_score"] for s, e in scores.items()
                  if e and isinstance(e[0].get("main_score"), float) and math.isfinite(e[0]["main_score"])}
        split = card_split(path.stem) or ("test" if "test" in finite else next(iter(finite), None))
        out[OURS[path.stem]] = f"{100 * finite[split]:.2f}" if split in finite else "-"
    return out


def markdown_cells(text: str) -> dict[str, str]:
    """{column: cell} of the first model row of every Markdown table in ``text``."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    cells = {}
    for i, line in enumerate(lines[:-2]):
        if lines[i + 1].startswith("|---"):
            header = [c.strip() for c in line.strip("|").split("|")]
            row = [c.strip().strip("*") for c in lines[i + 2].strip("|").split("|")]
            cells.update({h: c for h, c in zip(header, row) if h not in ("Model", "Avg")})
    return cells


def damage_folder(root: Path, damages) -> Path:
    target = root / "m" / "sentence-transformers__all-MiniLM-L6-v2" / REVISION
    shutil.copytree(REPO / REVISION, target)
    for stem, action, which in damages:
        path = target / f"{stem}.json"
        data = json.loads(path.read_text())
        splits = sorted(data["scores"])
        if not splits:
            continue
        split = splits[which % len(splits)]
        if action == "remove":
            del data["scores"][split]
        else:
            data["scores"][split][0]["main_score"] = math.nan
        path.write_text(json.dumps(data, allow_nan=True))
    return target


damages = st.lists(st.tuples(st.sampled_from(sorted(OURS)), st.sampled_from(["remove", "nan"]), st.integers(0, 1)),
                   min_size=1, max_size=3)


def _reports(command: str, damage) -> None:
    from cmteb_eval.cli import main

    COUNTS[f"splits: {command}"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = damage_folder(root, damage)
        expected = expected_cells(folder)
        if command in ("table", "card"):
            out = root / "out.md"
            args = ["table", str(folder.parent.parent), "--table", "types", "--output", str(out)] \
                if command == "table" else ["card", str(folder.parent), "--output", str(out)]
            code, _ = guarded(lambda: main(args))
            if code != 0:
                return  # refused with a clean error
            shown = markdown_cells(out.read_text().split("## Evaluation results")[-1])
            for column, cell in expected.items():
                if shown.get(column, "-") != cell:
                    defect("silent-wrong", f"{command} {damage}: {column} shows {shown.get(column)!r}, expected {cell}")
            return
        from cmteb_eval.report.comparison.compare import compare, report
        from cmteb_eval.report.scores import load_one_model
        from cmteb_eval.tasks.registry import Registry

        base_root = root / "base"
        baseline_folder = damage_folder(base_root, [])
        registry = Registry.load()
        loaded, refused = guarded(lambda: (load_one_model(baseline_folder.parent, "baseline", registry),
                                           load_one_model(folder.parent, "candidate", registry)))
        if refused is not None:
            return
        comparison = compare(*loaded)
        baseline_cells = expected_cells(baseline_folder)
        rows = {row["Task"]: row for _, row in comparison.tasks.iterrows()}  # what `plot delta` draws too
        for column, cell in expected.items():
            row = rows.get(column)
            if cell == "-":
                if row is not None:
                    defect("silent-wrong", f"{command} {damage}: {column} compared with another split's score")
            elif row is None or f"{row['Candidate']:.2f}" != cell or f"{row['Baseline']:.2f}" != baseline_cells[column]:
                defect("silent-wrong", f"{command} {damage}: {column} row {row} for {cell}")
        if command == "compare":
            text = report(comparison)
            for _, group in comparison.groups.iterrows():
                members = [t for t, r in rows.items() if group["Group"] in ("All tasks", r["Type"])]
                if group["Tasks"] != len(members) or not math.isclose(
                        group["Candidate"], sum(rows[t]["Candidate"] for t in members) / len(members)):
                    defect("silent-wrong", f"compare {damage}: group {group['Group']} averages another set")
            assert "## " in text
        else:
            from cmteb_eval.report.plots import delta_chart

            if rows:
                delta_chart(comparison, root / "delta.png")


test_reports_after_split_damage, test_reports_after_split_damage_wide = both(
    fast=8, wide=120, command=st.sampled_from(["table", "card", "compare", "plot delta"]), damage=damages)(_reports)


# ------------------------------------------------------------------ the issue's rows as fixed examples


@pytest.mark.parametrize("changes_made", [[("pooling", "cls")], [("activation", "Identity")],
                                          [("include_prompt", False)], [("pooling", "max"), ("max length", 8)]],
                         ids=lambda c: "+".join(k for k, _ in c))
def test_in_memory_changes_of_the_issue(changes_made):
    _in_memory(changes_made)


@pytest.mark.parametrize("case", [(2, None, None, None), (2, None, "exp", "exp"), (1, ("pooling", "cls"), "exp", "exp"),
                                  (1, None, "exp", "exp"), (1, ("pooling", "mean"), None, None)])
def test_same_name_models_of_the_issue(case):
    _same_name(*case)


@pytest.mark.parametrize("command, damage", [
    ("table", [("STSB", "remove", 0)]), ("card", [("STSB", "nan", 0)]), ("compare", [("STSB", "remove", 0)]),
    ("plot delta", [("STSB", "nan", 0)]), ("table", [("AFQMC", "nan", 1)]), ("compare", [("T2Reranking", "nan", 0)]),
])
def test_reports_of_the_issue(command, damage):
    _reports(command, damage)
