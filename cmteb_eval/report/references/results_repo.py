"""``published:ORG/MODEL`` with ``--results-repo PATH``: a model's folder in a checkout of the MTEB
results repository (``PATH/results/ORG__MODEL/``, or ``PATH/ORG__MODEL/`` when PATH is its
``results/`` folder), read like any results folder (``scores.load_path``) and labelled published."""

from __future__ import annotations

from pathlib import Path

from ...errors import UnknownNameError, UserError, close_matches
from ..scores import ModelScores, load_one_model

PUBLISHED_PREFIX = "published:"  # as report/references/published.py spells it


def _results_folder(repo: Path) -> Path:
    if (repo / "results").is_dir():
        return repo / "results"
    if repo.is_dir():
        return repo
    raise UserError(f"--results-repo {repo} does not exist.",
                    "Pass a checkout of https://github.com/embeddings-benchmark/results (or its results/ folder).")


def repo_model(repo: str | Path, name: str, registry=None, revision: str | None = None) -> ModelScores:
    """The model ``name`` (``org/model``; ``published:`` prefix allowed) of the results repository at ``repo``."""
    name = name.removeprefix(PUBLISHED_PREFIX)
    root = _results_folder(Path(repo))
    folder = root / name.replace("/", "__").replace(" ", "_")
    if not folder.is_dir():
        known = sorted(p.name.replace("__", "/") for p in root.iterdir() if p.is_dir())
        hint = close_matches(name, known)
        raise UnknownNameError(f"The results repository {root} has no model {name!r}.",
                               hint or f"It has {len(known)} model folders; pass one as published:ORG/MODEL.")
    model = load_one_model(folder, "published", registry, revision)
    model.origin, model.source = "published", f"MTEB results repository {folder}"
    for entry in model.tasks.values():
        entry.origin = "published"
    return model
