"""Loading a task's split: from a local mirror first, else from the hub at the pinned revision.

Local layout (``--data-dir DIR``, repeatable, searched in order)::

    DIR/<Task>/<split>.jsonl     (or .parquet, .csv), with the hub dataset's column names

A card's ``dataset.local_dir`` (data shipped beside the card) is searched first,
as ``local_dir/<split>.jsonl``; the search itself is ``locate.find_rows``, the one the
data fingerprint uses; the hub is ``hub.py``. Data is returned as ``Columns``
(``dict[column, list]``); evaluators pick a logical column with :func:`column`.
"""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataFormatError
from ..files import open_regular
from ..tasks.card import TaskSpec
from .hub import load_from_hub
from .locate import SUFFIXES, find_rows, search_folders

Columns = dict[str, list[Any]]  # a data file's content: column name -> values

# Column names tried, in order, after the card's own mapping (BEIR's, mteb's and C-MTEB's names);
# last comes the role's own name, so that one card reads both the hub layout (e.g. Ocnli's
# ``sent1``) and a one-pair-per-row mirror that uses the logical names (``sentence1``).
FALLBACK_COLUMNS = {
    "corpus_id": ("id", "_id", "corpus-id"),
    "corpus_text": ("text",),
    "corpus_title": ("title",),
    "query_id": ("id", "_id", "query-id"),
    "query_text": ("text",),
    "qrel_query_id": ("query-id", "qid", "query_id"),
    "qrel_corpus_id": ("corpus-id", "pid", "corpus_id", "doc-id"),
    "qrel_score": ("score", "label", "relevance"),
}


class UntypedTable(dict):
    """A table read from CSV: every value is the cell's text, exactly as written (CSV has no types).

    Evaluators convert the columns they need as numbers (gold scores, labels) explicitly;
    texts and ids stay strings ("NA", "None" and "007" are texts, never NaN or 7).
    """


INTEGER_NUMERAL = re.compile(r"-?(0|[1-9][0-9]*)")


def integer_cells(values: list[Any]) -> list[Any]:
    """A CSV column of labels as integers when every cell is a plain integer numeral ('0', '-3',
    not '007' or '1.0'); otherwise unchanged (string labels)."""
    if values and all(isinstance(v, str) and INTEGER_NUMERAL.fullmatch(v) for v in values):
        return [int(v) for v in values]
    return values


def _decode(raw: bytes, path: Path, line_number: int | None = None) -> str:
    """UTF-8 text of a whole file (``line_number`` None) or of one line; the error names the line."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = line_number if line_number is not None else raw[:exc.start].count(b"\n") + 1
        raise DataFormatError(f"{path}, line {line}: not UTF-8 text ({exc.reason}, byte "
                              f"{raw[exc.start:exc.start + 1].hex()}).", "Re-save the file as UTF-8.") from None


def _read_jsonl(path: Path) -> Columns:
    rows = []
    with open_regular(path) as handle:
        for number, raw in enumerate(handle, 1):
            line = _decode(raw, path, number)
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


def read_table(path: Path) -> Columns:
    """Read one local data file into a column table; malformed files raise DataFormatError.

    Only regular files are opened (a FIFO named as a data file is refused, never waited on).
    CSV cells are read as the strings they are (see UntypedTable)."""
    try:
        if path.suffix == ".jsonl":
            return _read_jsonl(path)
        import pandas as pd

        with open_regular(path) as handle:
            raw = handle.read()
        if path.suffix == ".parquet":
            frame = pd.read_parquet(io.BytesIO(raw))
            return {c: frame[c].tolist() for c in frame.columns}
        text = _decode(raw, path)
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
        return UntypedTable({str(c): frame[c].tolist() for c in frame.columns})
    except DataFormatError:
        raise
    except OSError as exc:
        raise DataFormatError(f"Data file {path} cannot be read: {exc.strerror or exc}.",
                              "Check that it is a readable regular file.") from None
    except Exception as exc:  # pandas/pyarrow parse errors have many types
        raise DataFormatError(f"{path} cannot be read: {exc}.", "Check the file's format.") from None


def tried_rows(spec: TaskSpec, split: str, data_dirs: Sequence[str | Path]) -> list[Path]:
    """Every local path that may hold this task's split, in search order (for messages)."""
    return [folder / f"{split}{suffix}" for folder in search_folders(spec, data_dirs) for suffix in SUFFIXES]


def read_rows(spec: TaskSpec, split: str, path: Path) -> Columns:
    """One split's file as a table; an empty file is an error."""
    table = read_table(path)
    if not table or not next(iter(table.values())):
        raise DataFormatError(f"{path} holds no rows.", f"Task {spec.name} needs data in split {split!r}.")
    return table


def load_split(spec: TaskSpec, split: str, data_dirs: Sequence[str | Path] = ()) -> tuple[Columns, str]:
    """The task's split as a column table, and where it came from (a path or hub id@rev)."""
    found = find_rows(spec, split, data_dirs)
    if found is not None:
        return read_rows(spec, split, found.files["rows"]), str(found.files["rows"])
    tried = tried_rows(spec, split, data_dirs)
    return load_from_hub(spec, split, tried), f"{spec.dataset.hub_id}@{spec.dataset.revision}"


def column(table: Columns, spec: TaskSpec, role: str, source: str, required: bool = True) -> list[Any] | None:
    """The values of a logical column: the card's mapping first, then ``FALLBACK_COLUMNS``, then the
    role's own name; a missing column is an error (None when not ``required``)."""
    for name in (spec.column(role), *FALLBACK_COLUMNS.get(role, ()), role):
        if name in table:
            return table[name]
    if not required:
        return None
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
        except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond float range
            number = math.nan
        if isinstance(value, bool) or not math.isfinite(number):
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            raise DataFormatError(
                f"Task {spec.name}: row {index} of {source} has {role} {shown}, not a finite number "
                f"(a float64 holds magnitudes up to about 1.8e308).",
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
