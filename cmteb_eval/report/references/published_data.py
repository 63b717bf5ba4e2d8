"""The published reference data shipped with the package (``report/published_reference.json``): the sources,
the published models' per-task scores (read as ModelScores by ``published.py``) and the rows of the
BGE model card's MTEB, C-MTEB and reranking tables as printed (aggregates only).

``scripts/published_from_results_repo.py`` refreshes a model's entry from the public MTEB results repository.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

from ...errors import UnknownNameError

DATA_FILE = "published_reference.json"


@lru_cache(maxsize=1)
def reference_data() -> dict[str, Any]:
    return json.loads((files("cmteb_eval.report") / DATA_FILE).read_text(encoding="utf-8"))


def source_title(key: str) -> str:
    return reference_data()["sources"][key]["title"]


def card_dimension(model: str) -> int | None:
    """The embedding dimension the model card's tables print for ``model`` (org prefix optional)."""
    for table in reference_data()["model_card_tables"].values():
        name_column, columns = table["columns"][0], table["columns"]
        dimension_column = next((c for c in columns if c in ("Embedding dimension", "Dimension")), None)
        for row in table["rows"] if dimension_column else []:
            if row[name_column].split("/")[-1].lower() == model.split("/")[-1].lower():
                return int(row[dimension_column])
    return None


def card_table(key: str) -> dict[str, Any]:
    """One of the model card's printed tables: ``mteb``, ``cmteb`` or ``reranking``."""
    tables = reference_data()["model_card_tables"]
    if key not in tables:
        raise UnknownNameError(f"No model card table {key!r}.", f"Known: {', '.join(tables)}.")
    return tables[key]
