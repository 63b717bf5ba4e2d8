"""Issue 27: reports a reader can trust at a glance. One test per row of the issue's table: averages
over the benchmark shown with their counts, incomparable tasks in no average, honest labels on files
cmteb-eval did not write, timings of one machine, cards, plots that fit their canvas, the repository
itself. Result files are written by the one writer (results/write.py) or copied from the public
results repository (tests/data/results_repo); no score here is computed by a model."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from cmteb_eval.cli import main
from cmteb_eval.evaluators.base import SplitResult
from cmteb_eval.results import integrity
from cmteb_eval.results.write import write_result
from cmteb_eval.tasks.registry import Registry

REPO = Path(__file__).resolve().parent.parent
RESULTS_REPO = REPO / "tests" / "data" / "results_repo" / "results"
BGE_SMALL = RESULTS_REPO / "BAAI__bge-small-zh-v1.5"


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_run(out: Path, model: str, scores: dict[str, float], items: bool = False, seed: int = 0,
              timing: dict | None = None) -> Path:
    """Result files of ``model`` with the given main scores; ``items``: STS per-pair values whose
    Spearman correlation is the written score (so that compare can test them)."""
    registry = Registry.load()
    rng = np.random.default_rng(seed)
    for task, score in scores.items():
        spec = registry.task(task)
        splits = {}
        for split in spec.eval_splits:
            extra = {}
            value = score
            if items:
                gold = np.arange(40, dtype=float)
                cosine = gold + rng.normal(0, 12, size=40)
                extra = {"gold": gold.tolist(), "cosine": cosine.tolist()}
                value = float(spearmanr(cosine, gold).statistic)
            splits[split] = SplitResult({spec.main_metric: value}, "test data", "test protocol", extra)
        info = {"model": model, "kind": "embedder", "weights_fingerprint": model}
        write_result(out, model, spec, splits, info, 12.0, None, timing)
    return out / model


def cmteb_sts() -> list[str]:
    registry = Registry.load()
    return [t for t in registry.benchmark("cmteb").tasks if registry.task(t).type == "STS"]


# ------------------------------------------------------------------ averages (Required 1)


def test_compare_leaves_an_incomparable_task_out_of_every_average(tmp_path, capsys):
    """Row `compare`: STS22 at another dataset revision was marked "not tested" yet counted in the
    STS and "All tasks" averages."""
    base = shutil.copytree(BGE_SMALL / "no_revision_available", tmp_path / "base" / "no_revision_available")
    cand = shutil.copytree(base, tmp_path / "cand" / "no_revision_available")
    sts22 = json.loads((cand / "STS22.json").read_text())
    sts22["dataset_revision"] = "another-revision"
    sts22["test"]["zh"]["cos_sim"]["spearman"] += 0.2279
    (cand / "STS22.json").write_text(json.dumps(sts22))
    code, out, _ = cli(capsys, "compare", tmp_path / "base", tmp_path / "cand")
    assert code == 0
    sts22_row = next(line for line in out.splitlines() if line.startswith("| STS22 |"))
    assert "+22.79" in sts22_row and "different dataset revision" in sts22_row  # shown, marked
    sts = next(line for line in out.splitlines() if line.startswith("| STS |"))
    every = next(line for line in out.splitlines() if line.startswith("| All tasks |"))
    assert sts.split(" | ")[1:6] == ["1", "76.73", "76.73", "+0.00", "-"]  # STSB alone: STS22 is in no average
    assert every.split(" | ")[1] == "3" and every.split(" | ")[4] == "+0.00"
    assert "Left out of every average (1 task(s), shown above" in out and "STS22 (different dataset revision" in out


@pytest.fixture(scope="module")
def sts_runs(tmp_path_factory):
    """bge-like: every C-MTEB STS task; other: STSB and the English STSBenchmark (another benchmark)."""
    out = tmp_path_factory.mktemp("sts")
    write_run(out, "complete-model", {t: 0.5 + 0.01 * i for i, t in enumerate(cmteb_sts())})
    write_run(out, "other-model", {"STSB": 0.7, "STSBenchmark": 0.8})
    return out


def test_table_type_average_is_over_the_benchmark_with_counts(sts_runs, capsys):
    """Row `table`: a model with every C-MTEB STS task showed "-" because another model had an English task."""
    code, out, _ = cli(capsys, "table", sts_runs, "--table", "STS")
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("| Model |"))
    assert header.endswith("| Avg C-MTEB (8) | Avg MTEB(eng, v1) (10) |")
    complete = next(line for line in out.splitlines() if line.startswith("| complete-model |")).split(" | ")
    expected = np.mean([50 + i for i in range(8)])
    assert complete[-2] == f"**{expected:.2f}**"  # all 8: no count, never "-"; the best complete one: bold
    other = next(line for line in out.splitlines() if line.startswith("| other-model |")).split(" | ")
    assert other[-2] == "70.00 (1/8)" and other[-1].rstrip(" |") == "80.00 (1/10)"  # partial: never bold
    # the C-MTEB table: STS complete for the complete model, with the count for the other
    code, out, _ = cli(capsys, "table", sts_runs, "--table", "cmteb")
    row = next(line for line in out.splitlines() if line.startswith("| complete-model |")).split(" | ")
    assert row[4].strip("*") == f"{expected:.2f}" and row[2] == f"{expected:.2f} (8/35)"


def _figure_texts(monkeypatch):
    """Every text of every figure closed from now on (the plot commands close each figure they save)."""
    import matplotlib.pyplot as plt

    texts, close = [], plt.close

    def capture(fig=None):
        if fig is not None and hasattr(fig, "findobj"):
            from matplotlib.text import Text

            texts.append([t.get_text() for t in fig.findobj(Text)])
        return close(fig)

    monkeypatch.setattr(plt, "close", capture)
    return texts


def test_plot_types_gives_a_complete_model_its_bar(sts_runs, capsys, tmp_path, monkeypatch):
    """Row `plot types`: "n/a" for a model that has every task of the type."""
    texts = _figure_texts(monkeypatch)
    code, _, _ = cli(capsys, "plot", "types", sts_runs / "complete-model", sts_runs / "other-model",
                     "-o", tmp_path / "t.png")
    assert code == 0 and texts
    expected = np.mean([50 + i for i in range(8)])
    assert f"{expected:.1f}" in texts[0]  # complete: the value alone
    assert "70.0\n1/8" in texts[0] and "80.0\n1/10" in texts[0]  # partial: with the count
    assert sum(t == "n/a" for t in texts[0]) == 1  # only the complete model's missing English STS


# ------------------------------------------------------------------ honest labels (Required 2)


def test_reproduce_on_foreign_files_says_it_checks_published_files(capsys):
    """Row `reproduce`: "Ours ... reproduced 4/4" for files cmteb-eval never wrote."""
    code, out, _ = cli(capsys, "reproduce", BGE_SMALL)
    assert code == 0
    assert "Published files checked against published numbers" in out and "not written by cmteb-eval" in out
    assert "Ours" not in out and "reproduced" not in out and "Our harness" not in out
    assert "4 of 4 task split(s) with a published score match it" in out


def test_tables_name_files_cmteb_eval_did_not_write(capsys, tmp_path):
    """`table`'s Source column and the tidy CSV's origin: "not cmteb-eval", never "run", for mteb's files."""
    import pandas as pd

    code, out, _ = cli(capsys, "table", RESULTS_REPO, "--table", "cmteb")
    rows = [line for line in out.splitlines() if line.startswith("| BAAI") or line.startswith("| sentence")]
    assert code == 0 and rows and all(row.endswith("| not cmteb-eval |") for row in rows)
    code, _, _ = cli(capsys, "table", RESULTS_REPO, "--output", tmp_path / "all.csv")
    assert set(pd.read_csv(tmp_path / "all.csv")["origin"]) == {"not cmteb-eval"}


def _on_machine(folder: Path, machine: str) -> None:
    """Rewrite the machine id of every result of ``folder`` (resealed: as if run on another machine)."""
    for path in folder.rglob("*.json"):
        data = json.loads(path.read_text())
        if isinstance(data.get("harness"), dict) and "machine" in data["harness"]:
            data["harness"]["machine"]["id"] = machine
            path.write_text(json.dumps(integrity.seal(data)))


@pytest.fixture(scope="module")
def timed_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("timed")
    timing = {"encode_seconds": 30.0, "scoring_seconds": 1.0, "cache_hits": 0, "texts_encoded": 400,
              "cached": False, "total_seconds": 31.0, "other_seconds": 0.0, "tokens_encoded": 0, "pairs_scored": 0}
    for name, score in (("fast", 0.7), ("slow", 0.75), ("elsewhere", 0.8)):
        write_run(out, name, {"STSB": score, "LCQMC": score - 0.1}, items=True, seed=len(name),
                  timing=dict(timing, encode_seconds=10.0 * len(name)))
    _on_machine(out / "elsewhere", "another-host")
    return out


def test_speed_compares_only_runs_of_cmteb_eval_on_one_machine(timed_runs, capsys, tmp_path):
    """Row `plot speed`: mteb 1.1 and 1.12 times of unknown machines compared as if they were ours."""
    code, out, _ = cli(capsys, "table", timed_runs, "--table", "speed")
    assert code == 0
    assert "| fast |" in out and "| slow |" in out and "| elsewhere |" not in out
    assert "Left out: elsewhere (timed on another machine" in out and "runs by cmteb-eval on one machine" in out
    code, out, _ = cli(capsys, "table", timed_runs, "--table", "speed", "--any-machine")
    assert "| elsewhere |" in out and "NOT comparable" in out
    # the results repository's files: mteb's times, not ours
    code, _, err = cli(capsys, "plot", "speed", RESULTS_REPO, "-o", tmp_path / "s.png")
    assert code == 2 and "not written by cmteb-eval" in err and not (tmp_path / "s.png").exists()


# ------------------------------------------------------------------ card


def test_card_bolds_nothing_for_one_model_and_names_demo_tasks_as_they_are(tmp_path, capsys):
    """Row `card`: every cell bold with one model; demo tasks labelled "MTEB ..."."""
    folder = write_run(tmp_path / "out", "one-model", {"STSB": 0.7, "LCQMC": 0.6, "DemoSTSEn": 0.8})
    code, out, _ = cli(capsys, "card", folder)
    assert code == 0
    assert "**" not in out
    assert "name: MTEB STSB" in out and "name: DemoSTSEn" in out and "MTEB DemoSTSEn" not in out


# ------------------------------------------------------------------ plots that fit (Required 3)


@pytest.mark.parametrize("kind", ["types", "delta", "speed"])
@pytest.mark.parametrize("source", ["ours", "foreign"])
def test_every_text_of_every_plot_is_inside_the_canvas(kind, source, timed_runs, capsys, tmp_path, monkeypatch):
    from cmteb_eval.report import plots

    outside = []
    close = plots._close

    def check(fig):
        outside.append(plots.text_outside(fig))
        close(fig)

    monkeypatch.setattr(plots, "_close", check)
    if source == "ours":
        paths = {"types": [timed_runs, "--published", "BAAI/bge-small-zh-v1.5"],
                 "delta": [timed_runs / "fast", timed_runs / "slow"], "speed": [timed_runs / "fast", timed_runs / "slow"]}
    else:
        paths = {"types": [RESULTS_REPO], "delta": ["published:BAAI/bge-small-zh-v1.5", BGE_SMALL],
                 "speed": [RESULTS_REPO, "--any-machine"]}
    code, _, err = cli(capsys, "plot", kind, *paths[kind], "-o", tmp_path / "p.png")
    if kind == "speed" and source == "foreign":  # mteb 1.1 and 1.12 files share no timed task
        assert code == 2 and "share no task" in err
        return
    assert code == 0, err
    assert outside == [[]]


# ------------------------------------------------------------------ the repository (Required 7)


def test_no_tracked_path_that_windows_cannot_check_out():
    """Row `repository`: a committed `published:nope/` folder (a test's output) at the root."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout (an installed copy): no tracked files to check")
    names = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    bad = [n for n in names.splitlines() if any(c in n for c in ':*?"<>|\\')]
    assert bad == []
    assert not (REPO / "published:nope").exists()


def test_results_readme_describes_the_layout_run_writes(tmp_path):
    text = (REPO / "results" / "README.md").read_text()
    folder = write_run(tmp_path, "BAAI/bge-small-zh-v1.5", {"STSB": 0.7})
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written[0].startswith("BAAI__bge-small-zh-v1.5/no_revision_available/")
    for name in ("model_meta.json", "<org>__<model>/", "<revision>/", "<Task>.json", "items/<Task>.json"):
        assert name in text


def test_compare_output_goes_to_the_file_only(timed_runs, capsys, tmp_path):
    code, out, _ = cli(capsys, "compare", timed_runs / "fast", timed_runs / "slow", "--output", tmp_path / "c.md")
    assert code == 0 and out == f"Wrote {tmp_path / 'c.md'}\n"
    assert "## slow vs baseline fast" in (tmp_path / "c.md").read_text()


def test_setup_script_says_what_it_installs_before_each_install():
    lines = (REPO / "scripts" / "setup.sh").read_text().splitlines()
    installs = [i for i, line in enumerate(lines) if "pip install" in line or "-m venv" in line]
    assert installs
    for i in installs:
        assert lines[i - 1].strip().startswith("say "), lines[i]
    assert "torch" in lines[installs[1] - 1].lower() and "test extras" in lines[installs[2] - 1]


# ------------------------------------------------------------------ the ecosystem's conventions (Required 5)


def test_card_writes_eval_results_files_huggingface_hub_reads_back(tmp_path, capsys):
    """`.eval_results/<task>.yaml` as mteb's push_eval_results writes them, read back by huggingface_hub."""
    import yaml
    from huggingface_hub import parse_eval_result_entries

    folder = write_run(tmp_path / "out", "one-model", {"STSB": 0.7, "LCQMC": 0.6})
    code, out, _ = cli(capsys, "card", folder, "--output", tmp_path / "card" / "README.md")
    assert code == 0 and "Wrote 2 file(s) into" in out
    target = tmp_path / "card" / ".eval_results"
    assert sorted(p.name for p in target.iterdir()) == ["LCQMC.yaml", "STSB.yaml"]
    entries = parse_eval_result_entries(yaml.safe_load((target / "STSB.yaml").read_text()))
    values = {e.task_id: e.value for e in entries}
    # each split's main score x100 (write_run gives every split 0.70), then the task's own: their mean
    assert values == {"STSB_default_validation": 70.0, "STSB_default_test": 70.0, "STSB": 70.0}
    assert {e.dataset_id for e in entries} == {"C-MTEB/STSB"} and all("cmteb-eval" in e.notes for e in entries)
    assert {e.dataset_revision for e in entries} == {Registry.load().task("STSB").dataset.revision}


def test_runs_record_their_settings_as_mteb_does(tmp_path):
    """run_settings.jsonl beside the results, in mteb's format (mteb's own reader expands it)."""
    from mteb.results.task_result import _expand_run_settings_entry, _read_run_settings_from_file

    folder = write_run(tmp_path, "settings-model", {"STSB": 0.7, "LCQMC": 0.6})
    write_run(tmp_path, "settings-model", {"STSB": 0.72})  # run again: its row replaced, not added
    path = next(tmp_path.rglob("run_settings.jsonl"))
    assert path.parent == next(tmp_path.rglob("STSB.json")).parent  # beside the results
    rows = _read_run_settings_from_file(path)
    assert [r["task"] for r in rows] == ["LCQMC", "STSB"]
    scopes = {scope for row in rows for scope, _, _ in _expand_run_settings_entry(row)}
    assert scopes == {("STSB", "validation", "default"), ("STSB", "test", "default"), ("LCQMC", "test", "default")}
    assert rows[0]["version"]["cmteb-eval"] and rows[0]["version"]["torch"] and "machine" in rows[0]


def test_run_saves_ranked_predictions_in_mtebs_prediction_folder_format(tmp_path, tiny_bert, capsys):
    """`run --save-predictions DIR`: DIR/<task>_predictions.json as mteb's prediction_folder holds it; the
    retrieval predictions are the run its score was computed from (scored again here, the same nDCG@10)."""
    from cmteb_eval.data.ranking import load_retrieval
    from cmteb_eval.evaluators import metrics
    from cmteb_eval.results.read import read_result
    from mutation_helpers import write_reranking_task
    from test_cross_encoder import write_tiny_retrieval

    cards = [write_tiny_retrieval(tmp_path), write_reranking_task(tmp_path, "TinyRerank")]
    args = ["run", "--model", tiny_bert, "--pooling", "cls", "--tasks", "Tiny,TinyRerank,DemoSTSEn",
            "--output-dir", tmp_path / "out", "--save-predictions", tmp_path / "pred", "--no-cache"]
    for card in cards:
        args += ["--task-file", card]
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == ["TinyRerank_predictions.json",
                                                                     "Tiny_predictions.json"]
    assert "none saved (STS tasks save no predictions yet)" in out
    saved = json.loads((tmp_path / "pred" / "Tiny_predictions.json").read_text())
    assert saved["mteb_model_meta"]["model_name"] == str(tiny_bert) and list(saved) == ["mteb_model_meta", "default"]
    spec = Registry.load([cards[0]]).task("Tiny")
    scores, _ = metrics.retrieval_metrics(load_retrieval(spec, "test").qrels, saved["default"]["test"])
    result = read_result(next((tmp_path / "out").rglob("Tiny.json")))
    assert scores["ndcg_at_10"] == pytest.approx(result["scores"]["test"][0]["ndcg_at_10"], abs=1e-9)
    rerank = json.loads((tmp_path / "pred" / "TinyRerank_predictions.json").read_text())["default"]["dev"]
    assert len(rerank) == 12 and all(len(candidates) >= 3 for candidates in rerank.values())
