"""Install paths users take: a built wheel and ``pip install .`` (never ``-e``), run from outside the checkout.

Each test makes a fresh virtual environment whose only package is cmteb-eval; a ``.pth`` file
lets it see the dependencies already installed in the test environment (torch included), so no
multi-GB download happens and ``pip install --no-index`` proves those dependencies satisfy the
package's requirements. The commands then run from a temporary folder, where the checkout's
``tasks/`` cannot be found by accident.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _fresh_env(root: Path) -> Path:
    """A venv without pip whose site-packages also reads the running interpreter's (for the dependencies)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "_cmteb_eval_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _pip_install(python: Path, target: str, *options: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", *options,
                           "--disable-pip-version-check", "-q", target], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CMTEB_EVAL_TASKS_DIR", "PYTHONPATH")}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    return env


def _run(python: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(python.parent / "cmteb-eval"), *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=900)


def _card_count() -> int:
    return sum(1 for p in (REPO / "tasks").rglob("*.toml") if p.name != "benchmarks.toml")


def _check_installed_copy(python: Path, cwd: Path) -> None:
    where = subprocess.run([str(python), "-c", "import cmteb_eval.tasks.registry as r, cmteb_eval as c; "
                            "print(c.__file__); print(r.builtin_tasks_dir())"],
                           cwd=cwd, env=_env(), capture_output=True, text=True, check=True).stdout.split()
    assert not where[0].startswith(str(REPO)), f"imported the checkout, not the installed copy: {where[0]}"
    assert where[1].endswith(os.path.join("cmteb_eval", "task_cards")), where[1]
    listed = _run(python, ["tasks"], cwd)
    assert listed.returncode == 0, listed.stderr
    assert f"\n{_card_count()} task(s)" in listed.stdout, listed.stdout[-300:]
    benchmarks = _run(python, ["tasks", "--benchmarks"], cwd)
    assert benchmarks.returncode == 0 and "cmteb " in benchmarks.stdout and "demo" in benchmarks.stdout


def test_wheel_has_every_card_and_runs_stsb_from_elsewhere(tmp_path, shared):
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "--disable-pip-version-check",
                            "-w", str(dist), str(REPO)], capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("cmteb_eval-*.whl")
    python = _fresh_env(tmp_path / "venv")
    _pip_install(python, str(wheel), "--no-index")  # every dependency is already satisfied
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _check_installed_copy(python, elsewhere)

    done = _run(python, ["run", "--tasks", "STSB", "--data-dir", str(shared / "data" / "cmteb"),
                         "--output-dir", "out", "--offline"], elsewhere)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (result,) = [p for p in (elsewhere / "out").rglob("STSB.json") if p.parent.name != "items"]
    scores = json.loads(result.read_text(encoding="utf-8"))["scores"]
    published = json.loads((shared / "published" / "published_scores.json").read_text(encoding="utf-8"))
    expected = published["models"]["sentence-transformers/all-MiniLM-L6-v2"]["STSB"]
    assert 100 * scores[expected["split"]][0]["main_score"] == pytest.approx(expected["score"], abs=0.05)


def test_pip_install_dot_runs_the_demo_from_elsewhere(tmp_path):
    python = _fresh_env(tmp_path / "venv")
    _pip_install(python, str(REPO))  # the build backend comes from the index, as for a user
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _check_installed_copy(python, elsewhere)
    done = _run(python, ["run", "--output-dir", "out"], elsewhere)  # the demo benchmark, data shipped in the package
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert {p.stem for p in (elsewhere / "out").rglob("Demo*.json") if p.parent.name != "items"} == \
        {"DemoSTSZh", "DemoSTSEn", "DemoPairClassificationZh"}


def test_the_explicit_package_list_names_every_package():
    """pyproject lists packages by hand (a mapped folder cannot be found): a new subpackage must be listed."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "cmteb_eval").rglob("__init__.py")}
    assert on_disk | {"cmteb_eval.task_cards"} == listed
