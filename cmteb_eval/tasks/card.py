"""Typed, validated task specifications read from declarative TOML cards.

A card is one file per task (see ``tasks/`` and README "Adding a task"). The
card says *what* to evaluate; the evaluator for its ``type`` says *how*. What a card of
each type may hold (columns, default main metric, instruction, ``[scoring]`` schema) is
the type table's (``types.py``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import TaskCardError
from ..files import read_text
from .types import TASK_TYPES, TYPES

# Task and split names become file names: ASCII, no separators, never hidden, never '.' or '..',
# and short enough that every file made from them (``.<Task>.json.<random>.tmp``,
# ``<Task>.json.bad-<time>``, ``qrels/<split>.parquet``) fits the file system's 255-byte limit.
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_NAME_LENGTH = 128


_TOP_KEYS = {"name", "type", "description", "languages", "main_metric", "eval_splits", "table_split",
             "query_instruction", "dataset", "columns", "scoring", "reference"}
_DATASET_KEYS = {"hub_id", "revision", "subset", "qrels_hub_id", "qrels_revision",
                 "train_split", "local_dir"}


@dataclass(frozen=True)
class DatasetSource:
    hub_id: str
    revision: str
    subset: str | None = None
    qrels_hub_id: str | None = None
    qrels_revision: str | None = None
    train_split: str | None = None
    # A folder (relative to the card) holding the data in the offline layout.
    local_dir: Path | None = None


@dataclass(frozen=True)
class TaskSpec:
    name: str
    type: str
    description: str
    dataset: DatasetSource
    eval_splits: tuple[str, ...]
    languages: tuple[str, ...]
    main_metric: str
    columns: dict[str, str]
    query_instruction: bool
    scoring: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)
    card_path: Path | None = None
    # The split leaderboard tables and averages show (every split is evaluated, gated and
    # reproduced): the card's table_split, else "test" when evaluated, else the first split.
    table_split: str = ""

    def __post_init__(self) -> None:
        if not self.table_split:
            default = "test" if "test" in self.eval_splits else self.eval_splits[0]
            object.__setattr__(self, "table_split", default)

    def column(self, role: str) -> str:
        """The dataset's column name for a logical column role."""
        return self.columns.get(role, role)


def _fail(path: Path, field_name: str, problem: str) -> TaskCardError:
    return TaskCardError(
        f"Task card {path}: field '{field_name}' {problem}.",
        "Fix the card (see README, 'Adding a task') or remove it from --task-file.",
    )


def _expect(data: dict, key: str, kind: type | tuple, path: Path, required: bool = True,
            prefix: str = ""):
    if key not in data:
        if required:
            raise _fail(path, prefix + key, "is missing")
        return None
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _fail(path, prefix + key, f"must be a {expected}, got {type(value).__name__}")
    return value


def _string_list(data: dict, key: str, path: Path) -> tuple[str, ...]:
    values = _expect(data, key, list, path)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise _fail(path, key, "must be a non-empty list of non-empty strings")
    return tuple(values)


def _local_dir(card: Path, local_dir: str) -> Path:
    try:
        return (card.parent / local_dir).resolve()
    except (RuntimeError, OSError) as exc:  # a symlink loop (RuntimeError before Python 3.13)
        raise _fail(card, "dataset.local_dir", f"names {local_dir!r}, which cannot be resolved ({exc})") from None


def _split_names(data: dict, path: Path) -> tuple[str, ...]:
    """Split names become file names (``<split>.jsonl``): plain names only, no paths."""
    splits = _string_list(data, "eval_splits", path)
    for split in splits:
        _check_split_name(split, path, "eval_splits")
    if len(set(splits)) != len(splits):
        raise _fail(path, "eval_splits", "names a split twice")
    return splits


def _check_split_name(split: str, path: Path, field_name: str) -> None:
    if not PLAIN_NAME.fullmatch(split):
        raise _fail(path, field_name, f"holds {split[:60]!r}; split names are letters, digits, '-', '_' or '.'")
    if len(split) > MAX_NAME_LENGTH:
        raise _fail(path, field_name, f"holds a split name of {len(split)} characters; split names become file "
                                      f"names and may have at most {MAX_NAME_LENGTH}")


def _check_scoring(table: dict[str, Any], task_type: str, path: Path | None) -> None:
    """Every key is a setting of the type and every value of its declared type (types.py)."""
    allowed = TYPES[task_type].scoring
    for key, value in table.items():
        if key not in allowed:
            known = f"known: {', '.join(allowed)}" if allowed else f"{task_type} tasks take no [scoring] settings"
            raise _fail(path, f"scoring.{key}", f"is not a {task_type} setting ({known})")
        problem = allowed[key].problem(value)
        if problem:
            raise _fail(path, f"scoring.{key}", problem)


def _scoring(data: dict, task_type: str, path: Path) -> dict[str, Any]:
    table = _expect(data, "scoring", dict, path, required=False) or {}
    _check_scoring(table, task_type, path)
    return dict(table)


def scoring_settings(spec: "TaskSpec") -> dict[str, Any]:
    """The task's ``[scoring]`` over its type's defaults, every value checked against the type's
    schema (the check of card loading, for a TaskSpec built another way too)."""
    _check_scoring(spec.scoring, spec.type, spec.card_path)
    defaults = {key: setting.default for key, setting in TYPES[spec.type].scoring.items()}
    return {**defaults, **spec.scoring}


def parse_card(data: dict[str, Any], path: Path) -> TaskSpec:
    """Validate a parsed card and build its TaskSpec; errors name file and field."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise _fail(path, sorted(unknown)[0], f"is not a known card field (known: {', '.join(sorted(_TOP_KEYS))})")
    name = _expect(data, "name", str, path)
    if not PLAIN_NAME.fullmatch(name):
        raise _fail(path, "name", "must be ASCII letters, digits, '-', '_' or '.', starting with a letter or digit "
                                  "(it names the result file)")
    if len(name) > MAX_NAME_LENGTH:
        raise _fail(path, "name", f"is {len(name)} characters long; it names the result file and may have at most "
                                  f"{MAX_NAME_LENGTH}")
    task_type = _expect(data, "type", str, path)
    if task_type not in TASK_TYPES:
        raise _fail(path, "type", f"is {task_type!r}, not one of {', '.join(TASK_TYPES)}")
    description = _expect(data, "description", str, path, required=False) or ""

    ds = _expect(data, "dataset", dict, path)
    unknown = set(ds) - _DATASET_KEYS
    if unknown:
        raise _fail(path, "dataset." + sorted(unknown)[0], "is not a known dataset field")
    local_dir = _expect(ds, "local_dir", str, path, required=False, prefix="dataset.")
    if local_dir and "\x00" in local_dir:
        raise _fail(path, "dataset.local_dir", "contains a NUL character")
    dataset = DatasetSource(
        hub_id=_expect(ds, "hub_id", str, path, prefix="dataset."),
        revision=_expect(ds, "revision", str, path, prefix="dataset."),
        subset=_expect(ds, "subset", str, path, required=False, prefix="dataset.") or None,
        qrels_hub_id=_expect(ds, "qrels_hub_id", str, path, required=False, prefix="dataset."),
        qrels_revision=_expect(ds, "qrels_revision", str, path, required=False, prefix="dataset."),
        train_split=_expect(ds, "train_split", str, path, required=False, prefix="dataset."),
        local_dir=_local_dir(path, local_dir) if local_dir else None,
    )
    if TYPES[task_type].train_split and not dataset.train_split:
        raise _fail(path, "dataset.train_split", f"is missing ({task_type} trains on it)")
    if dataset.train_split is not None:
        _check_split_name(dataset.train_split, path, "dataset.train_split")

    columns = _expect(data, "columns", dict, path, required=False) or {}
    allowed = TYPES[task_type].columns + TYPES[task_type].optional_columns
    for role, column in columns.items():
        if role not in allowed:
            raise _fail(path, f"columns.{role}",
                        f"is not a column a {task_type} task reads (known: {', '.join(allowed)})")
        if not isinstance(column, str) or not column:
            raise _fail(path, f"columns.{role}", "must be a non-empty string")

    main_metric = _expect(data, "main_metric", str, path, required=False) or TYPES[task_type].main_metric
    instruction = _expect(data, "query_instruction", bool, path, required=False)
    if instruction is None:
        instruction = TYPES[task_type].query_instruction
    scoring = _scoring(data, task_type, path)
    reference = _expect(data, "reference", dict, path, required=False) or {}
    eval_splits = _split_names(data, path)
    table_split = _expect(data, "table_split", str, path, required=False) or ""
    if table_split and table_split not in eval_splits:
        raise _fail(path, "table_split", f"is {table_split!r}, not one of eval_splits ({', '.join(eval_splits)})")
    return TaskSpec(
        name=name,
        type=task_type,
        description=description,
        dataset=dataset,
        eval_splits=eval_splits,
        languages=_string_list(data, "languages", path),
        main_metric=main_metric,
        columns={role: columns.get(role, role) for role in allowed},
        query_instruction=instruction,
        scoring=scoring,
        reference=reference,
        card_path=path,
        table_split=table_split,
    )


def load_card(path: str | Path) -> TaskSpec:
    """Read and validate one TOML task card."""
    path = Path(path)
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise TaskCardError(f"Task card {path} does not exist.", "Check the path given to --task-file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskCardError(f"Task card {path} cannot be read: {exc}.", "It must be a UTF-8 TOML file.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TaskCardError(f"Task card {path} is not valid TOML: {exc}.",
                            "Fix the syntax (see README, 'Adding a task').") from None
    return parse_card(data, path)
