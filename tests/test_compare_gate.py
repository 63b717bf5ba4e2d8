"""compare, check, reproduce, table and plot on result files made by real runs of the packaged
all-MiniLM-L6-v2 on C-MTEB data: the model itself, a rerun with another batch size (same
model, so no real difference), and a deliberately worse variant (inputs cut to 8 tokens).

The default suite uses the first 200 pairs of STSB validation and test (small); the slow test runs the whole
STSB test (1361 pairs) and Ocnli validation (1847 pairs).
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from cmteb_eval.results import integrity
from cmteb_eval.cli import main
from cmteb_eval.models.encoders.embedder import load_embedder
from cmteb_eval.tasks.registry import Registry
from cmteb_eval.run.runner import run_tasks

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def run_variants(minilm_dir, out: Path, task_names, data_dirs) -> dict[str, Path]:
    registry = Registry.load()
    specs = [registry.task(name) for name in task_names]
    folders = {}
    for name, settings in (("minilm", {"batch_size": 64}), ("minilm-rerun", {"batch_size": 7}),
                           ("minilm-maxlen8", {"batch_size": 64, "max_length": 8})):
        embedder = load_embedder(minilm_dir, model_name=MODEL, **settings)
        summary = run_tasks(embedder, name, specs, data_dirs, out, log=lambda *_: None)
        assert not summary.failed, [o.error for o in summary.failed]
        folders[name] = out / name / "no_revision_available"  # mteb's folder of a model without a hub revision
    return folders


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory, shared, minilm_dir):
    """The first 200 pairs of STSB test, run three ways."""
    data = tmp_path_factory.mktemp("stsb200")
    (data / "STSB").mkdir()
    for split in ("validation", "test"):  # the card evaluates both
        lines = (shared / "data" / "cmteb" / "STSB" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()[:200]
        (data / "STSB" / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run_variants(minilm_dir, tmp_path_factory.mktemp("runs"), ["STSB"], [data])


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def compare_json(capsys, tmp_path, baseline, candidate):
    target = tmp_path / "cmp.json"
    code, out, err = cli(capsys, "compare", baseline, candidate, "--json", target)
    assert code == 0, err
    return json.loads(target.read_text())[0], out


def steiger_p(gold, a, b) -> float:
    """An independent, analytic check: Steiger's (1980) Z test for two dependent correlations
    sharing one variable, applied to ranks (Spearman = Pearson of ranks)."""
    g, x, y = (stats.rankdata(v) for v in (gold, a, b))
    r1, r2, r12 = np.corrcoef(g, x)[0, 1], np.corrcoef(g, y)[0, 1], np.corrcoef(x, y)[0, 1]
    n = len(g)
    rm2 = (r1 ** 2 + r2 ** 2) / 2
    f = min((1 - r12) / (2 * (1 - rm2)), 1.0)
    h = (1 - f * rm2) / (1 - rm2)
    z = (np.arctanh(r1) - np.arctanh(r2)) * np.sqrt((n - 3) / (2 * (1 - r12) * h))
    return float(2 * stats.norm.sf(abs(z)))


def test_a_rerun_of_the_same_model_differs_in_nothing(small_runs, capsys, tmp_path):
    result, out = compare_json(capsys, tmp_path, small_runs["minilm"], small_runs["minilm-rerun"])
    (row,) = result["tasks"]
    # another batch size pads differently: float noise of a few hundredths of a point, never significant
    assert row["Task"] == "STSB" and abs(row["Delta"]) < 0.2
    assert row["Significant"] == "no" and row["p"] > 0.05
    assert all(g["Significant"] == "no" for g in result["groups"])
    code, out, _ = cli(capsys, "check", "--baseline", small_runs["minilm"], "--candidate", small_runs["minilm-rerun"])
    assert code == 0 and "PASS" in out


def test_the_truncated_variant_is_found_worse(small_runs, capsys, tmp_path):
    result, out = compare_json(capsys, tmp_path, small_runs["minilm"], small_runs["minilm-maxlen8"])
    (row,) = result["tasks"]
    assert row["Delta"] < 0 and row["Significant"] == "yes" and row["p"] < 0.01
    assert row["CI low"] < row["Delta"] < row["CI high"] < 0
    # the data really support it: an analytic test on the same items agrees
    items = [json.loads((small_runs[n] / "items" / "STSB.json").read_text())["splits"]["test"]
             for n in ("minilm", "minilm-maxlen8")]
    assert steiger_p(items[0]["gold"], items[0]["cosine"], items[1]["cosine"]) < 0.01
    assert "| STSB | STS | test |" in out
    code, out, _ = cli(capsys, "check", "--baseline", small_runs["minilm"], "--candidate", small_runs["minilm-maxlen8"])
    assert code == 1 and "FAIL: 2 regression(s)" in out and "STSB (test)" in out and "STSB (validation)" in out
    # a generous per-task tolerance lets it pass
    tolerances = tmp_path / "tol.json"
    tolerances.write_text(json.dumps({"default": 0.5, "STSB": 100}))
    code, _, _ = cli(capsys, "check", "--baseline", small_runs["minilm"], "--candidate", small_runs["minilm-maxlen8"],
                     "--tolerance-file", tolerances)
    assert code == 0


def test_published_reference_is_compared_without_a_test(small_runs, capsys, tmp_path):
    result, _ = compare_json(capsys, tmp_path, f"published:{MODEL}", small_runs["minilm"])
    (row,) = result["tasks"]
    assert row["p"] is None and "no per-item scores (published reference)" in row["Note"]


def test_check_rejects_incomparable_input(small_runs, capsys, tmp_path):
    base = small_runs["minilm"]
    # a task missing on the candidate side
    code, _, err = cli(capsys, "check", "--baseline", base, "--candidate", small_runs["minilm-rerun"],
                       "--tasks", "STSB", "Ocnli")
    assert code == 2 and "no result for: Ocnli" in err
    # a different dataset revision, and a different protocol
    for field, value, message in (("dataset_revision", "0" * 40, "different dataset revision"),
                                  ("protocol", "something else", "different protocol")):
        other = tmp_path / field
        shutil.copytree(small_runs["minilm-rerun"], other)
        data = json.loads((other / "STSB.json").read_text())
        if field == "protocol":
            data["harness"]["protocol"] = value
        else:
            data[field] = value
        # a legitimately different run: sealed with its own checksum (an unsealed edit is refused as damaged)
        (other / "STSB.json").write_text(json.dumps(integrity.seal(data)))
        code, _, err = cli(capsys, "check", "--baseline", base, "--candidate", other)
        assert code == 2 and message in err, err
    # an unreadable result file
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "STSB.json").write_text("{not json")
    code, _, err = cli(capsys, "check", "--baseline", base, "--candidate", broken)
    assert code == 2 and "cannot be read" in err
    # a path that does not exist, and an output folder holding several models
    code, _, err = cli(capsys, "check", "--baseline", base, "--candidate", tmp_path / "nope")
    assert code == 2 and "does not exist" in err
    code, _, err = cli(capsys, "check", "--baseline", base.parent.parent, "--candidate", base)
    assert code == 2 and "holds results of 3 models" in err


def test_table_reproduce_and_plots(small_runs, capsys, tmp_path):
    root = small_runs["minilm"].parent.parent
    code, out, _ = cli(capsys, "table", root, "--table", "STS", "--sort", "Avg")
    assert code == 0 and out.splitlines()[2] == "| Model | STSB | Avg |"
    names = [line.split(" | ")[0][2:] for line in out.splitlines()[4:7]]
    assert names[-1] == "minilm-maxlen8"  # sorted by Avg, the truncated model last
    code, out, _ = cli(capsys, "table", root, "--format", "html", "--output", tmp_path / "t.html")
    assert code == 0 and (tmp_path / "t.html").read_text().startswith("<!DOCTYPE html>")
    # 200 pairs are not the published test set: reproduce reports a difference, exit 1
    code, out, _ = cli(capsys, "reproduce", small_runs["minilm"], "--reference", MODEL)
    assert code == 1 and "DIFFERENT" in out and "| STSB | test |" in out
    for kind, args in (("types", [small_runs["minilm"], small_runs["minilm-maxlen8"], "--published", MODEL]),
                       ("delta", [small_runs["minilm"], small_runs["minilm-maxlen8"]]),
                       ("speed", [small_runs["minilm"], small_runs["minilm-maxlen8"]])):
        target = tmp_path / f"{kind}.png"
        code, out, err = cli(capsys, "plot", kind, *args, "-o", target)
        assert code == 0, err
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 10_000
    code, _, err = cli(capsys, "plot", "types", small_runs["minilm"], "-o", tmp_path / "x.bmp")
    assert code == 2 and "image format" in err


@pytest.mark.slow
def test_whole_files_compare_and_gate(tmp_path_factory, shared, minilm_dir, capsys, tmp_path):
    """STSB test (1361 pairs) and Ocnli validation (1847 pairs), whole: the published STSB score is
    reproduced, the rerun differs in nothing, the truncated variant is significantly worse on STSB."""
    runs = run_variants(minilm_dir, tmp_path_factory.mktemp("whole"), ["STSB", "Ocnli"],
                        [shared / "data" / "cmteb"])
    code, out, _ = cli(capsys, "reproduce", runs["minilm"], "--reference", MODEL)
    assert code == 0 and "| STSB | test |" in out and "reproduced" in out
    same, _ = compare_json(capsys, tmp_path, runs["minilm"], runs["minilm-rerun"])
    assert [r["Significant"] for r in same["tasks"]] == ["no", "no"]
    assert all(abs(r["Delta"]) < 0.2 for r in same["tasks"])
    worse, out = compare_json(capsys, tmp_path, runs["minilm"], runs["minilm-maxlen8"])
    rows = {r["Task"]: r for r in worse["tasks"]}
    assert rows["STSB"]["Significant"] == "yes" and rows["STSB"]["Delta"] < -5
    items = [json.loads((runs[n] / "items" / "STSB.json").read_text())["splits"]["test"]
             for n in ("minilm", "minilm-maxlen8")]
    assert steiger_p(items[0]["gold"], items[0]["cosine"], items[1]["cosine"]) < 0.01
    assert rows["Ocnli"]["CI low"] < rows["Ocnli"]["Delta"] < rows["Ocnli"]["CI high"]
    code, out, _ = cli(capsys, "check", "--baseline", runs["minilm"], "--candidate", runs["minilm-maxlen8"])
    assert code == 1 and "STSB (test)" in out
    code, _, _ = cli(capsys, "check", "--baseline", runs["minilm"], "--candidate", runs["minilm-rerun"])
    assert code == 0
