"""References for retrieval and reranking parity: mteb 2 itself, and mteb 1.x's RerankingEvaluator.

mteb 1.x cannot be installed beside mteb 2, so ``mteb1_reranking`` re-implements
its ``RerankingEvaluator.compute_metrics_batched`` line for line (mteb 1.x,
``mteb/evaluation/evaluators/RerankingEvaluator.py``): drop samples without a
positive or a negative; encode all queries, then all candidates (positives then
negatives, per sample) with ``model.encode``; per sample ``cos_sim`` in torch,
``torch.argsort(-scores)`` for MRR@10 and sklearn's ``average_precision_score``
for AP; mean over samples.

Also builds the qbqtc_dev tasks: (a) reranking, one row per query (positives:
label >= 1, negatives: label 0); (b) retrieval over every title of the slice,
with graded qrels (the label).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from parity_data import write_jsonl

# ---------------------------------------------------------------- qbqtc_dev tasks


def read_qbqtc(path: Path, max_rows: int | None = None) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rows.append(json.loads(line))
            if max_rows is not None and len(rows) >= max_rows:
                break
    return rows


def group_by_query(rows) -> "OrderedDict[str, list[tuple[str, int]]]":
    groups: OrderedDict[str, list[tuple[str, int]]] = OrderedDict()
    for row in rows:
        groups.setdefault(row["query"], []).append((row["title"], int(row["label"])))
    return groups


def reranking_rows(rows, only_complete: bool = False) -> dict[str, list]:
    """query / positive / negative columns; ``only_complete`` keeps queries with both kinds."""
    table = {"query": [], "positive": [], "negative": []}
    for query, titles in group_by_query(rows).items():
        pos = [t for t, label in titles if label >= 1]
        neg = [t for t, label in titles if label == 0]
        if only_complete and not (pos and neg):
            continue
        table["query"].append(query)
        table["positive"].append(pos)
        table["negative"].append(neg)
    return table


def retrieval_tables(rows, max_queries: int | None = None):
    """corpus (every distinct title), queries and graded qrels (every judged pair)."""
    titles = list(OrderedDict.fromkeys(r["title"] for r in rows))
    title_id = {t: f"t{i}" for i, t in enumerate(titles)}
    groups = group_by_query(rows)
    queries = list(groups)[:max_queries]
    corpus = {"id": [title_id[t] for t in titles], "text": titles}
    query_table = {"id": [f"q{i}" for i in range(len(queries))], "text": queries}
    qrels = {"query-id": [], "corpus-id": [], "score": []}
    for i, query in enumerate(queries):
        for title, label in groups[query]:
            qrels["query-id"].append(f"q{i}")
            qrels["corpus-id"].append(title_id[title])
            qrels["score"].append(label)
    return corpus, query_table, qrels


def write_qbqtc_tasks(folder: Path, rerank_table, corpus, queries, qrels) -> tuple[Path, Path]:
    """Two task cards with their data beside them (local_dir); returns the card paths."""
    write_jsonl(folder / "QbqtcReranking" / "dev.jsonl", rerank_table)
    write_jsonl(folder / "QbqtcRetrieval" / "corpus.jsonl", corpus)
    write_jsonl(folder / "QbqtcRetrieval" / "queries.jsonl", queries)
    write_jsonl(folder / "QbqtcRetrieval" / "qrels" / "dev.jsonl", qrels)
    rerank_card = folder / "QbqtcReranking.toml"
    rerank_card.write_text(
        'name = "QbqtcReranking"\ntype = "Reranking"\nlanguages = ["cmn-Hans"]\neval_splits = ["dev"]\n'
        'main_metric = "map"\n[dataset]\nhub_id = "cmteb-eval/qbqtc-reranking"\nrevision = "local"\n'
        'local_dir = "QbqtcReranking"\n', encoding="utf-8")
    retrieval_card = folder / "QbqtcRetrieval.toml"
    retrieval_card.write_text(
        'name = "QbqtcRetrieval"\ntype = "Retrieval"\nlanguages = ["cmn-Hans"]\neval_splits = ["dev"]\n'
        '[dataset]\nhub_id = "cmteb-eval/qbqtc-retrieval"\nrevision = "local"\nlocal_dir = "QbqtcRetrieval"\n',
        encoding="utf-8")
    return rerank_card, retrieval_card


# ---------------------------------------------------------------- mteb 1.x (re-implemented)


def mteb1_query_metrics(is_relevant: list[bool], pred_scores, mrr_at_k: int = 10,
                        stable: bool = False) -> tuple[float, float]:
    """(MRR@k, AP) of one sample, as mteb 1.x's RerankingEvaluator computes them from its scores.

    ``stable=False`` is mteb 1.x line for line: ``torch.argsort(-scores)``, whose order of tied
    scores is implementation-defined (it can differ between CPUs and torch builds). ``stable=True``
    sorts tied candidates in input order (positives first, as the evaluator lists them): the tie
    rule cmteb-eval states for protocol v1. AP (sklearn) is the same either way: tied scores form
    one threshold.
    """
    import torch
    from sklearn.metrics import average_precision_score

    pred_scores = torch.as_tensor(pred_scores)
    ranking = torch.argsort(-pred_scores, stable=True) if stable else torch.argsort(-pred_scores)
    mrr = 0
    for rank, index in enumerate(ranking[:mrr_at_k]):
        if is_relevant[index]:
            mrr = 1 / (rank + 1)
            break
    return mrr, average_precision_score(is_relevant, pred_scores.cpu().tolist())


def mteb1_reranking(samples: dict[str, list], model, batch_size: int = 512, mrr_at_k: int = 10) -> dict[str, float]:
    """mteb 1.x RerankingEvaluator.compute_metrics_batched with cos_sim, on a SentenceTransformer."""
    import torch

    def cos_sim(a, b):
        a = torch.tensor(a) if not isinstance(a, torch.Tensor) else a
        b = torch.tensor(b) if not isinstance(b, torch.Tensor) else b
        if len(a.shape) == 1:
            a = a.unsqueeze(0)
        if len(b.shape) == 1:
            b = b.unsqueeze(0)
        a_norm = torch.nn.functional.normalize(a, p=2, dim=1)
        b_norm = torch.nn.functional.normalize(b, p=2, dim=1)
        return torch.mm(a_norm, b_norm.transpose(0, 1))

    items = [{"query": q, "positive": p, "negative": n}
             for q, p, n in zip(samples["query"], samples["positive"], samples["negative"])]
    items = [s for s in items if len(s["positive"]) > 0 and len(s["negative"]) > 0]
    all_query_embs = np.asarray(model.encode([s["query"] for s in items], batch_size=batch_size))
    all_docs = []
    for s in items:
        all_docs.extend(s["positive"])
        all_docs.extend(s["negative"])
    all_docs_embs = np.asarray(model.encode(all_docs, batch_size=batch_size))
    all_mrr, all_ap = [], []
    query_idx, docs_idx = 0, 0
    for s in items:
        query_emb = all_query_embs[query_idx:query_idx + 1]
        query_idx += 1
        num_pos, num_neg = len(s["positive"]), len(s["negative"])
        docs_emb = all_docs_embs[docs_idx:docs_idx + num_pos + num_neg]
        docs_idx += num_pos + num_neg
        is_relevant = [True] * num_pos + [False] * num_neg
        pred_scores = cos_sim(query_emb, docs_emb)
        if len(pred_scores.shape) > 1:
            pred_scores = torch.amax(pred_scores, dim=0)
        mrr, ap = mteb1_query_metrics(is_relevant, pred_scores, mrr_at_k)
        all_mrr.append(mrr)
        all_ap.append(ap)
    return {"map": float(np.mean(all_ap)), "mrr": float(np.mean(all_mrr))}


# ---------------------------------------------------------------- near ties


SEPARATION = 1e-5  # float noise between CPUs, batch shapes and forward implementations is ~1e-7


def separated(scores, gains, eps: float = SEPARATION) -> bool:
    """Whether no two candidates of different gain score within ``eps`` of each other.

    Only such pairs can change a ranking metric when float noise reorders them (two candidates
    of equal gain may swap freely); a query without any is scored identically by every
    implementation that computes the same scores up to noise, whatever its sort's tie order.
    """
    scores = np.asarray(scores, dtype=np.float64)
    gains = np.asarray(gains, dtype=np.float64)
    order = np.argsort(scores, kind="stable")
    s, g = scores[order], gains[order]
    for i in range(len(s)):  # pairs within eps of each other are contiguous in sorted order
        j = i + 1
        while j < len(s) and s[j] - s[i] < eps:
            if g[j] != g[i]:
                return False
            j += 1
    return True


# ---------------------------------------------------------------- mteb 2 (the installed package)


def _evaluate(task, model, batch_size: int = 32) -> dict[str, Any]:
    import mteb

    result = mteb.evaluate(model, task, cache=None, show_progress_bar=False, encode_kwargs={"batch_size": batch_size})
    return result.task_results[0].scores["dev"][0]


def mteb2_reranking(samples: dict[str, list], model, batch_size: int = 1024) -> dict[str, Any]:
    """mteb 2 on rows of (query, positive, negative), converted by mteb's own old-format code.

    ``batch_size``: mteb encodes a text that appears twice (the same title as a
    candidate of two queries, or as both positive and negative) once per copy;
    in different batches the copies' embeddings can differ in the last bits, so
    their exact tie becomes an order decided by float noise. One batch holding
    the whole candidate corpus (the default here) keeps copies bit-identical,
    which is what encoding each distinct text once (as we do) gives.
    """
    import mteb
    from datasets import Dataset
    from mteb.abstasks.text.reranking import AbsTaskReranking

    corpus, queries, relevant, top_ranked = [], [], {}, {}
    kept = [(q, p, n) for q, p, n in zip(samples["query"], samples["positive"], samples["negative"]) if p and n]
    for idx, (q, p, n) in enumerate(kept):
        item = AbsTaskReranking._process_example(None, {"query": q, "positive": p, "negative": n}, "dev", idx)
        queries.append({"id": item["query_id"], "text": item["query"]})
        relevant[item["query_id"]] = {}
        top_ranked[item["query_id"]] = []
        for doc_id, text, score in zip(item["doc_ids"], item["doc_texts"], item["relevance_scores"]):
            corpus.append({"id": doc_id, "text": text, "title": ""})
            relevant[item["query_id"]][doc_id] = score
            top_ranked[item["query_id"]].append(doc_id)
    task = mteb.get_task("T2Reranking")
    task.dataset = {"default": {"dev": {"corpus": Dataset.from_list(corpus), "queries": Dataset.from_list(queries),
                                        "relevant_docs": relevant, "top_ranked": top_ranked}}}
    task.data_loaded = True
    return _evaluate(task, model, batch_size)


def mteb2_retrieval(corpus, queries, qrels, model) -> dict[str, Any]:
    """mteb 2 retrieval (full-corpus search, top 1000) on tables in the offline layout's columns."""
    import mteb
    from datasets import Dataset

    relevant: dict[str, dict[str, int]] = {}
    for qid, pid, score in zip(qrels["query-id"], qrels["corpus-id"], qrels["score"]):
        relevant.setdefault(qid, {})[pid] = int(score)
    task = mteb.get_task("DuRetrieval")  # ignore_identical_ids is False here
    task.dataset = {"default": {"dev": {
        "corpus": Dataset.from_dict({"id": corpus["id"], "text": corpus["text"], "title": [""] * len(corpus["id"])}),
        "queries": Dataset.from_dict(queries), "relevant_docs": relevant, "top_ranked": None}}}
    task.data_loaded = True
    return _evaluate(task, model)
