"""Loading retrieval and reranking data: local mirrors first, else the hub at the pinned revision.

Retrieval, offline layout (BEIR's and mteb's hub copies; ``--data-dir DIR``, searched in order)::

    DIR/<Task>/corpus.jsonl         id, text, optional title
    DIR/<Task>/queries.jsonl        id, text
    DIR/<Task>/qrels/<split>.jsonl  query-id, corpus-id, score

(``.parquet`` and ``.csv`` too). The card's [columns] names are accepted as
well as the usual ones (``tables.FALLBACK_COLUMNS``: C-MTEB's ``qid``/``pid``...). The
hub's two layouts are read by ``hub.py``.

Reranking: C-MTEB/MTEB keep one row per query (``query``, ``positive`` list,
``negative`` list): ``DIR/<Task>/<split>.jsonl`` as for every other task. The
mteb 2 layout is also read: the retrieval files above plus
``DIR/<Task>/top_ranked/<split>.jsonl`` (``query-id``, ``corpus-ids``, the
candidate list of each query); on the hub, a card with
``[scoring] data_layout = "mteb2"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataFormatError, DataNotFoundError, UserError
from ..tasks.card import TaskSpec, scoring_settings
from .checks import check_computable, check_qrels_refs, check_unique_ids
from .hub import hub_retrieval_tables
from .locate import SplitFiles, find_reranking, find_retrieval, tried_paths
from .tables import Columns, column, load_split, read_rows, read_table, text_column

@dataclass
class RetrievalData:
    corpus_ids: list[str]
    corpus_texts: list[str]
    query_ids: list[str]
    query_texts: list[str]
    qrels: dict[str, dict[str, float]]
    source: str


@dataclass
class RerankingQuery:
    """One query with its candidate list; ``relevance`` is the qrels value of each candidate."""

    query_id: str
    query: str | list[str]  # a list: several texts, a candidate's score is its best over them (mteb 1.x)
    candidate_ids: list[str]
    candidate_texts: list[str]
    relevance: list[float]
    # the query's full qrels row (may judge documents that are not candidates)
    judged: dict[str, float] = field(default_factory=dict)


@dataclass
class RerankingData:
    queries: list[RerankingQuery]
    layout: str  # "cmteb" (one row per query) or "mteb2" (corpus, queries, qrels, top_ranked)
    source: str
    skipped: int = 0  # rows dropped: no positive or no negative candidate


# ---------------------------------------------------------------- helpers


def _ids(values: list[Any], spec: TaskSpec, role: str, source: str) -> list[str]:
    out = []
    for index, value in enumerate(values):
        if value is None or isinstance(value, (float, list, dict)) or str(value) == "":
            raise DataFormatError(f"Task {spec.name}: row {index} of {source} has {role} {value!r}, not an id.",
                                  "Ids must be non-empty strings or integers.")
        out.append(str(value))
    return out


def _qrels(table: Columns, spec: TaskSpec, source: str) -> dict[str, dict[str, float]]:
    qids = _ids(column(table, spec, "qrel_query_id", source), spec, "qrel_query_id", source)
    pids = _ids(column(table, spec, "qrel_corpus_id", source), spec, "qrel_corpus_id", source)
    raw = column(table, spec, "qrel_score", source)
    qrels: dict[str, dict[str, float]] = {}
    for index, (qid, pid, value) in enumerate(zip(qids, pids, raw)):
        try:
            score = float(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond float range
            score = float("nan")
        if isinstance(value, bool) or score != score or score in (float("inf"), float("-inf")):
            raise DataFormatError(f"Task {spec.name}: row {index} of {source} has relevance {value!r}, not a number.",
                                  "Relevance judgements must be numbers (0 = not relevant).")
        qrels.setdefault(qid, {})[pid] = int(score) if score.is_integer() else score
    check_computable([float(v) for judged in qrels.values() for v in judged.values()], role="relevance",
                     task=spec.name, source=source)
    return qrels


def _corpus(table: Columns, spec: TaskSpec, source: str) -> tuple[list[str], list[str]]:
    ids = _ids(column(table, spec, "corpus_id", source), spec, "corpus_id", source)
    texts = text_column(column(table, spec, "corpus_text", source), spec, "corpus_text", source)
    titles = column(table, spec, "corpus_title", source, required=False)
    if titles is not None:  # mteb: "title text", stripped, when a title is present
        texts = [(f"{t} {x}").strip() if isinstance(t, str) and t else x for t, x in zip(titles, texts)]
    check_unique_ids(ids, what="corpus id", task=spec.name, source=source)
    return ids, texts


def _queries(table: Columns, spec: TaskSpec, source: str) -> tuple[list[str], list[str]]:
    ids = _ids(column(table, spec, "query_id", source), spec, "query_id", source)
    texts = text_column(column(table, spec, "query_text", source), spec, "query_text", source)
    return ids, texts


def _read_tables(found: SplitFiles) -> dict[str, Columns]:
    """The tables of the files the search found (exactly those the data fingerprint hashed)."""
    return {role: read_table(path) for role, path in found.files.items()}


def _tried(spec: TaskSpec, split: str, data_dirs, extra: str = "") -> list[Path]:
    stems = ["corpus", "queries", "qrels/{split}"] + ([extra] if extra else [])
    return tried_paths(spec, split, data_dirs, stems)


# ---------------------------------------------------------------- retrieval


def _check_references(spec: TaskSpec, source: str, query_ids: list[str], corpus_ids: list[str],
                      qrels: dict[str, dict[str, float]]) -> None:
    """Duplicate query ids and qrels naming unknown queries or documents are errors.

    mteb silently ignores such qrels entries; a card whose dataset is known to hold
    them can do the same with ``[scoring] allow_dangling_qrels = true``.
    """
    try:
        check_unique_ids(query_ids, what="query id", task=spec.name, source=source)
        check_qrels_refs(qrels, query_ids=query_ids, doc_ids=corpus_ids, task=spec.name, source=source)
    except DataFormatError as exc:
        raise DataFormatError(exc.message, exc.hint + " If the dataset is known to hold such entries, set "
                              "[scoring] allow_dangling_qrels = true in the card to ignore them as mteb does.") from None


def load_retrieval(spec: TaskSpec, split: str, data_dirs: Sequence[str | Path] = ()) -> RetrievalData:
    """Corpus, queries and qrels of a retrieval task's split."""
    found = find_retrieval(spec, split, data_dirs)
    if found is not None:
        tables, source = _read_tables(found), str(found.folder)
    else:
        tables = hub_retrieval_tables(spec, split, _tried(spec, split, data_dirs))
        source = f"{spec.dataset.hub_id}@{spec.dataset.revision}"
        if spec.dataset.qrels_hub_id:
            source += f" + {spec.dataset.qrels_hub_id}@{spec.dataset.qrels_revision or 'main'}"
    corpus_ids, corpus_texts = _corpus(tables["corpus"], spec, source)
    query_ids, query_texts = _queries(tables["queries"], spec, source)
    qrels = _qrels(tables["qrels"], spec, source)
    if not scoring_settings(spec)["allow_dangling_qrels"]:
        _check_references(spec, source, query_ids, corpus_ids, qrels)
    known_queries = set(query_ids)
    qrels = {qid: docs for qid, docs in qrels.items() if qid in known_queries}
    if not qrels:
        raise DataFormatError(f"Task {spec.name}: no qrels of split {split!r} in {source} name a known query.",
                              "Check that qrels query ids match the ids in queries.")
    # Queries without judgements are not scored (pytrec_eval and mteb skip them); keep file order.
    keep = [i for i, qid in enumerate(query_ids) if qid in qrels]
    return RetrievalData(corpus_ids, corpus_texts, [query_ids[i] for i in keep], [query_texts[i] for i in keep],
                         qrels, source)


# ---------------------------------------------------------------- reranking


def _list_column(values: list[Any], spec: TaskSpec, role: str, source: str) -> list[list[str]]:
    out = []
    for index, value in enumerate(values):
        if isinstance(value, str):
            value = [value]
        if value is None:
            value = []
        if hasattr(value, "tolist"):
            value = value.tolist()
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise DataFormatError(f"Task {spec.name}: row {index} of {source} has {role} {str(value)[:80]!r}, "
                                  f"not a list of strings.", "Each row needs lists of positive and negative passages.")
        out.append(list(value))
    return out


def reranking_from_rows(spec: TaskSpec, split: str, table: Columns, source: str) -> RerankingData:
    """C-MTEB/MTEB layout: one row per query. Rows without a positive or a negative are
    dropped (as both mteb 1.x and mteb 2 do); candidate ids follow mteb 2's conversion
    (``apositive_<split>_query<i>_<j>``, ``negative_...``) so v2 ties resolve as in mteb."""
    queries_col = column(table, spec, "query", source)
    positives = _list_column(column(table, spec, "positive", source), spec, "positive", source)
    negatives = _list_column(column(table, spec, "negative", source), spec, "negative", source)
    out: list[RerankingQuery] = []
    skipped = 0
    for index, (query, pos, neg) in enumerate(zip(queries_col, positives, negatives)):
        if hasattr(query, "tolist"):
            query = query.tolist()
        if isinstance(query, (list, tuple)) and query and all(isinstance(q, str) for q in query):
            query = list(query)  # a multi-text query (MindSmallReranking: a user's history): scored by its best text
        elif not isinstance(query, str):
            raise DataFormatError(f"Task {spec.name}: row {index} of {source} has query {str(query)[:80]!r}, not a "
                                  f"string or a non-empty list of strings.", "Give one query (or list of texts) per row.")
        if not pos or not neg:
            skipped += 1
            continue
        qid = f"{split}_query{len(out)}"
        ids = [f"apositive_{qid}_{j:05d}" for j in range(len(pos))] + [f"negative_{qid}_{j:05d}" for j in range(len(neg))]
        relevance = [1] * len(pos) + [0] * len(neg)
        out.append(RerankingQuery(qid, query, ids, pos + neg, relevance, dict(zip(ids, relevance))))
    if not out:
        raise DataFormatError(f"Task {spec.name}: no row of {source} has both a positive and a negative passage.",
                              "Reranking needs, per query, at least one positive and one negative candidate.")
    return RerankingData(out, "cmteb", source, skipped)


def reranking_from_tables(spec: TaskSpec, tables: dict[str, Columns], source: str) -> RerankingData:
    """mteb 2 layout: corpus, queries, qrels and a candidate list per query (top_ranked)."""
    if "top_ranked" not in tables:
        raise DataFormatError(f"Task {spec.name}: {source} has corpus, queries and qrels but no top_ranked "
                              f"candidate lists.", "Add top_ranked/<split>.jsonl with columns query-id, corpus-ids.")
    corpus_ids, corpus_texts = _corpus(tables["corpus"], spec, source)
    text_of = dict(zip(corpus_ids, corpus_texts))
    query_ids, query_texts = _queries(tables["queries"], spec, source)
    query_of = dict(zip(query_ids, query_texts))
    qrels = _qrels(tables["qrels"], spec, source)
    top = tables["top_ranked"]
    top_q = _ids(top.get("query-id") or top.get("query_id") or [], spec, "query-id", source)
    top_c = _list_column(top.get("corpus-ids") or top.get("corpus_ids") or [], spec, "corpus-ids", source)
    out = []
    skipped = 0
    for qid, candidates in zip(top_q, top_c):
        if qid not in query_of:
            raise DataFormatError(f"Task {spec.name}: top_ranked names query {qid!r}, absent from queries in {source}.",
                                  "Make top_ranked and queries agree.")
        missing = [c for c in candidates if c not in text_of]
        if missing:
            raise DataFormatError(f"Task {spec.name}: query {qid!r} has candidates not in the corpus "
                                  f"({missing[:3]}) in {source}.", "Make top_ranked and corpus agree.")
        judged = qrels.get(qid, {})
        if not judged:  # mteb 2 drops queries without any judgement
            skipped += 1
            continue
        out.append(RerankingQuery(qid, query_of[qid], list(candidates), [text_of[c] for c in candidates],
                                  [judged.get(c, 0) for c in candidates], judged))
    if not out:
        raise DataFormatError(f"Task {spec.name}: no query in {source} has both candidates and judgements.",
                              "Check that qrels and top_ranked use the same query ids.")
    return RerankingData(out, "mteb2", source, skipped)


def load_reranking(spec: TaskSpec, split: str, data_dirs: Sequence[str | Path] = ()) -> RerankingData:
    """A reranking task's split in either layout; the row-per-query file wins when both exist."""
    found = find_reranking(spec, split, data_dirs)
    if found is not None and found.layout == "rows":
        path = found.files["rows"]
        return reranking_from_rows(spec, split, read_rows(spec, split, path), str(path))
    if found is not None:
        return reranking_from_tables(spec, _read_tables(found), str(found.folder))
    if scoring_settings(spec)["data_layout"] == "mteb2":
        tried = _tried(spec, split, data_dirs, extra="top_ranked/{split}")
        tables = hub_retrieval_tables(spec, split, tried, with_top_ranked=True)
        return reranking_from_tables(spec, tables, f"{spec.dataset.hub_id}@{spec.dataset.revision}")
    try:
        table, source = load_split(spec, split, data_dirs)
    except DataNotFoundError as exc:
        raise DataNotFoundError(exc.message + f"\n  (or the mteb 2 layout: corpus, queries, qrels/{split}, "
                                f"top_ranked/{split} under the same folders)", exc.hint) from None
    return reranking_from_rows(spec, split, table, source)


def reranking_pair_count(spec: TaskSpec, data_dirs: Sequence[str | Path], top_k: int | None) -> int | None:
    """The (query, passage) pairs a reranker scores on a Reranking task, for the run's plan: its distinct
    pairs, or with an embedder first (``top_k``) at most the top k of each query. None for other types
    or data that cannot be read here (the run reports that itself)."""
    if spec.type != "Reranking":
        return None
    try:
        pairs: set = set()
        bound = 0
        for split in spec.eval_splits:
            for query in load_reranking(spec, split, data_dirs).queries:
                if top_k is not None:
                    bound += min(top_k, len(query.candidate_texts))
                elif isinstance(query.query, str):
                    pairs.update((query.query, text) for text in query.candidate_texts)
        return bound if top_k is not None else len(pairs)
    except (UserError, OSError, ValueError):
        return None
