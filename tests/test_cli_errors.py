"""Bad command-line input: one paragraph on stderr, exit 2, no traceback; the model is not loaded first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cmteb_eval.cli import main

REPO = Path(__file__).resolve().parent.parent


def test_an_output_dir_that_cannot_be_written(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["run", "--tasks", "DemoSTSEn", "--output-dir", str(blocker / "out")]) == 2
    err = capsys.readouterr().err
    assert f"Result files cannot be written to {blocker / 'out'}" in err and "writable --output-dir" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("flag, value", [("--max-length", "0"), ("--batch-size", "0")])
def test_non_positive_sizes(tmp_path, capsys, flag, value):
    assert main(["run", "--tasks", "DemoSTSEn", flag, value, "--output-dir", str(tmp_path)]) == 2
    assert f"{flag} must be at least 1" in capsys.readouterr().err


def test_a_card_with_an_unknown_main_metric_fails_that_task(tmp_path, tiny_bert, capsys):
    card = tmp_path / "card.toml"
    card.write_text('name = "BadMetric"\ntype = "STS"\nlanguages = ["eng-Latn"]\neval_splits = ["test"]\n'
                    'main_metric = "accuracy"\n[dataset]\nhub_id = "x/y"\nrevision = "r"\n'
                    'local_dir = "data"\n')
    shutil.copytree(REPO / "tasks" / "demo" / "data" / "DemoSTSEn", tmp_path / "data")
    assert main(["run", "--model", str(tiny_bert), "--pooling", "cls", "--task-file", str(card),
                 "--tasks", "BadMetric", "--output-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "main_metric 'accuracy'" in err and "cosine_spearman" in err and "Traceback" not in err
