"""compare's paired significance test on Classification (per-example correctness) and Clustering
(per-set V-measure), on result files of real runs of the packaged all-MiniLM-L6-v2 over slices of
Waimai and CLSClusteringS2S: the model, a rerun with another batch size, and a variant cut to 8 tokens.

The items files follow the declared formats (``tasks/items.py``): their statistic recomputes the
main score the result file states, and a rerun of the same model is never called different.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from cmteb_eval.cli import main
from cmteb_eval.models.encoders.embedder import load_embedder
from cmteb_eval.run.runner import run_tasks
from cmteb_eval.tasks.items import item_format
from cmteb_eval.tasks.registry import Registry

from parity_data import clustering_sets, waimai_splits, write_jsonl

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
TASKS = ("Waimai", "CLSClusteringS2S")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, shared, minilm_dir):
    data = tmp_path_factory.mktemp("slices")
    for split, columns in waimai_splits(shared, thin=20).items():  # 480 train, 120 test rows
        write_jsonl(data / "Waimai" / f"{split}.jsonl", columns)
    write_jsonl(data / "CLSClusteringS2S" / "test.jsonl", clustering_sets(shared, thin_tnews=25, thin_shopping=300))
    registry = Registry.load()
    specs = [registry.task(name) for name in TASKS]
    out = tmp_path_factory.mktemp("runs")
    for name, settings in (("minilm", {"batch_size": 64}), ("minilm-rerun", {"batch_size": 7}),
                           ("minilm-maxlen8", {"batch_size": 64, "max_length": 8})):
        summary = run_tasks(load_embedder(minilm_dir, model_name=MODEL, **settings), name, specs, [data], out,
                            log=lambda *_: None)
        assert not summary.failed, [o.error for o in summary.failed]
    return out


def compare_rows(capsys, tmp_path, baseline, candidate) -> dict[str, dict]:
    target = tmp_path / "cmp.json"
    code = main(["compare", str(baseline), str(candidate), "--json", str(target)])
    assert code == 0, capsys.readouterr().err
    return {row["Task"]: row for row in json.loads(target.read_text())[0]["tasks"]}


def test_items_files_follow_their_declared_format(runs):
    for task, type_name in zip(TASKS, ("Classification", "Clustering")):
        fmt = item_format(type_name)
        result = json.loads((runs / "minilm" / "no_revision_available" / f"{task}.json").read_text())
        items = json.loads((runs / "minilm" / "no_revision_available" / "items" / f"{task}.json").read_text())["splits"]["test"]
        values = np.asarray(items[fmt.values], dtype=float)
        assert len(values) == len(items[fmt.identity]) > 0
        stated = result["scores"]["test"][0]["main_score"]
        assert result["harness"]["main_metric"] == ("accuracy" if task == "Waimai" else "v_measure")
        # the format's statistic (a mean) recomputes the main score from the items
        assert values.mean() == pytest.approx(stated, abs=1e-9), task


def test_a_rerun_is_not_called_different(runs, capsys, tmp_path):
    rows = compare_rows(capsys, tmp_path, runs / "minilm", runs / "minilm-rerun")
    for task in TASKS:
        row = rows[task]
        assert row["p"] is not None and "not tested" not in row["Note"], row
        assert row["Significant"] == "no" and abs(row["Delta"]) < 1.0, row


def test_classification_and_clustering_get_a_paired_test(runs, capsys, tmp_path):
    rows = compare_rows(capsys, tmp_path, runs / "minilm", runs / "minilm-maxlen8")
    for task in TASKS:
        row = rows[task]
        assert row["p"] is not None and 0 <= row["p"] <= 1 and "not tested" not in row["Note"], row
        assert row["CI low"] <= row["Delta"] <= row["CI high"], row
