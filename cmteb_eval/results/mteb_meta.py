"""mteb's ``model_meta.json``: written once into each revision folder a run writes, read back to name
the model of a foreign (mteb or results-repository) folder.

mteb's ``ResultCache.load_results`` uses a revision folder only when it holds this file, and reads
only ``name`` and ``revision`` from it; ``experiment_kwargs`` must stay null (mteb hides the results
of an "experiment" by default). The other keys are mteb's ``ModelMeta.to_dict()`` shape, null where
we do not know the value. Our settings stay in each result's ``harness`` block. A model_meta.json
already there (ours or mteb's) is never replaced.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

META_FILE = "model_meta.json"


def model_meta(model_name: str, revision: str, model_info: dict[str, Any] | None, spec=None) -> dict[str, Any]:
    info = model_info or {}
    cross = info.get("kind") == "cross-encoder"
    return {
        "loader_kwargs": {}, "name": model_name, "revision": revision, "release_date": None,
        "languages": list(spec.languages) if spec is not None else None, "n_parameters": None,
        "n_active_parameters_override": None, "n_embedding_parameters": None, "memory_usage_mb": None,
        "max_tokens": info.get("max_length"), "embed_dim": info.get("embedding_dimension"), "license": None,
        "open_weights": None, "public_training_code": None, "public_training_data": None, "framework": ["PyTorch"],
        "reference": None, "similarity_fn_name": None if cross else "cosine",
        "use_instructions": bool(info.get("query_instruction")) and bool(info.get("instructions_enabled", True)),
        "training_datasets": None, "adapted_from": None, "superseded_by": None, "modalities": ["text"],
        "model_type": ["cross-encoder" if cross else "dense"], "citation": None, "contacts": None,
        "experiment_kwargs": None, "output_dtypes": None, "extra_requirements_groups": None, "loader": None,
    }


def write_model_meta(folder: Path, model_name: str, model_info: dict[str, Any] | None, spec,
                     write: Callable[[Path, dict[str, Any]], None]) -> Path:
    """``folder/model_meta.json`` unless one is there (``write``: the atomic JSON writer)."""
    path = folder / META_FILE
    if not path.exists():
        write(path, model_meta(model_name, folder.name, model_info, spec))
    return path


def read_model_meta(folder: Path) -> dict[str, Any] | None:
    """The model_meta.json of a revision folder (None: none, or not a JSON object with a name)."""
    try:
        data = json.loads((Path(folder) / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("name"), str) else None
