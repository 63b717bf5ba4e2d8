"""The tracebacks of issue 14, case 7, are each one paragraph with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mutation_helpers import cli
from reliability_helpers import HashEmbedder, write_sts_task

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from cmteb_eval.run.runner import run_tasks
    from cmteb_eval.tasks.card import load_card

    root = tmp_path_factory.mktemp("res")
    spec = load_card(write_sts_task(root / "cards", "Err", n_rows=16))
    run_tasks(HashEmbedder(), "base", [spec], [], root / "out", log=lambda _: None)
    run_tasks(HashEmbedder(dim=8), "cand", [spec], [], root / "out", log=lambda _: None)
    return root / "out"


def assert_clean(code, err, *phrases):
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err and err.count("\n") == 1, err
    for phrase in phrases:
        assert phrase in err, err


def test_a_local_dir_that_is_a_symlink_loop(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    card = tmp_path / "card.toml"
    card.write_text('name = "Loop"\ntype = "STS"\nlanguages = ["eng-Latn"]\neval_splits = ["test"]\n'
                    '[dataset]\nhub_id = "x/y"\nrevision = "r"\nlocal_dir = "loop"\n')
    assert_clean(*cli("run", "--task-file", str(card), "--tasks", "Loop", "--output-dir", str(tmp_path / "o"))[::2],
                 "dataset.local_dir", "Symlink loop")


def test_compare_with_a_negative_seed(results):
    assert_clean(*cli("compare", str(results / "base"), str(results / "cand"), "--seed", "-1")[::2], "--seed")


@pytest.mark.parametrize("command", ["compare", "compare-json", "table", "plot"])
def test_an_output_that_names_a_folder(results, tmp_path, command):
    args = {"compare": ["compare", str(results / "base"), str(results / "cand"), "--output", str(tmp_path)],
            "compare-json": ["compare", str(results / "base"), str(results / "cand"), "--json", str(tmp_path)],
            "table": ["table", str(results), "--output", str(tmp_path)],
            "plot": ["plot", "types", str(results), "-o", str(tmp_path / "x.png")]}[command]
    if command == "plot":
        (tmp_path / "x.png").mkdir()
    assert_clean(*cli(*args)[::2], "it is a folder")


def test_a_table_written_to_a_full_disk(results):
    assert_clean(*cli("table", str(results), "--output", "/dev/full")[::2], "No space left on device")


def test_a_table_printed_to_a_full_disk(results):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "cmteb_eval", "table", str(results)], cwd=REPO, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert_clean(done.returncode, done.stderr, "No space left on device")
