"""Which result files a path given to the report commands holds, model by model.

A path may be a result file; a folder of result files (one model's revision folder, or a model
folder of an older cmteb-eval, ``<model>/<Task>.json``); a model folder of revision folders
(``<model>/<revision>/<Task>.json``, mteb's layout, ours since issue 13); a folder of model
folders (our ``--output-dir``, mteb's ``results/`` folder); or an mteb cache root or a checkout
of the MTEB results repository (a folder holding ``results/``). ``items/`` and ``experiments/``
folders, hidden files and ``model_meta.json`` are never result files.

When a model has several revision folders, the newest file of each task is used (mteb's
``join_revisions`` order: a real revision over ``no_revision_available``/``external``, then the
higher parsed ``mteb_version``, then the later date), unless ``revision`` names the folder to use;
each choice is stated in the model's notes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from .mteb_meta import META_FILE, read_model_meta

NOT_REVISIONS = ("no_revision_available", "external")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_SKIP_DIRS = {"items", "experiments"}


@dataclass
class ModelFiles:
    name: str
    folder: Path  # the model's folder (or the single revision folder given)
    files: list[Path]
    notes: list[str] = field(default_factory=list)
    folder_name: str | None = None  # the folder's name, when model_meta.json names the model otherwise


def result_files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.glob("*.json") if p.name != META_FILE and not p.name.startswith(".")
                      and p.is_file())
    except OSError:
        return []


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in _SKIP_DIRS and not p.name.startswith("."))


def is_revision_folder(folder: Path) -> bool:
    return folder.name in NOT_REVISIONS or bool(_COMMIT.fullmatch(folder.name)) or (folder / META_FILE).is_file()


def _name(folder: Path, revision_level: bool) -> str:
    return _named(folder, revision_level)[0]


def _named(folder: Path, revision_level: bool) -> tuple[str, list[str]]:
    """The model's name (its model_meta.json's, else its folder's) and the folder's own name when
    model_meta.json names another (``report/scores.py`` notes the two)."""
    folder_name = (folder.parent.name if revision_level else folder.name).replace("__", "/")
    meta = read_model_meta(folder) if revision_level else None
    if not meta:
        return folder_name, []
    return meta["name"], [folder_name] if meta["name"] != folder_name else []


def _version(text) -> tuple:
    parts = re.findall(r"\d+", str(text or "").split("-")[0])
    return tuple(int(p) for p in parts[:3]) if text and re.fullmatch(r"\d+(\.\d+)*(\.?dev\d+)?", str(text)) else ()


def _rank(path: Path, flat: bool = False) -> tuple:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data = data if isinstance(data, dict) else {}
    harness = data.get("harness") if isinstance(data.get("harness"), dict) else {}
    date = data.get("date") if isinstance(data.get("date"), (int, float)) else 0
    return (not flat, path.parent.name not in NOT_REVISIONS, _version(data.get("mteb_version") or harness.get("mteb_format")),
            str(harness.get("finished_at") or ""), date)


def _model_of_revisions(model: Path, revisions: list[Path], revision: str | None) -> ModelFiles:
    if revision is not None:
        chosen = [r for r in revisions if r.name == revision]
        if not chosen:
            raise UserError(f"{model} has no revision folder {revision!r} (it has {', '.join(r.name for r in revisions)}).",
                            "Pass one of those to --revision, or leave --revision out for the newest file per task.")
        revisions = chosen
    by_task: dict[str, list[Path]] = {}
    for folder in revisions:
        for path in result_files(folder):
            by_task.setdefault(path.stem, []).append(path)
    files, notes = [], []
    for task, paths in sorted(by_task.items()):
        ranks = {p: _rank(p, p.parent == model) for p in paths} if len(paths) > 1 else {}
        best = max(paths, key=ranks.__getitem__) if len(paths) > 1 else paths[0]
        ties = [p.parent.name for p in paths if p is not best and ranks[p] == ranks[best]]
        if ties:
            raise UserError(f"{model} has results of {task} in the revision folders {best.parent.name} and "
                            f"{', '.join(ties)}, and nothing says which is newer (the folder names are not commit "
                            f"hashes and the files record no date or version that differs).",
                            "Pass --revision with the folder to read (or remove the older folder).")
        files.append(best)
        if len(paths) > 1:
            others = ", ".join(p.parent.name for p in paths if p is not best)
            notes.append(f"{task}: revision folder {best.parent.name} used (newest; also in {others})")
    used = sorted({p.parent.name for p in files})
    if len(revisions) > 1 and len(used) > 1:
        notes.append(f"files from {len(used)} revision folders: {', '.join(used)}")
    named = next((r for r in revisions if read_model_meta(r)), None)
    name, other = _named(named, True) if named else (model.name.replace("__", "/"), [])
    return ModelFiles(name, model, files, notes, *other)


def _model(folder: Path, revision: str | None) -> ModelFiles | None:
    """One model folder: flat (older cmteb-eval) or of revision folders; None when it holds no results."""
    files = result_files(folder)
    revisions = [d for d in _subdirs(folder) if result_files(d)]
    if files and not revisions:
        return ModelFiles(*_named_files(folder, is_revision_folder(folder), files))
    if files:  # an older version's files beside revision folders: the revision folders' win
        revisions = [folder, *revisions]
    return _model_of_revisions(folder, revisions, revision) if revisions else None


def _named_files(folder: Path, revision_level: bool, files: list[Path]) -> tuple:
    name, other = _named(folder, revision_level)
    return name, folder, files, [], *other


def find_models(path: str | Path, revision: str | None = None) -> list[ModelFiles]:
    """Every model at ``path`` with the result files to read (see the module docstring)."""
    path = Path(path)
    if path.is_file():
        return [ModelFiles(*_named_files(path.parent, is_revision_folder(path.parent), [path]))]
    if not path.is_dir():
        raise UserError(f"Results path {path} does not exist.",
                        "Pass an output folder written by 'cmteb-eval run', one model's folder in it, or a result file.")
    if not result_files(path) and (path / "results").is_dir():
        path = path / "results"  # an mteb cache root, a checkout of the results repository
    if result_files(path):
        return [_model(path, revision)]
    subdirs = _subdirs(path)
    revisions = [d for d in subdirs if is_revision_folder(d) and result_files(d)]
    if revision is not None and not revisions and any(d.name == revision and result_files(d) for d in subdirs):
        revisions = [d for d in subdirs if result_files(d)]  # --revision names one: these are revision folders
    if revisions:  # one model's folder of revision folders
        return [_model_of_revisions(path, revisions, revision)]
    return [m for m in (_model(d, revision) for d in subdirs) if m is not None]
