"""Where result files go: mteb's layout ``OUTPUT_DIR/<model-name>/<revision>/<Task>.json`` with a
``model_meta.json`` beside them (``mteb_meta.py``) and each per-item file in ``items/`` below the
revision folder (``items.py``; mteb's loader never descends there), with names that cannot escape
the output folder. The revision folder is the model's hub commit, else mteb's ``no_revision_available``;
the file's stem is mteb's task name for a single-subset card (``CMedQAv1-reranking``), else the card's.
Folders of older versions (``OUTPUT_DIR/<model-name>/<Task>.json``) are still read."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from ..errors import UserError
from ..tasks.aliases import mteb_name, mteb_subset

MAX_NAME = 120  # bytes of UTF-8: a folder name must fit the file system's 255-byte limit with room to spare
_UNSAFE = re.compile(r"[^\w.-]+")  # \w: letters and digits of every script, and '_'


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def safe_name(name: str) -> str:
    """A folder or file name derived from a model id, path or task name that cannot escape
    the output folder: no separators, never '.', '..', hidden, empty or absolute, at most
    120 bytes. Letters of every script stay readable (a Chinese name stays Chinese); a hub
    id ``org/name`` becomes mteb's ``org__name``. When characters had to be replaced or
    dropped (``my model``) or the name was shortened, a hash of the whole name is appended,
    so two names that differ only there get two folders (``my_model`` and ``my_model-<hash>``)."""
    name = unicodedata.normalize("NFC", str(name)).strip().rstrip("/\\")
    if "/" in name or "\\" in name:
        parts = [p for p in re.split(r"[\\/]+", name) if p]
        # a path: its last one or two parts; a hub id org/name: mteb's org__name
        name = "__".join(parts[-2:]) if len(parts) == 2 else (parts[-1] if parts else "")
    cleaned = _UNSAFE.sub("_", name).strip("._")
    if cleaned and cleaned == name and len(cleaned.encode("utf-8", "surrogatepass")) <= MAX_NAME:
        return cleaned
    tag = "-" + _digest(name)
    stem = cleaned or "model"
    while len((stem + tag).encode("utf-8", "surrogatepass")) > MAX_NAME:
        stem = stem[:-1]
    return stem.rstrip("._-") + tag


NO_REVISION = "no_revision_available"  # mteb's folder for a model without a known revision
_COMMIT = re.compile(r"[0-9a-f]{40}")


def revision_folder(model_info: dict | None) -> str:
    """The revision folder of a model (``describe()``): its hub commit (40 hex digits), else
    ``no_revision_available``. A pipeline of embedder and cross-encoder has no one revision."""
    info = model_info or {}
    if isinstance(info.get("reranker"), dict):
        return NO_REVISION
    for key in ("commit", "revision"):
        value = info.get(key)
        if isinstance(value, str) and _COMMIT.fullmatch(value):
            return value
    return NO_REVISION


def file_task_name(spec) -> str:
    """The task name a result file carries (its stem and ``task_name``): mteb's name when the card is
    one whole mteb task (``CMedQAv1-reranking``), the card's name for one subset of a multilingual
    mteb task (mteb keeps all subsets in one file; ours keep one card each)."""
    return mteb_name(spec) if mteb_subset(spec) == "default" else spec.name


def result_path(output_dir: Path, model_name: str, task_name: str, *parts: str) -> Path:
    """``OUTPUT_DIR/<safe model name>/[parts/]<safe task name>.json``, checked to stay inside OUTPUT_DIR."""
    for name in (task_name, *parts):
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise UserError(f"Refusing to write a result file named {name!r}: task names must be plain ASCII names.",
                            "Rename the task in its card (letters, digits, '-', '_', '.').")
    root = Path(os.path.abspath(output_dir))  # not resolve(): a symlink the user made is theirs to make
    path = root.joinpath(safe_name(model_name), *parts, task_name + ".json")
    if root not in Path(os.path.normpath(path)).parents:
        raise UserError(f"Refusing to write {path}: it is outside the output folder {root}.",
                        "Use a plain --model-name without path separators.")
    return path


def model_folder(output_dir: Path, model_name: str, model_info: dict | None) -> Path:
    """``OUTPUT_DIR/<model-name>/<revision>``: where a model's result files and model_meta.json go."""
    return result_path(output_dir, model_name, "model_meta", revision_folder(model_info)).parent


def result_file(output_dir: Path, model_name: str, spec, model_info: dict | None) -> Path:
    """The result file of ``spec``'s task for this model (``model_info``: its ``describe()``)."""
    return result_path(output_dir, model_name, file_task_name(spec), revision_folder(model_info))
