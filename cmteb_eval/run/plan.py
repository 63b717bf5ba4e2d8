"""The run's plan, printed before the first task: per task, the distinct texts it will encode (every task
type: both sides of STS and PairClassification pairs, queries and corpus of Retrieval, queries and
candidates of Reranking, the train rows its experiments use and the test texts of Classification,
every set of Clustering, human and
machine summaries of Summarization, over every eval split), how many of them the embedding cache
already holds, and the tokens of the rest, so that a large model's run states its cost up front.
Each encoding then says its own counts, and a time estimate once its first batches ran
(``models/progress.py``). With a reranker (a cross-encoder or an LLM reranker), Reranking tasks also say
how many (query, passage) pairs it scores (each distinct pair once; with an embedder, at most the reranked
top k per query)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from ..data.tables import column, load_split
from ..errors import UserError
from ..evaluators.base import texts_reader_for
from ..models.progress import count
from ..models.protocol import TEXT
from ..tasks.card import TaskSpec


def _flat(values) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(str(v) for v in value) if isinstance(value, (list, tuple)) else out.append(str(value))
    return out


def _columns(*columns: str) -> Callable[[TaskSpec, str, Sequence], dict[str, list[str]]]:
    def texts(spec: TaskSpec, split: str, data_dirs) -> dict[str, list[str]]:
        table, source = load_split(spec, split, data_dirs)
        return {TEXT: [t for name in columns for t in _flat(column(table, spec, name, source))]}
    return texts


# types whose texts are columns of one table; the others' evaluator modules say (their ``texts``)
COLUMNS_OF = {"STS": _columns("sentence1", "sentence2"), "PairClassification": _columns("sentence1", "sentence2"),
              "Summarization": _columns("human_summaries", "machine_summaries")}


def task_texts(spec: TaskSpec, data_dirs) -> dict[str, list[str]] | None:
    """The distinct texts a task encodes, by role (query, passage, text: each encoded with its own prompt
    and cached under its own key); None for a type with no counter, or when its data cannot be read here
    (the run reports that problem itself)."""
    texts_of = COLUMNS_OF.get(spec.type) or texts_reader_for(spec)
    if texts_of is None:
        return None
    try:
        by_role: dict[str, dict[str, None]] = {}
        for split in spec.eval_splits:
            for role, texts in texts_of(spec, split, data_dirs).items():
                by_role.setdefault(role, {}).update(dict.fromkeys(texts))
    except (UserError, OSError, ValueError, KeyError, TypeError):
        return None
    return {role: list(texts) for role, texts in by_role.items()}


def as_encoded(embedder, spec: TaskSpec, role: str, texts: list[str]) -> tuple[list[str], dict[str, str]]:
    """The texts as the embedder encodes them for ``role`` in ``spec`` (its prompt applied), and the prompt's
    parts the cache key holds."""
    prompt_for = getattr(embedder, "prompt_for", None)
    if prompt_for is None:
        return texts, {"instruction": ""}
    prompt = prompt_for(role, spec)
    return list(dict.fromkeys(prompt.apply(t) for t in texts)), {"instruction": prompt.prefix, "suffix": prompt.suffix}


def not_in_cache(embedder, texts: list[str], role: str = TEXT, instruction: str = "", suffix: str = "") -> list[str]:
    """Those of ``texts`` the embedding cache does not hold for ``embedder`` (the run's counts untouched)."""
    cache = getattr(embedder, "cache", None)
    if cache is None or not hasattr(embedder, "cache_identity"):
        return texts
    namespace = cache.namespace(embedder.cache_identity(role, instruction, suffix),
                                label=getattr(embedder, "model_id", None))
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


def plan_lines(specs: Sequence[TaskSpec], data_dirs, folder: Path, embedder, cache, corpus_of=None,
               reranker_pairs: dict[str, int] | None = None) -> list[str]:
    """The plan ``run`` prints first; ``folder``: where the results go (``<model>/<revision>``);
    ``corpus_of(spec, split)``: a Retrieval task's corpus texts, for bge-m3's ColBERT storage;
    ``reranker_pairs``: per task, the pairs a reranker scores (``data.ranking.reranking_pair_count``)."""
    lines = [f"Plan: {len(specs)} task(s) -> {folder}"]
    total_texts = total_todo = total_tokens = 0
    tokens_known = True  # a served model has no tokenizer here: its tokens are not counted up front
    for spec in specs:
        line = f"  {spec.name} ({spec.type}; {', '.join(spec.eval_splits)})"
        pairs = (reranker_pairs or {}).get(spec.name)
        if pairs is not None:
            line += f": {'at most ' if embedder is not None else ''}{pairs} (query, passage) pair(s) for the reranker"
        by_role = task_texts(spec, data_dirs) if embedder is not None else None
        if by_role is not None:
            try:
                encoded_by_role = {role: as_encoded(embedder, spec, role, texts) for role, texts in by_role.items()}
            except UserError as exc:  # a prompt the task lacks: the task fails with this error, the others run
                lines.append(f"{line}: not counted ({exc.message})")
                continue
            texts, todo = [], []
            for role, (encoded, key) in encoded_by_role.items():
                texts += encoded
                todo += not_in_cache(embedder, encoded, role, **key)
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
    lines.extend(colbert_storage_lines(specs, embedder, corpus_of))
    lines.append(f"Embedding cache: {cache.root}" if cache is not None else "Embedding cache: off (--no-cache)")
    return lines


def colbert_storage_lines(specs: Sequence[TaskSpec], embedder, corpus_of=None) -> list[str]:
    """For bge-m3 run by colbert or hybrid: what its token vectors cost (one float32 vector per token after
    the first), per Retrieval task's corpus (``corpus_of(spec, split)``), and whether that fits the budget
    for an exact search."""
    method = getattr(embedder, "retrieval_method", None)
    if method not in ("colbert", "hybrid"):
        return []
    dim, budget = embedder.colbert_dim, embedder.token_budget_mb
    lines = [f"  ColBERT storage ({method}): {dim} float32 per token, {dim * 4} bytes; the cache keeps them on disk, "
             f"a search holds one corpus chunk's at a time; budget for an exact search {budget} MB"]
    for spec in specs:
        if spec.type != "Retrieval" or corpus_of is None:
            continue
        for split in spec.eval_splits:
            try:
                texts = corpus_of(spec, split)
            except (UserError, OSError, ValueError):
                continue
            size = (tokens(embedder, texts) or 0) - len(texts)  # the CLS token has no ColBERT vector
            mb = size * dim * 4 / 2 ** 20
            lines.append(f"    {spec.name} ({split}): {len(texts)} passages, {count(size)} token vectors, "
                         f"{mb:.1f} MB: " + ("exact over the corpus" if mb <= budget else
                                             "over the budget: the dense top --rerank-top-k is rescored"))
    return lines
