"""The hub: whether it may be contacted, and a task's split loaded from it at the card's pinned revision.

Every failure is a DataNotFoundError naming the task, every local path tried and how to fix it;
with ``HF_HUB_OFFLINE`` / ``HF_DATASETS_OFFLINE`` set (``--offline``) the hub is never contacted.
C-MTEB retrieval keeps corpus and queries in one dataset (splits ``corpus`` and ``queries``) and
the qrels in a separate ``<name>-qrels`` dataset (card: ``qrels_hub_id``, ``qrels_revision``);
without ``qrels_hub_id`` the mteb 2 layout is read (configs ``corpus``, ``queries``,
``default``/``qrels``, and ``top_ranked`` for reranking).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import DataFormatError, DataNotFoundError
from ..tasks.card import TaskSpec
from .offline import hub_endpoint, hub_offline, hub_unreachable

Columns = dict[str, list[Any]]  # as tables.Columns


def _what(split: str, table: str | None) -> str:
    """How a message names what is missing: a split, or a table (corpus, queries) of one."""
    return f"split {split!r}" if table is None else f"the {table} (of split {split!r})"


def load_from_hub(spec: TaskSpec, split: str, tried: list[Path], hub_id: str | None = None,
                  revision: str | None = None, subset: str | None = None, table: str | None = None,
                  of_split: str | None = None) -> Columns:
    """``split`` of the dataset from the hub; ``table`` (corpus, queries) and ``of_split`` name it in
    messages when it is a table rather than the task's split."""
    hub_id = hub_id or spec.dataset.hub_id
    revision = revision or spec.dataset.revision
    subset = subset if subset is not None else spec.dataset.subset
    what = _what(of_split or split, table)
    where = "\n  ".join(str(p) for p in tried) or "(no --data-dir given)"
    hint = (f"Put the {'split' if table is None else table} at one of the local paths above (see README, "
            f"'Offline data'), pass --data-dir, or run with hub access to download {hub_id}@{revision}.")
    if spec.dataset.local_dir is not None and spec.dataset.hub_id.startswith("cmteb-eval/"):
        raise DataNotFoundError(f"Task {spec.name}: no data for {what}. Tried:\n  {where}", hint)
    if hub_offline():
        raise DataNotFoundError(
            f"Task {spec.name}: {what} not found locally and the hub is off (HF_HUB_OFFLINE or "
            f"HF_DATASETS_OFFLINE is set). Tried:\n  {where}", hint)
    why = hub_unreachable()
    if why is not None:  # at once, not after the hub client's retries
        raise DataNotFoundError(
            f"Task {spec.name}: {what} not found locally, and the hub ({hub_endpoint()}) cannot be reached "
            f"({why}). Tried:\n  {where}", hint)
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "20")
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "60")
    try:
        import datasets

        data = datasets.load_dataset(hub_id, subset, revision=revision, split=split)
    except Exception as exc:
        raise DataNotFoundError(
            f"Task {spec.name}: {what} not found locally, and loading {hub_id}@{revision} "
            f"from the hub failed ({type(exc).__name__}: {str(exc)[:300]}). Tried:\n  {where}", hint) from None
    return data.to_dict()


def _hub_split(hub_id: str, config: str | None, revision: str, split: str) -> str:
    from datasets import get_dataset_split_names

    names = get_dataset_split_names(hub_id, config_name=config, revision=revision)
    if split in names:
        return split
    if len(names) == 1:
        return names[0]
    raise DataFormatError(f"{hub_id} ({config}) has no split {split!r} (it has {names}).",
                          "Fix eval_splits in the task card.")


def hub_retrieval_tables(spec: TaskSpec, split: str, tried: list[Path],
                         with_top_ranked: bool = False) -> dict[str, Columns]:
    """Corpus, queries, qrels (and top_ranked) of a split from the hub, in either hub layout."""
    ds = spec.dataset
    if ds.qrels_hub_id:  # C-MTEB: corpus/queries splits of one dataset, qrels in <name>-qrels
        return {
            "corpus": load_from_hub(spec, "corpus", tried, table="corpus", of_split=split),
            "queries": load_from_hub(spec, "queries", tried, table="queries", of_split=split),
            "qrels": load_from_hub(spec, split, tried, hub_id=ds.qrels_hub_id,
                                   revision=ds.qrels_revision or "main"),
        }
    tables = {}
    configs = {"corpus": "corpus", "queries": "queries", "qrels": "default"}
    if with_top_ranked:
        configs["top_ranked"] = "top_ranked"
    for name, config in configs.items():
        if hub_offline() or hub_unreachable():
            load_from_hub(spec, split, tried, table=None if name == "qrels" else name)  # the standard error
        try:
            hub_split = _hub_split(ds.hub_id, config, ds.revision, split)
        except DataFormatError:
            raise
        except Exception:
            if name == "qrels":
                config, hub_split = "qrels", split
            else:
                hub_split = split
        tables[name] = load_from_hub(spec, hub_split, tried, subset=config,
                                     table=None if name == "qrels" else name, of_split=split)
    return tables
