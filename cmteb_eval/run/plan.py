"""The run's plan, printed before the first task: per task, the texts it will encode where they can be
counted up front (STS and PairClassification: both sides of every pair of every eval split), how
many of them the embedding cache already holds, and the tokens of the rest. Other types are listed without a
count (their texts come from several tables or depend on the search); each encoding then says its
own counts, and a time estimate once its first batches ran (``models/progress.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..data.tables import column, load_split
from ..errors import UserError
from ..models.progress import count
from ..models.protocol import TEXT
from ..tasks.card import TaskSpec

COUNTED = ("STS", "PairClassification")


def _pair_texts(spec: TaskSpec, split: str, data_dirs) -> list[str]:
    table, source = load_split(spec, split, data_dirs)
    texts = []
    for role in ("sentence1", "sentence2"):
        for value in column(table, spec, role, source):
            texts.extend(str(v) for v in value) if isinstance(value, (list, tuple)) else texts.append(str(value))
    return texts


def task_texts(spec: TaskSpec, data_dirs) -> list[str] | None:
    """The distinct texts a task of a counted type encodes (None for other types, or when its data
    cannot be read here: the run reports that problem itself)."""
    if spec.type not in COUNTED:
        return None
    try:
        return list(dict.fromkeys(t for split in spec.eval_splits for t in _pair_texts(spec, split, data_dirs)))
    except (UserError, OSError, ValueError):
        return None


def not_in_cache(embedder, texts: list[str]) -> list[str]:
    """Those of ``texts`` the embedding cache does not hold for ``embedder`` (the run's counts untouched)."""
    cache = getattr(embedder, "cache", None)
    if cache is None or not hasattr(embedder, "cache_identity"):
        return texts
    namespace = cache.namespace(embedder.cache_identity(TEXT, ""), label=getattr(embedder, "model_id", None))
    found, missing = namespace.lookup(texts)
    namespace.stats.hits -= len(found)  # a look, not a use: the run's summary counts its own lookups
    namespace.stats.misses -= len(missing)
    return [texts[i] for i in missing]


def tokens(embedder, texts: list[str]) -> int | None:
    """The tokens of ``texts`` (none to count: 0, and no tokenizer loaded, as a run from the cache loads none)."""
    if not texts:
        return 0
    try:
        ids = embedder.tokenizer(texts, truncation=True, max_length=embedder.settings.max_length, padding=False,
                                 return_attention_mask=False)["input_ids"]
    except Exception:  # noqa: BLE001 -- an estimate: the run itself reports a tokenizer problem
        return None
    return sum(len(i) for i in ids)


def plan_lines(specs: Sequence[TaskSpec], data_dirs, folder: Path, embedder, cache) -> list[str]:
    """The plan ``run`` prints first; ``folder``: where the results go (``<model>/<revision>``)."""
    lines = [f"Plan: {len(specs)} task(s) -> {folder}"]
    total_texts = total_todo = total_tokens = 0
    tokens_known = True  # a served model has no tokenizer here: its tokens are not counted up front
    for spec in specs:
        line = f"  {spec.name} ({spec.type}; {', '.join(spec.eval_splits)})"
        texts = task_texts(spec, data_dirs) if embedder is not None else None
        if texts is not None:
            todo = not_in_cache(embedder, texts)
            cached = len(texts) - len(todo)
            n_tokens = tokens(embedder, todo)
            line += f": {len(texts)} distinct text(s), {len(texts) - cached} to encode"
            line += f" ({cached} in the cache)" if cached else ""
            line += f", {count(n_tokens)} tokens to encode" if n_tokens is not None else ""
            total_texts += len(texts)
            total_todo += len(texts) - cached
            total_tokens += n_tokens or 0
            tokens_known = tokens_known and (n_tokens is not None or not todo)
        lines.append(line)
    if total_texts:
        tokens_part = f", {count(total_tokens)} tokens" if tokens_known else ""
        lines.append(f"  counted up front: {total_todo} of {total_texts} text(s) to encode{tokens_part} "
                     f"(a task already complete with this configuration is skipped)")
    lines.append(f"Embedding cache: {cache.root}" if cache is not None else "Embedding cache: off (--no-cache)")
    return lines
