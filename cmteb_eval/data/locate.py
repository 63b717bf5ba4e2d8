"""Which local files a task's split is read from: the one search that every loader and the
data fingerprint (run/config.py) share, so that the fingerprint hashes exactly the files read.

Folders are searched in order: the card's ``dataset.local_dir``, then ``DIR/<Task>`` for
each ``--data-dir``. In each folder a file is ``<stem>.jsonl``, ``.parquet`` or ``.csv``
(the first that exists). The layouts:

- ``rows``: ``<split>.*``, one file per split (STS, PairClassification, Classification
  and its train split, Clustering, C-MTEB Reranking);
- ``retrieval``: ``corpus.*``, ``queries.*`` and ``qrels/<split>.*``, all three in one folder;
- ``mteb2`` (Reranking): the retrieval files plus ``top_ranked/<split>.*``; a folder's
  ``<split>.*`` (rows layout) wins over it.

Only the named files are looked at: a ``local_dir`` that is a large unrelated folder costs
a few ``stat`` calls, never a walk. Symlinked files and folders are followed. A name that
exists but is not a regular file (a FIFO, a device, a folder) is an error, not a hang.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataFormatError
from ..files import NotARegularFile, check_regular, file_sha256
from ..tasks.card import TaskSpec
from ..tasks.types import TYPES

SUFFIXES = (".jsonl", ".parquet", ".csv")
RETRIEVAL_ROLES = ("corpus", "queries", "qrels")


@dataclass(frozen=True)
class SplitFiles:
    """The local files of one split: ``files`` maps a role (``rows``; ``corpus``, ``queries``,
    ``qrels``, ``top_ranked``) to its path; ``folder`` is where they were found."""

    split: str
    layout: str  # "rows", "retrieval" or "mteb2"
    folder: Path
    files: dict[str, Path]


def search_folders(spec: TaskSpec, data_dirs: Sequence[str | Path]) -> list[Path]:
    """The card's local_dir, then DIR/<Task> for each --data-dir, in order."""
    folders = [Path(spec.dataset.local_dir)] if spec.dataset.local_dir is not None else []
    return folders + [Path(d) / spec.name for d in data_dirs]


def find_file(folder: Path, stem: str) -> Path | None:
    """``folder/<stem>.jsonl|.parquet|.csv``, the first that exists; an entry that exists but is
    not a regular file is a DataFormatError."""
    for suffix in SUFFIXES:
        path = folder / f"{stem}{suffix}"
        try:
            exists = path.exists()
        except OSError:  # a permission problem on the folder: not there for us
            exists = False
        if exists:
            try:
                check_regular(path)
            except NotARegularFile as exc:
                raise DataFormatError(f"Data file {path} is {exc.kind}, not a regular file.",
                                      "Replace it with the data file, or remove it so that the next folder "
                                      "is searched.") from None
            return path
    return None


def _retrieval_in(folder: Path, split: str) -> dict[str, Path] | None:
    found = {"corpus": find_file(folder, "corpus"), "queries": find_file(folder, "queries"),
             "qrels": find_file(folder / "qrels", split)}
    return found if all(found.values()) else None  # type: ignore[return-value]


def find_rows(spec: TaskSpec, split: str, data_dirs: Sequence[str | Path]) -> SplitFiles | None:
    for folder in search_folders(spec, data_dirs):
        path = find_file(folder, split)
        if path is not None:
            return SplitFiles(split, "rows", folder, {"rows": path})
    return None


def find_retrieval(spec: TaskSpec, split: str, data_dirs: Sequence[str | Path]) -> SplitFiles | None:
    for folder in search_folders(spec, data_dirs):
        files = _retrieval_in(folder, split)
        if files is not None:
            return SplitFiles(split, "retrieval", folder, files)
    return None


def find_reranking(spec: TaskSpec, split: str, data_dirs: Sequence[str | Path]) -> SplitFiles | None:
    """The first folder with either layout; in one folder the rows file wins."""
    for folder in search_folders(spec, data_dirs):
        rows = find_file(folder, split)
        if rows is not None:
            return SplitFiles(split, "rows", folder, {"rows": rows})
        top_ranked = find_file(folder / "top_ranked", split)
        if top_ranked is not None:
            files = _retrieval_in(folder, split)
            if files is not None:
                return SplitFiles(split, "mteb2", folder, {**files, "top_ranked": top_ranked})
    return None


def split_files(spec: TaskSpec, split: str, data_dirs: Sequence[str | Path]) -> SplitFiles | None:
    """The local files the task's loader reads for ``split`` (the layout is the type table's); None when
    it goes to the hub."""
    find = {"retrieval": find_retrieval, "reranking": find_reranking, "rows": find_rows}[TYPES[spec.type].layout]
    return find(spec, split, data_dirs)


def splits_read(spec: TaskSpec) -> list[str]:
    """Every split a task reads: its eval splits, and the train split of a type that trains (Classification)."""
    splits = list(spec.eval_splits)
    if TYPES[spec.type].train_split:
        train = spec.dataset.train_split or "train"
        if train not in splits:
            splits.append(train)
    return splits


def tried_paths(spec: TaskSpec, split: str, data_dirs: Sequence[str | Path], stems: Sequence[str]) -> list[Path]:
    """The .jsonl paths of ``stems`` (``{split}`` filled in) under every search folder, for error messages."""
    return [folder / f"{stem.format(split=split)}.jsonl" for folder in search_folders(spec, data_dirs)
            for stem in stems]


def _hub_source(spec: TaskSpec) -> dict[str, Any]:
    ds = spec.dataset
    source: dict[str, Any] = {"hub": f"{ds.hub_id}@{ds.revision}", "subset": ds.subset}
    if ds.qrels_hub_id:
        source["qrels"] = f"{ds.qrels_hub_id}@{ds.qrels_revision or 'main'}"
    return source


def fingerprint(spec: TaskSpec, data_dirs: Sequence[str | Path]) -> dict[str, Any]:
    """Per split read: the layout and the SHA-256 of each file the loader will read, or the hub
    source at its pinned revision."""
    out: dict[str, Any] = {}
    for split in splits_read(spec):
        found = split_files(spec, split, data_dirs)
        if found is None:
            out[split] = _hub_source(spec)
            continue
        try:
            hashes = {role: file_sha256(path) for role, path in found.files.items()}
        except OSError as exc:
            raise DataFormatError(f"Task {spec.name}: a data file of split {split!r} in {found.folder} cannot be "
                                  f"read: {exc.strerror or exc}.", "Check the file's permissions.") from None
        out[split] = {"layout": found.layout, "files": hashes}
    return out
