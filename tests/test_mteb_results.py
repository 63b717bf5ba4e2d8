"""Issue 13: results as the ecosystem has them.

Our output folder loads in mteb 2's ResultCache with its default arguments (the numbers in the
right metric columns); folders of the public MTEB results repository (real files, tests/data/
results_repo/SOURCE.md), legacy mteb 1.x files and mteb-written files load in ours; one
comparability rule; run never moves a file it did not write; the model-card metadata round-trips
through huggingface_hub.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cmteb_eval.cli import main
from cmteb_eval.results.read import read_result
from cmteb_eval.run.runner import run_tasks
from cmteb_eval.tasks.registry import Registry

REPO_FILES = Path(__file__).parent / "data" / "results_repo"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_REPO = REPO_FILES / "results" / "sentence-transformers__all-MiniLM-L6-v2" / \
    "8b3219a92973c328a8e22fadcfa821b5dc75636a"
NR = "no_revision_available"


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _slice(shared: Path, target: Path, n: int = 120) -> Path:
    for task, splits in (("STSB", ("validation", "test")), ("Ocnli", ("validation",))):
        (target / task).mkdir(parents=True)
        for split in splits:
            lines = (shared / "data" / "cmteb" / task / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
            (target / task / f"{split}.jsonl").write_text("\n".join(lines[:n]) + "\n", encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def our_run(tmp_path_factory, shared, minilm):
    """The packaged MiniLM on the first 120 rows of STSB and Ocnli, written to CACHE/results."""
    data = _slice(shared, tmp_path_factory.mktemp("slices"))
    cache = tmp_path_factory.mktemp("cache")
    registry = Registry.load()
    summary = run_tasks(minilm, MINILM, [registry.task("STSB"), registry.task("Ocnli")], [data],
                        cache / "results", log=lambda *_: None)
    assert not summary.failed, [o.error for o in summary.failed]
    return cache, data


def _mteb_frame(cache: Path):
    from mteb.cache import ResultCache

    ResultCache._get_model_name_and_revision_from_path.cache_clear()
    results = ResultCache(cache).load_results(include_remote=False)  # mteb's defaults otherwise
    return results.to_dataframe(aggregation_level="split", format="long")


def test_mteb_loads_our_folder_with_the_right_numbers_in_the_right_columns(our_run):
    pytest.importorskip("mteb")
    cache, _ = our_run
    folder = cache / "results" / "sentence-transformers__all-MiniLM-L6-v2" / NR
    assert sorted(p.name for p in folder.iterdir()) == ["Ocnli.json", "STSB.json", "items", "model_meta.json",
                                                          "run_settings.jsonl"]
    stsb, ocnli = read_result(folder / "STSB.json"), read_result(folder / "Ocnli.json")
    meta = json.loads((folder / "model_meta.json").read_text())
    assert (meta["name"], meta["revision"], meta["experiment_kwargs"]) == (MINILM, NR, None)
    # mteb reads main_score as max_accuracy for Ocnli: it holds max_accuracy; our main metric stays cosine_ap
    entry = ocnli["scores"]["validation"][0]
    assert entry["main_score"] == entry["max_accuracy"] != entry["cosine_ap"]
    assert ocnli["harness"]["main_metric"] == "cosine_ap" and ocnli["harness"]["main_score_metric"] == "max_accuracy"
    assert ocnli["mteb_version"] is None  # mteb did not make the numbers
    frame = _mteb_frame(cache)
    rows = {(r.task_name, r.split): r.score for r in frame.itertuples()}
    assert rows[("STSB", "test")] == pytest.approx(stsb["scores"]["test"][0]["cosine_spearman"], abs=1e-6)
    assert rows[("Ocnli", "validation")] == pytest.approx(entry["max_accuracy"], abs=1e-6)
    # and our own readers read our main metric
    from cmteb_eval.report.scores import load_path

    (model,) = load_path(cache, Registry.load())
    assert model.name == MINILM and model.tasks["Ocnli"].metric == "cosine_ap"
    assert model.tasks["Ocnli"].score == pytest.approx(100 * entry["cosine_ap"])


def test_check_passes_an_mteb_written_baseline_against_our_run(our_run, tmp_path, capsys):
    """mteb rewrites our files (TaskResult.from_disk/to_disk drops the harness block): the same task,
    revision, split and main metric compare, whoever wrote them."""
    mteb = pytest.importorskip("mteb")
    cache, _ = our_run
    ours = cache / "results" / "sentence-transformers__all-MiniLM-L6-v2" / NR
    theirs = tmp_path / "mteb" / "results" / "sentence-transformers__all-MiniLM-L6-v2" / NR
    theirs.mkdir(parents=True)
    for name in ("STSB", "Ocnli"):
        mteb.TaskResult.from_disk(ours / f"{name}.json").to_disk(theirs / f"{name}.json")
        assert "harness" not in json.loads((theirs / f"{name}.json").read_text())
    code, out, err = cli(capsys, "check", "--baseline", tmp_path / "mteb", "--candidate", cache / "results")
    assert code == 0, out + err
    assert "STSB" in out and "Ocnli" in out
    # a different dataset revision in the mteb file: refused, naming it
    data = json.loads((theirs / "STSB.json").read_text())
    data["dataset_revision"] = "0" * 40
    (theirs / "STSB.json").write_text(json.dumps(data))
    code, _, err = cli(capsys, "check", "--baseline", theirs, "--candidate", ours)
    assert code == 2 and "STSB: different dataset revision" in err


def test_run_never_moves_a_file_it_did_not_write(our_run, tmp_path, minilm):
    import mteb

    cache, data = our_run
    ours = cache / "results" / "sentence-transformers__all-MiniLM-L6-v2" / NR / "STSB.json"
    target = tmp_path / "out" / "sentence-transformers__all-MiniLM-L6-v2" / NR / "STSB.json"
    target.parent.mkdir(parents=True)
    mteb.TaskResult.from_disk(ours).to_disk(target)  # an mteb file where ours would go
    before = target.read_bytes()
    summary = run_tasks(minilm, MINILM, [Registry.load().task("STSB")], [data], tmp_path / "out",
                        log=lambda *_: None)
    (outcome,) = summary.outcomes
    assert outcome.error and str(target) in outcome.error and "did not write" in outcome.error
    assert target.read_bytes() == before and sorted(p.name for p in target.parent.iterdir()) == ["STSB.json"]


def test_result_files_get_the_users_umask(tmp_path):
    from cmteb_eval.results.write import write_json_atomic

    old = os.umask(0o027)
    try:
        import cmteb_eval.results.write as W

        W._umask.cache_clear()
        write_json_atomic(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(old)
        W._umask.cache_clear()
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o640


def _repo_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "resrepo"
    shutil.copytree(REPO_FILES, copy)
    return copy


def test_table_shows_the_results_repositorys_published_scores(tmp_path, capsys):
    repo = _repo_copy(tmp_path)
    # an empty file beside them, as in the mirror (a blob that did not download): left out with a note
    (repo / "results" / "sentence-transformers__all-MiniLM-L6-v2" / MINILM_REPO.name / "FloresBitextMining.json"
     ).write_bytes(b"")
    code, out, err = cli(capsys, "table", repo, "--table", "STS", "--table", "Reranking", "--table", "types")
    assert code == 0, err
    assert out.count("### STS (") == 1  # asked for twice: shown once
    lines = {line.split(" | ")[0].lstrip("| "): line for line in out.splitlines() if line.startswith("| ")}
    sts_header = next(line for line in out.splitlines() if line.startswith("| Model | AFQMC"))
    columns = [c.strip() for c in sts_header.strip("|").split("|")]
    bge = [line for line in out.splitlines() if line.startswith("| BAAI/bge-small-zh-v1.5") and "76.73" in line]
    assert bge and columns.index("STSB") == [c.strip().strip("*") for c in bge[0].strip("|").split("|")].index("76.73")
    assert "| CMedQAv1 |" in out.replace("| CMedQAv1 | T2Reranking |", "| CMedQAv1 |")  # mteb's CMedQAv1-reranking
    assert "77.40" in out and "18.19" in out  # bge's legacy CMedQAv1, MiniLM's CMedQAv1-reranking
    assert "CLSClusteringS2S.v2" in out  # another benchmark's task: under its own name
    assert "AFQMC.json: test/default: main_score is NaN" in err and "8.59" in out  # validation kept
    assert "not JSON were left out: FloresBitextMining.json" in err
    assert lines  # the tables have rows
    # one model of the repository by name, and the legacy Ocnli under our main metric (cos_sim.ap)
    code, out, err = cli(capsys, "table", "published:BAAI/bge-small-zh-v1.5", "--results-repo", repo,
                         "--table", "PairClassification")
    assert code == 0, err
    assert "BAAI/bge-small-zh-v1.5 (published)" in out and "64.57" in out


def test_legacy_files_convert_as_mteb_converts_them():
    mteb = pytest.importorskip("mteb")
    from cmteb_eval.results.foreign import convert_legacy

    folder = REPO_FILES / "results" / "BAAI__bge-small-zh-v1.5" / NR
    for name in ("STSB", "Ocnli", "STS22"):
        ours = convert_legacy(json.loads((folder / f"{name}.json").read_text()))
        theirs = mteb.TaskResult.from_disk(folder / f"{name}.json")
        for split, entries in ours["scores"].items():
            for entry in entries:
                (match,) = [e for e in theirs.scores[split] if e["hf_subset"] == entry["hf_subset"]]
                shared_keys = set(entry) & set(match) - {"hf_subset", "main_score"}
                assert shared_keys and all(entry[k] == match[k] for k in shared_keys), (name, split)
                assert set(entry) - {"hf_subset"} <= set(match)


def test_scores_under_other_metadata_are_marked_and_refused(our_run, tmp_path, capsys):
    cache, _ = our_run
    ours = cache / "results" / "sentence-transformers__all-MiniLM-L6-v2" / NR
    # the public STSB file (mteb 1.12.75, the card's revision) and an mteb 2 Ocnli file that holds only
    # max_accuracy: the first compares, the second is another main metric
    other = tmp_path / "other" / "org__model" / NR
    other.mkdir(parents=True)
    shutil.copy(MINILM_REPO / "STSB.json", other / "STSB.json")
    ocnli = read_result(ours / "Ocnli.json")
    del ocnli["harness"]
    for entry in ocnli["scores"]["validation"]:
        del entry["cosine_ap"]
    ocnli["mteb_version"] = "2.26.24"
    (other / "Ocnli.json").write_text(json.dumps(ocnli))
    code, out, err = cli(capsys, "table", ours, other, "--table", "PairClassification", "--table", "STS")
    assert code == 0, err
    assert "†" in out and "Ocnli: different main metric ('cosine_ap', 'max_accuracy')" in err.replace(
        "first column ", "").replace("this one ", "")
    code, _, err = cli(capsys, "check", "--baseline", other, "--candidate", ours, "--tasks", "Ocnli")
    assert code == 2 and "Ocnli: different main metric" in err


def test_card_round_trips_through_huggingface_hub(our_run, tmp_path, capsys):
    import yaml
    from huggingface_hub import ModelCard, metadata_load
    from huggingface_hub.repocard_data import model_index_to_eval_results

    cache, _ = our_run
    target = tmp_path / "README.md"
    code, _, err = cli(capsys, "card", cache / "results", "--model-name", "me/minilm", "--output", target)
    assert code == 0, err
    text = target.read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["model-index"][0]["name"] == "me/minilm" and "mteb" in front["tags"]
    name, results = model_index_to_eval_results(metadata_load(target)["model-index"])
    assert name == "me/minilm"
    stsb = read_result(cache / "results" / "sentence-transformers__all-MiniLM-L6-v2" / NR / "STSB.json")
    spearman = [r for r in results if r.dataset_name == "MTEB STSB" and r.dataset_split == "test"
                and r.metric_type == "cosine_spearman"]
    assert len(spearman) == 1 and spearman[0].metric_value == pytest.approx(
        100 * stsb["scores"]["test"][0]["cosine_spearman"])
    assert spearman[0].dataset_type == "C-MTEB/STSB" and spearman[0].dataset_revision == stsb["dataset_revision"]
    assert ModelCard.load(target).data.eval_results == results  # ModelCardData reads it back the same
    assert "| Model | STSB |" in text  # the Markdown tables
    # the legacy bge folder too: revision "None" where the file records none (as the BGE cards say)
    code, out, _ = cli(capsys, "card", REPO_FILES / "results" / "BAAI__bge-small-zh-v1.5" / NR)
    assert code == 0 and "name: MTEB CMedQAv1-reranking" in out and "revision: None" in out


def test_mteb_main_metric_table_matches_the_installed_mteb():
    mteb = pytest.importorskip("mteb")
    from cmteb_eval.tasks.aliases import mteb_main_metric, mteb_name

    checked = 0
    for spec in Registry.load().tasks.values():
        try:
            task = mteb.get_task(mteb_name(spec))
        except KeyError:
            continue  # a task mteb does not have (T2RerankingZh2En)
        assert mteb_main_metric(spec) == task.metadata.main_score, spec.name
        checked += 1
    assert checked >= 30


@pytest.mark.slow
def test_whole_stsb_and_ocnli_load_in_mteb_and_pass_check_against_the_public_files(tmp_path, shared, capsys):
    """The packaged MiniLM on the whole STSB and Ocnli (minutes on a CPU): mteb's DataFrame holds
    the public file's STSB test score, and check passes it against the public (mteb-written) file."""
    pytest.importorskip("mteb")
    code = main(["run", "--tasks", "STSB,Ocnli", "--data-dir", str(shared / "data" / "cmteb"),
                 "--output-dir", str(tmp_path / "results"), "--no-cache", "--device", "cpu"])
    assert code == 0
    public = read_result(MINILM_REPO / "STSB.json")["scores"]["test"][0]["main_score"]
    rows = {(r.task_name, r.split): r.score for r in _mteb_frame(tmp_path).itertuples()}
    assert rows[("STSB", "test")] == pytest.approx(public, abs=1e-6)
    code, out, err = cli(capsys, "check", "--baseline", MINILM_REPO / "STSB.json", "--candidate",
                         tmp_path / "results", "--tasks", "STSB")
    assert code == 0, out + err


def test_older_flat_folders_and_the_revision_choice(our_run, tmp_path, capsys):
    cache, _ = our_run
    ours = cache / "results" / "sentence-transformers__all-MiniLM-L6-v2" / NR
    old = tmp_path / "old" / "minilm"  # the layout before issue 13: <model>/<Task>.json, items/ beside
    shutil.copytree(ours, old)
    (old / "model_meta.json").unlink()
    code, out, err = cli(capsys, "table", tmp_path / "old", "--table", "STS")
    assert code == 0 and f"| {MINILM} |" in out, err
    # a model with two revision folders: the newest file per task, or the one --revision names
    repo = _repo_copy(tmp_path)
    bge = repo / "results" / "BAAI__bge-small-zh-v1.5"
    code, out, err = cli(capsys, "table", bge, "--table", "Classification", "--table", "STS")
    assert code == 0 and "AmazonReviewsClassification (de)" in out and "files from 2 revision folders" in err
    code, out, err = cli(capsys, "table", bge, "--revision", NR, "--table", "Classification", "--table", "STS")
    assert code == 0 and "AmazonReviewsClassification" not in out and "76.73" in out
