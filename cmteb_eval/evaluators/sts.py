"""STS: Spearman (main) and Pearson of the cosine similarity against the gold score,
as mteb computes them; Manhattan and Euclidean variants are reported as mteb does."""

from __future__ import annotations

from ..data.checks import check_computable, check_min_rows, check_not_constant
from ..data.tables import column, load_split, numeric_column, text_column
from ..errors import UserError
from ..models.protocol import TEXT, Embedder
from ..tasks.card import TaskSpec
from ..tasks.items import make_items
from ..tasks.types import TYPES
from . import metrics
from .base import RunOptions, SplitResult

PROTOCOL = TYPES["STS"].protocol


def evaluate(spec: TaskSpec, split: str, data_dirs, model: Embedder, options: RunOptions | None = None) -> SplitResult:
    table, source = load_split(spec, split, data_dirs)
    first = text_column(column(table, spec, "sentence1", source), spec, "sentence1", source)
    second = text_column(column(table, spec, "sentence2", source), spec, "sentence2", source)
    gold = numeric_column(column(table, spec, "score", source), spec, "score", source)
    check_min_rows(len(gold), 3, task=spec.name, source=source, why="a correlation needs at least three pairs")
    check_not_constant(gold, role="gold score", task=spec.name, source=source)
    check_computable(gold, role="gold score", task=spec.name, source=source)
    # Both sides in one call: a text that appears on either side is encoded once.
    vectors = model.encode(first + second, role=TEXT, task=spec)
    left, right = vectors[: len(first)], vectors[len(first):]
    check_similarities_vary(metrics.paired_cosine(left, right), spec, source)
    return SplitResult(
        scores=sts_scores(left, right, gold),
        source=source,
        protocol=PROTOCOL,
        items=make_items("STS", gold=gold, cosine=metrics.paired_cosine(left, right).tolist()),
    )


def check_similarities_vary(cosine, spec: TaskSpec, source: str) -> None:
    """A model that gives every pair one similarity makes the correlation undefined: say why, not 'degenerate data'."""
    if len(cosine) and float(cosine.min()) == float(cosine.max()):
        raise UserError(
            f"Task {spec.name}: the model gave all {len(cosine)} pairs of {source} the same cosine similarity "
            f"({float(cosine[0]):.6g}), so a correlation with the gold scores is undefined.",
            "This happens when every text is encoded alike: a --max-length too short to keep the words that tell "
            "the texts apart, or a broken model.")


def sts_scores(left, right, gold) -> dict[str, float]:
    cosine = metrics.paired_cosine(left, right)
    manhattan = -metrics.paired_manhattan(left, right)
    euclidean = -metrics.paired_euclidean(left, right)
    scores = {
        "cosine_pearson": metrics.pearson(cosine, gold),
        "cosine_spearman": metrics.spearman(cosine, gold),
        "manhattan_pearson": metrics.pearson(manhattan, gold),
        "manhattan_spearman": metrics.spearman(manhattan, gold),
        "euclidean_pearson": metrics.pearson(euclidean, gold),
        "euclidean_spearman": metrics.spearman(euclidean, gold),
    }
    scores["pearson"] = scores["cosine_pearson"]
    scores["spearman"] = scores["cosine_spearman"]
    return scores
