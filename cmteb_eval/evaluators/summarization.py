"""Summarization (mteb's protocol): for each text, every machine summary's best cosine (and dot
product) against the text's human summaries, correlated (Spearman main, Pearson) with the human
relevance of the machine summaries; the task's score is the mean over texts.

As mteb: all summaries are embedded once (human and machine), a text whose relevance scores, cosine
maxima or dot maxima are all equal is skipped, and the correlations are scipy's. Protocol (card
``[scoring] protocol``): ``v2`` averages the statistics; ``v1`` reproduces mteb 1.x (and mteb 2's
``SummEval``, the published MTEB numbers), which averages each text's (statistic, p-value) pair.
"""

from __future__ import annotations

import numpy as np

from ..data.tables import column, load_split
from ..errors import DataFormatError, UserError
from ..models.protocol import Embedder
from ..tasks.card import TaskSpec, scoring_settings
from ..tasks.items import make_items
from ..tasks.types import TYPES
from . import metrics
from .base import RunOptions, SplitResult, embed_once

PROTOCOLS = TYPES["Summarization"].variants
METRICS = ("cosine_spearman", "cosine_pearson", "dot_spearman", "dot_pearson")


def _rows(spec: TaskSpec, table, source: str) -> tuple[list[list[str]], list[list[str]], list[list[float]]]:
    machine = column(table, spec, "machine_summaries", source)
    human = column(table, spec, "human_summaries", source)
    relevance = column(table, spec, "relevance", source)
    for index, (m, h, r) in enumerate(zip(machine, human, relevance)):
        ok = (isinstance(m, list) and isinstance(h, list) and isinstance(r, list) and m and h
              and all(isinstance(t, str) for t in m + h)
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in r))
        if not ok or len(m) != len(r):
            raise DataFormatError(
                f"Task {spec.name}: row {index} of {source} is not a summarization item: it needs a non-empty list "
                f"of machine summaries, a non-empty list of human summaries (strings) and one finite relevance "
                f"number per machine summary.", "Fix the row, or map the columns under [columns] in the card.")
    return machine, human, [[float(v) for v in r] for r in relevance]


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)  # torch.nn.functional.normalize's eps, as mteb's cos_sim


def text_maxima(machine: np.ndarray, human: np.ndarray) -> tuple[list[float], list[float]]:
    """Per machine summary (rows of ``machine``): its best cosine and best dot product over ``human``,
    in float32 as mteb computes them."""
    machine, human = machine.astype(np.float32), human.astype(np.float32)
    cosine = (_normalised(machine) @ _normalised(human).T).max(axis=1)
    dot = (machine @ human.T).max(axis=1)
    return [float(v) for v in cosine], [float(v) for v in dot]


def summarization_scores(predicted: list[dict[str, list[float]]], protocol: str) -> tuple[dict[str, float], list[float]]:
    """The task's scores from the kept texts' ``{"cosine", "dot", "human"}`` lists, and each text's
    contribution to the main score (its items)."""
    per_text: dict[str, list[float]] = {name: [] for name in METRICS}
    for text in predicted:
        for name in METRICS:
            similarity, method = name.split("_")
            statistic, p_value = metrics.correlation_with_p(text["human"], text[similarity], method)
            per_text[name].append(statistic if protocol == "v2" else (statistic + p_value) / 2)
    scores = {name: float(np.mean(values)) for name, values in per_text.items()}
    scores["spearman"], scores["pearson"] = scores["cosine_spearman"], scores["cosine_pearson"]
    return scores, per_text["cosine_spearman"]


def evaluate(spec: TaskSpec, split: str, data_dirs, model: Embedder, options: RunOptions | None = None) -> SplitResult:
    protocol = scoring_settings(spec)["protocol"]
    table, source = load_split(spec, split, data_dirs)
    machine, human, relevance = _rows(spec, table, source)
    flat_human = [t for texts in human for t in texts]
    vectors, positions = embed_once(model, flat_human + [t for texts in machine for t in texts], spec)
    rows = np.asarray(positions)
    human_rows = np.split(rows[:len(flat_human)], np.cumsum([len(h) for h in human])[:-1])
    machine_rows = np.split(rows[len(flat_human):], np.cumsum([len(m) for m in machine])[:-1])
    kept, kept_index = [], []
    for index, (h, m, gold) in enumerate(zip(human_rows, machine_rows, relevance)):
        cosine, dot = text_maxima(vectors[m], vectors[h])
        if len(set(gold)) == 1 or len(set(dot)) == 1 or len(set(cosine)) == 1:
            continue  # mteb skips a text whose correlation is undefined
        kept.append({"cosine": cosine, "dot": dot, "human": gold})
        kept_index.append(index)
    if not kept:
        raise UserError(f"Task {spec.name}: no text of {source} can be scored: in every one the relevance scores, "
                        f"or the model's best similarities, are all equal.",
                        "Check the data (several machine summaries of different relevance per text) or the model.")
    scores, per_text = summarization_scores(kept, protocol)
    return SplitResult(scores=scores, source=source, protocol=PROTOCOLS[protocol],
                       items=make_items("Summarization", text_index=kept_index, text_score=per_text))
