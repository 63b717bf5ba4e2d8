"""Loading a task's split: from a local mirror first, else from the hub at the pinned revision.

Local layout (``--data-dir DIR``, repeatable, searched in order)::

    DIR/<Task>/<split>.jsonl     (or .parquet, .csv), with the hub dataset's column names

A card's ``dataset.local_dir`` (data shipped beside the card) is searched first,
as ``local_dir/<split>.jsonl``. Data is returned as a column table
(``dict[column, list]``); evaluators pick columns with :func:`column`.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

from .errors import DataFormatError, DataNotFoundError
from .taskspec import TaskSpec

Table = dict[str, list[Any]]
SUFFIXES = (".jsonl", ".parquet", ".csv")


def offline_mode() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false") or \
        os.environ.get("HF_DATASETS_OFFLINE", "0") not in ("0", "", "false")


def read_table(path: Path) -> Table:
    """Read one local data file into a column table; malformed files raise DataFormatError."""
    try:
        if path.suffix == ".jsonl":
            rows = []
            with path.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise DataFormatError(f"{path}, line {number}: not valid JSON ({exc.msg}).",
                                              "Each line must be one JSON object.") from None
                    if not isinstance(row, dict):
                        raise DataFormatError(f"{path}, line {number}: not a JSON object.",
                                              "Each line must be one JSON object.")
                    rows.append(row)
            columns: list[str] = []
            for row in rows:
                columns.extend(k for k in row if k not in columns)
            return {c: [row.get(c) for row in rows] for c in columns}
        import pandas as pd

        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        return {c: frame[c].tolist() for c in frame.columns}
    except DataFormatError:
        raise
    except UnicodeDecodeError:
        raise DataFormatError(f"{path} is not UTF-8 text.", "Re-save it as UTF-8.") from None
    except Exception as exc:  # pandas/pyarrow parse errors have many types
        raise DataFormatError(f"{path} cannot be read: {exc}.", "Check the file's format.") from None


def local_candidates(spec: TaskSpec, split: str, data_dirs: Sequence[str | Path],
                     stem: str | None = None) -> list[Path]:
    """Every local path that may hold this task's split, in search order."""
    stem = stem or split
    folders = []
    if spec.dataset.local_dir is not None:
        folders.append(spec.dataset.local_dir)
    folders.extend(Path(d) / spec.name for d in data_dirs)
    return [folder / f"{stem}{suffix}" for folder in folders for suffix in SUFFIXES]


def load_split(spec: TaskSpec, split: str, data_dirs: Sequence[str | Path] = ()) -> tuple[Table, str]:
    """The task's split as a column table, and where it came from (a path or hub id@rev)."""
    tried = local_candidates(spec, split, data_dirs)
    for path in tried:
        if path.exists():
            table = read_table(path)
            if not table or not next(iter(table.values())):
                raise DataFormatError(f"{path} holds no rows.", f"Task {spec.name} needs data in split {split!r}.")
            return table, str(path)
    return load_from_hub(spec, split, tried), f"{spec.dataset.hub_id}@{spec.dataset.revision}"


def load_from_hub(spec: TaskSpec, split: str, tried: list[Path], hub_id: str | None = None,
                  revision: str | None = None, subset: str | None = None) -> Table:
    hub_id = hub_id or spec.dataset.hub_id
    revision = revision or spec.dataset.revision
    subset = subset if subset is not None else spec.dataset.subset
    where = "\n  ".join(str(p) for p in tried) or "(no --data-dir given)"
    hint = (f"Put the split at one of the local paths above (see README, 'Offline data'), "
            f"pass --data-dir, or run with hub access to download {hub_id}@{revision}.")
    if spec.dataset.local_dir is not None and spec.dataset.hub_id.startswith("cmteb-eval/"):
        raise DataNotFoundError(f"Task {spec.name}: no data for split {split!r}. Tried:\n  {where}", hint)
    if offline_mode():
        raise DataNotFoundError(
            f"Task {spec.name}: split {split!r} not found locally and the hub is off (HF_HUB_OFFLINE or "
            f"HF_DATASETS_OFFLINE is set). Tried:\n  {where}", hint)
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "20")
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "60")
    try:
        import datasets

        data = datasets.load_dataset(hub_id, subset, revision=revision, split=split)
    except Exception as exc:
        raise DataNotFoundError(
            f"Task {spec.name}: split {split!r} not found locally, and loading {hub_id}@{revision} "
            f"from the hub failed ({type(exc).__name__}: {str(exc)[:300]}). Tried:\n  {where}", hint) from None
    return data.to_dict()


def column(table: Table, spec: TaskSpec, role: str, source: str) -> list[Any]:
    """The values of a logical column; the card's mapping first, then the role's own name.

    The fallback lets one card read both the hub layout (e.g. Ocnli's ``sent1``)
    and a one-pair-per-row mirror that uses the logical names (``sentence1``).
    """
    for name in (spec.column(role), role):
        if name in table:
            return table[name]
    raise DataFormatError(
        f"Task {spec.name}: column {spec.column(role)!r} (role '{role}') is missing in {source}; "
        f"it has {sorted(table)}.",
        f"Rename the column, or map it in the task card under [columns] {role} = \"...\".")


def numeric_column(values: list[Any], spec: TaskSpec, role: str, source: str) -> list[float]:
    """Convert gold scores or labels to floats; NaN, None and non-numbers are errors."""
    out = []
    for index, value in enumerate(values):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(value, bool) or not math.isfinite(number):
            raise DataFormatError(
                f"Task {spec.name}: row {index} of {source} has {role} {value!r}, not a finite number.",
                "Fix or drop that row.")
        out.append(number)
    return out


def text_column(values: list[Any], spec: TaskSpec, role: str, source: str) -> list[str]:
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise DataFormatError(
                f"Task {spec.name}: row {index} of {source} has {role} {value!r}, not a string.",
                "Fix or drop that row.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (\\udXXX in JSON): tokenizers cannot take it
            raise DataFormatError(
                f"Task {spec.name}: row {index} of {source} has {role} {value!r}, which is not valid Unicode "
                f"(a lone surrogate).", "Fix the text's encoding or drop that row.") from None
    return values
