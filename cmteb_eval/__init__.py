"""cmteb-eval: evaluation and benchmarking of text embedders and rerankers on C-MTEB and MTEB."""

__version__ = "0.1.0"
