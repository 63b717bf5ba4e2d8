"""Issue 23, reports: no split stands in for another, a folder's model_meta name that disagrees with its
folder is noted, a legacy file whose only split is NaN is left out with a note, revision folders not
named as commit hashes are read as --revision says (or refused, naming --revision, on a tie).

The files are the public all-MiniLM-L6-v2 folder of the MTEB results repository (tests/data), edited
as the issue's cases say. The oracle is read straight from the JSON files here: the test split's main
score x100, or "-" where the test split is missing or NaN, never the validation score (STSB: test
37.80, validation 46.30).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from cmteb_eval.cli import main

REPO = Path(__file__).parent / "data" / "results_repo" / "results" / "sentence-transformers__all-MiniLM-L6-v2"
REVISION = "8b3219a92973c328a8e22fadcfa821b5dc75636a"


def copy_model(root: Path, folder_name: str = "sentence-transformers__all-MiniLM-L6-v2",
               revision: str = REVISION) -> Path:
    target = root / folder_name / revision
    shutil.copytree(REPO / REVISION, target)
    return target


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, allow_nan=True))


def without_test(data):
    del data["scores"]["test"]


def nan_test(data):
    data["scores"]["test"][0]["main_score"] = math.nan


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def stsb_cell(markdown: str) -> str:
    """The STSB cell of the STS table's model row."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip("|").split("|")]
        if "STSB" in cells:
            row = [c.strip() for c in lines[i + 2].strip("|").split("|")]
            return row[cells.index("STSB")].strip("*")  # the best score of a column is bold
    raise AssertionError("no STSB column:\n" + markdown)


_STSB = json.loads((REPO / REVISION / "STSB.json").read_text())
VALIDATION = f"{100 * _STSB['scores']['validation'][0]['main_score']:.2f}"  # 46.30, never shown for test


@pytest.mark.parametrize("damage", [without_test, nan_test], ids=["missing", "NaN"])
def test_table_and_card_show_a_missing_or_nan_test_split_as_a_dash(tmp_path, capsys, damage):
    folder = copy_model(tmp_path)
    edit(folder / "STSB.json", damage)
    code, out, err = cli(capsys, "table", tmp_path, "--table", "STS")
    assert code == 0 and stsb_cell(out) == "-" and VALIDATION not in out
    assert "STSB: STSB.json has no 'test' score" in err
    code, out, _ = cli(capsys, "card", folder.parent)
    body = out.split("## Evaluation results")[1]
    assert code == 0 and stsb_cell(body) == "-" and VALIDATION not in body and "no 'test' score" in body


@pytest.mark.parametrize("damage", [without_test, nan_test], ids=["missing", "NaN"])
def test_compare_and_the_delta_plot_never_pair_another_split(tmp_path, capsys, damage):
    baseline = copy_model(tmp_path / "a")
    candidate = copy_model(tmp_path / "b")
    edit(candidate / "STSB.json", damage)
    code, out, err = cli(capsys, "compare", baseline.parent, candidate.parent)
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("| STSB")]
    assert rows == [] and "STSB (the candidate has no 'test' score" in out
    [group] = [line for line in out.splitlines() if line.startswith("| STS ")]
    assert [c.strip() for c in group.strip("|").split("|")][1] == "1"  # AFQMC alone
    from cmteb_eval.report.comparison.compare import compare
    from cmteb_eval.report.scores import load_one_model
    from cmteb_eval.tasks.registry import Registry

    registry = Registry.load()
    comparison = compare(load_one_model(baseline.parent, "baseline", registry),
                         load_one_model(candidate.parent, "candidate", registry))
    assert "STSB" not in list(comparison.tasks["Task"])  # what `plot delta` draws


def test_compare_group_rows_leave_out_pairs_they_call_incomparable(tmp_path, capsys):
    baseline = copy_model(tmp_path / "a")
    candidate = copy_model(tmp_path / "b")
    edit(candidate / "T2Reranking.json", lambda d: d.update(dataset_revision="0" * 40))
    code, out, err = cli(capsys, "compare", baseline.parent, candidate.parent)
    assert code == 0, err
    [row] = [line for line in out.splitlines() if line.startswith("| Reranking ")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    others = [line for line in out.splitlines() if line.startswith("| CMedQAv1")]
    [cmedqa] = others
    cmedqa_baseline = [c.strip() for c in cmedqa.strip("|").split("|")][3]
    assert cells[1] == "1" and cells[2] == cmedqa_baseline  # the mean of the comparable pair only
    assert "left out: T2Reranking (cannot be compared)" in row  # the one averaging function's note (issue 27)


def test_a_foreign_folder_whose_model_meta_names_another_model_is_noted(tmp_path, capsys):
    folder = copy_model(tmp_path, "org__other-model")
    code, out, err = cli(capsys, "table", tmp_path, "--table", "STS")
    assert code == 0
    assert "'sentence-transformers/all-MiniLM-L6-v2', but its folder is named 'org/other-model'" in err
    assert folder.is_dir()


def test_a_legacy_file_whose_only_split_is_nan_is_left_out_with_a_note(tmp_path, capsys):
    folder = copy_model(tmp_path)
    (folder / "AFQMC.json").write_text(json.dumps({
        "mteb_dataset_name": "AFQMC", "mteb_version": "1.1.0", "dataset_revision": None,
        "validation": {"cos_sim": {"spearman": math.nan, "pearson": math.nan}, "evaluation_time": 1.0}}))
    code, out, err = cli(capsys, "table", tmp_path, "--table", "STS")
    assert code == 0, err
    assert "AFQMC.json: no split has a finite main score (missing or NaN), left out" in err
    assert stsb_cell(out) == "37.80"


def test_revision_folders_not_named_as_commits_follow_revision(tmp_path, capsys):
    model = tmp_path / "my-model"
    for name, value in (("v1", 0.5), ("v2", 0.25)):
        target = model / name
        target.mkdir(parents=True)
        shutil.copy(REPO / REVISION / "STSB.json", target / "STSB.json")
        edit(target / "STSB.json", lambda d, v=value: d["scores"]["test"][0].update(main_score=v, cosine_spearman=v))
    code, out, err = cli(capsys, "table", model, "--table", "STS", "--revision", "v2")
    assert code == 0, err
    assert stsb_cell(out) == "25.00" and out.count("| my-model") == 1
    code, out, err = cli(capsys, "card", model, "--revision", "v1")
    assert code == 0, err
    assert stsb_cell(out.split("## Evaluation results")[1]) == "50.00"
    # with model_meta.json both are revision folders; nothing says which is newer: refused, naming --revision
    for name in ("v1", "v2"):
        shutil.copy(REPO / REVISION / "model_meta.json", model / name / "model_meta.json")
    code, out, err = cli(capsys, "table", model, "--table", "STS")
    assert code != 0 and "nothing says which is newer" in err and "--revision" in err


def test_a_task_without_a_card_says_which_split_it_shows(tmp_path, capsys):
    folder = copy_model(tmp_path)
    data = json.loads((folder / "STSB.json").read_text())
    data.update(task_name="MyOwnSTS")
    del data["scores"]["test"]
    (folder / "MyOwnSTS.json").write_text(json.dumps(data))
    code, out, err = cli(capsys, "table", tmp_path, "--table", "types")
    assert code == 0, err
    assert "MyOwnSTS: no task card names the split to show; shown: 'validation'" in err
