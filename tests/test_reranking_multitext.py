"""Reranking with multi-text queries (MindSmallReranking: a user's click history is the query): each candidate's
score is its best cosine over the query's texts, as mteb 1.x's RerankingEvaluator takes torch.amax over them."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from cmteb_eval.errors import NotYetSupportedError
from cmteb_eval.evaluators import reranking
from cmteb_eval.models.pair import ModelPair
from cmteb_eval.tasks.registry import Registry

from parity_data import write_jsonl


class HashEmbedder:
    def encode(self, texts, *, role="text", task=None):
        rows = [np.random.default_rng(int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little")).normal(size=6)
                for t in texts]
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), 6)

    def describe(self, task=None):
        return {"kind": "embedder", "model": "hash"}


ROWS = {"query": [["news about rain", "storm warning"], "football results", ["stocks fall", "bank rates", "gold"]],
        "positive": [["heavy rain tonight"], ["the match ended 2-1", "league table"], ["markets drop"]],
        "negative": [["new phone released", "cooking pasta"], ["weather is fine"], ["a cat video", "tennis", "art"]]}


def unit(v):
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_a_candidate_scores_its_best_cosine_over_the_query_texts(tmp_path):
    write_jsonl(tmp_path / "MindSmallReranking" / "test.jsonl", ROWS)
    embedder = HashEmbedder()
    result = reranking.evaluate(Registry.load().task("MindSmallReranking"), "test", [tmp_path], ModelPair(embedder))
    expected = []
    for query, pos, neg in zip(ROWS["query"], ROWS["positive"], ROWS["negative"]):
        texts = query if isinstance(query, list) else [query]
        scores = (unit(embedder.encode(texts)) @ unit(embedder.encode(pos + neg)).T).max(axis=0)
        expected.append(average_precision_score([1] * len(pos) + [0] * len(neg), scores))
    assert result.scores["map"] == pytest.approx(np.mean(expected), abs=1e-9)


def test_a_cross_encoder_refuses_multi_text_queries_clearly(tmp_path):
    write_jsonl(tmp_path / "MindSmallReranking" / "test.jsonl", ROWS)

    class Scorer:
        def score_pairs(self, pairs, task=None):
            return np.zeros(len(pairs))

        def describe(self, task=None):
            return {"kind": "cross-encoder"}

    with pytest.raises(NotYetSupportedError, match="lists of texts"):
        reranking.evaluate(Registry.load().task("MindSmallReranking"), "test", [tmp_path],
                           ModelPair(HashEmbedder(), Scorer()))
