"""One run loop (issue 22): ``cmteb-eval run`` and ``cmteb_eval.evaluate`` go through the same
``run/runner.run_tasks``, so for the same model and tasks they write the same files, byte for byte
apart from what measures time (and the checksum that seals it)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import cmteb_eval
from cmteb_eval.cli import main
from cmteb_eval.models import progress

DEMO = ["DemoSTSZh", "DemoSTSEn", "DemoPairClassificationZh"]  # the demo benchmark: its data ships
TIMING = ("evaluation_time", "harness.timing", "harness.finished_at", "harness.checksum")


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def without_timing(text: bytes) -> str:
    """The file's text with the timing fields (and the checksum over them) set to null, written back
    exactly as the writer writes (``results/write.py``: indent 2, ensure_ascii False)."""
    payload = json.loads(text)
    for key in TIMING:
        *parents, last = key.split(".")
        block = payload
        for parent in parents:
            block = block.get(parent) or {}
        if last in block:
            block[last] = None
    return json.dumps(payload, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def test_the_cli_and_the_api_write_the_same_files(minilm_dir, tmp_path, capsys, monkeypatch):
    """The packaged all-MiniLM-L6-v2 on the demo tasks: every file (results, per-item files, model_meta.json)
    the same bytes once the timing fields are nulled; and the API returns the scores it wrote."""
    monkeypatch.setattr(progress, "_mode", None)  # as in a fresh process (other tests configure it)
    cli_out, api_out = tmp_path / "cli", tmp_path / "api"
    assert main(["run", "--model", str(minilm_dir), "--model-name", "minilm", "--tasks", *DEMO,
                 "--output-dir", str(cli_out), "--no-cache", "--device", "cpu"]) == 0
    assert progress.current_mode() == "off"  # the command's progress mode ended with it
    capsys.readouterr()
    results = cmteb_eval.evaluate(str(minilm_dir), tasks=DEMO, output_dir=api_out, model_name="minilm", device="cpu")
    assert capsys.readouterr().out == ""  # the API prints nothing of its own accord
    cli, api = files(cli_out), files(api_out)
    assert sorted(cli) == sorted(api) and len(cli) >= 2 * len(DEMO) + 2  # results, items, model_meta.json, run_settings.jsonl
    for name in cli:
        if name.endswith(".jsonl"):  # run_settings.jsonl: library versions, encode options, machine
            assert cli[name] == api[name], name
        elif json.loads(cli[name]).get("harness", {}).get("name") == "cmteb-eval":  # a result file
            assert cli[name] != api[name]  # each run measured its own time ...
            assert without_timing(cli[name]) == without_timing(api[name]), name  # ... and nothing else differs
            assert without_timing(cli[name]).encode() != cli[name]  # the fields nulled were there
        else:
            assert cli[name] == api[name], name
    written = {t.task.name: json.loads(t.path.read_text()) for t in results.tasks}
    assert results.main_scores() == {task: {split: entries[0][payload["harness"]["main_metric"]]
                                            for split, entries in payload["scores"].items()}
                                     for task, payload in written.items()}
    assert all(t.splits and t.timing is not None for t in results.tasks)


def test_the_api_has_no_loop_of_its_own():
    """api.py hands the tasks to run_tasks: no for-loop over tasks, one function (evaluate)."""
    tree = ast.parse((Path(cmteb_eval.__file__).parent / "api.py").read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While))]
    assert [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))] == ["evaluate"]
