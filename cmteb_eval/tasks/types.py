"""The task types: ONE table that says, per type, what a card of that type may hold, what its
evaluator reads and reports, and who evaluates it.

Everything that depends on a task's type reads this table: card parsing (``card.py``: the
columns, the default main metric, whether queries take the instruction, the ``[scoring]``
schema, checked at load), the data search (``data/locate.py``: the file layout, the train
split), the runner (the evaluator and what it takes), the configuration fingerprint
(``run/config.py``: the protocol id and the run options a type records) and the per-item
files (``items.py``: their format). Adding a task type is one row here plus one evaluator
module in ``cmteb_eval/evaluators/`` (docs/architecture.md, "Where to add").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Setting:
    """One ``[scoring]`` key of a task type: its type, default and allowed values."""

    kind: type
    default: Any = None
    minimum: int | None = None
    choices: tuple[str, ...] | None = None

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not a valid value of this setting (None when it is)."""
        if self.kind is bool:
            if not isinstance(value, bool):
                return f"must be true or false (a TOML boolean), got {_shown(value)}"
        elif self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                return f"must be an integer, got {_shown(value)}"
            if self.minimum is not None and value < self.minimum:
                return f"must be an integer >= {self.minimum}, got {value}"
        elif not isinstance(value, str) or (self.choices and value not in self.choices):
            allowed = ", ".join(repr(c) for c in self.choices or ())
            return f"must be one of {allowed}, got {_shown(value)}"
        return None


def _shown(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__)
    return f"{kind} {value!r}"[:80]


@dataclass(frozen=True)
class TaskType:
    """One row of the table (see the module docstring for who reads which column)."""

    name: str
    columns: tuple[str, ...]  # the logical columns the evaluator reads; a card maps them under [columns]
    main_metric: str  # the default main metric
    evaluator: str  # the module whose evaluate(spec, split, data_dirs, model, options) scores a split
    protocol: str  # the protocol id the configuration fingerprint records (run/config.py)
    items: str  # the per-item format (items.py)
    optional_columns: tuple[str, ...] = ()
    query_instruction: bool = False  # whether queries take the model's instruction by default
    scoring: Mapping[str, Setting] = field(default_factory=dict)  # the [scoring] schema, checked at card load
    layout: str = "rows"  # the local files of a split (data/locate.py): "rows", "retrieval" or "reranking"
    train_split: bool = False  # also reads the card's dataset.train_split (required then)
    takes: str = "embedder"  # what evaluate() takes: "embedder", or "pair" (embedder and/or cross-encoder)
    records: tuple[str, ...] = ()  # run options recorded with the model (evaluators/base.py, RunOptions)
    variants: Mapping[str, str] = field(default_factory=dict)  # named protocols (--protocol) and what each is


_EVALUATORS = "cmteb_eval.evaluators."

TYPES: dict[str, TaskType] = {row.name: row for row in (
    TaskType(
        "Retrieval",
        columns=("corpus_id", "corpus_text", "query_id", "query_text", "qrel_query_id", "qrel_corpus_id",
                 "qrel_score"),
        optional_columns=("corpus_title",),
        main_metric="ndcg_at_10",
        evaluator=_EVALUATORS + "retrieval",
        protocol="exact inner-product search of L2-normalised embeddings, top {top_k}; trec_eval "
                 "ndcg_cut/map_cut/recall/P (pytrec_eval definitions, ties by doc id descending) and mteb MRR@k",
        items="queries",
        query_instruction=True,
        scoring={"ignore_identical_ids": Setting(bool, False), "allow_dangling_qrels": Setting(bool, False)},
        layout="retrieval",
        takes="pair",
        records=("retrieval_top_k",),
    ),
    TaskType(
        "Reranking",
        columns=("query", "positive", "negative"),
        main_metric="map",
        evaluator=_EVALUATORS + "reranking",
        # the evaluator's dotted name, which results recorded before the protocols were named here:
        # kept, so that their configuration fingerprints still match (the variant is recorded apart)
        protocol="cmteb_eval.evaluators.reranking.evaluate",
        items="queries",
        query_instruction=True,
        scoring={"protocol": Setting(str, "v1", choices=("v1", "v2")),
                 "data_layout": Setting(str, None, choices=("mteb2",))},
        layout="reranking",
        takes="pair",
        records=("reranking_protocol",),
        variants={
            "v1": "v1 (mteb 1.x RerankingEvaluator, published C-MTEB numbers): per-query sklearn AP over the "
                  "candidates (map), MRR@10 by stable argsort (mrr); queries without a positive or a negative skipped",
            "v2": "v2 (mteb 2.x): candidates scored as a retrieval run with trec_eval; map = map_at_1000, "
                  "mrr = mrr_at_10; ties by doc id descending",
        },
    ),
    TaskType(
        "STS",
        columns=("sentence1", "sentence2", "score"),
        main_metric="cosine_spearman",
        evaluator=_EVALUATORS + "sts",
        protocol="cosine spearman (mteb)",
        items="scored-pairs",
    ),
    TaskType(
        "PairClassification",
        columns=("sentence1", "sentence2", "label"),
        main_metric="cosine_ap",
        evaluator=_EVALUATORS + "pair_classification",
        protocol="cosine AP main (C-MTEB / mteb 1.x); max_* over cosine, euclidean, manhattan, dot (mteb 2.x)",
        items="labelled-pairs",
    ),
    TaskType(
        "Classification",
        columns=("text", "label"),
        main_metric="accuracy",
        evaluator=_EVALUATORS + "classification",
        protocol="mteb logistic regression (identical in mteb 1.x and 2.x): cumulative reshuffle of one index "
                 "list by RandomState(seed) per experiment, first samples_per_label rows per label, "
                 "LogisticRegression(max_iter, random_state=seed)",
        items="examples",
        scoring={"samples_per_label": Setting(int, 8, minimum=1), "n_experiments": Setting(int, 10, minimum=1),
                 "seed": Setting(int, 42, minimum=0), "max_iter": Setting(int, 100, minimum=1)},
        train_split=True,
    ),
    TaskType(
        "Summarization",
        columns=("machine_summaries", "human_summaries", "relevance"),
        main_metric="cosine_spearman",
        evaluator=_EVALUATORS + "summarization",
        protocol="mteb summarization: per text, each machine summary's best cosine (and dot) against the text's "
                 "human summaries; Spearman and Pearson with the human relevance per text, averaged over texts "
                 "(texts whose relevance or maxima are all equal skipped)",
        items="texts",
        scoring={"protocol": Setting(str, "v2", choices=("v1", "v2"))},
        variants={
            "v1": "v1 (mteb 1.x, and mteb 2's SummEval via DeprecatedSummarizationEvaluator: the published MTEB "
                  "numbers): the mean over every text's (statistic, p-value) pair, i.e. (mean rho + mean p) / 2",
            "v2": "v2 (mteb 2's SummarizationEvaluator, SummEvalSummarization.v2): the mean of the statistics",
        },
    ),
    TaskType(
        "Clustering",
        columns=("sentences", "labels"),
        main_metric="v_measure",
        evaluator=_EVALUATORS + "clustering",
        protocol="mteb-legacy clustering (mteb 1.x = mteb 2.x AbsTaskClusteringLegacy): per set "
                 "MiniBatchKMeans(k = number of gold labels, batch_size, n_init='auto', random_state=seed), "
                 "V-measure averaged over sets",
        items="sets",
        scoring={"batch_size": Setting(int, 500, minimum=1), "seed": Setting(int, 42, minimum=0)},
    ),
)}

TASK_TYPES = tuple(TYPES)
SCORING: dict[str, Mapping[str, Setting]] = {name: row.scoring for name, row in TYPES.items()}


def task_type(name: str) -> TaskType:
    """The row of a type a card names (card.py has checked that it is one)."""
    return TYPES[name]


def scoring_defaults(name: str) -> dict[str, Any]:
    return {key: setting.default for key, setting in TYPES[name].scoring.items()}
