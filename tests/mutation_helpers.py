"""Helpers for the stale/foreign/incomplete-model tests: checkpoints edited in place, a model
large enough that a sampled fingerprint would miss an edit, a small reranking task, CLI runs."""

from __future__ import annotations

import io
import json
import random
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from conftest import VOCAB, write_tiny_bert
from reliability_helpers import WORDS


def write_wide_bert(folder: Path, seed: int = 0) -> Path:
    """A random BERT whose model.safetensors is over 3 MiB: its middle layers lie outside the
    first and last MiB of the file (what a sampled fingerprint used to hash)."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(dict.fromkeys(VOCAB)) + "\n", encoding="utf-8")
    config = BertConfig(vocab_size=len(dict.fromkeys(VOCAB)), hidden_size=32, num_hidden_layers=6,
                        num_attention_heads=2, intermediate_size=2048, max_position_embeddings=128,
                        initializer_range=0.2)
    torch.manual_seed(seed)
    BertModel(config).eval().save_pretrained(folder)
    BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True).save_pretrained(folder)
    assert (folder / "model.safetensors").stat().st_size > 3 << 20
    return folder


def tensors(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def save_tensors(folder: Path, values: dict) -> None:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in values.items()}, folder / "model.safetensors",
              metadata={"format": "pt"})


def edit_config(folder: Path, **changes) -> None:
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config, indent=2))


def copy_model(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def tiny_models(root: Path) -> tuple[Path, Path]:
    """Two different tiny BERTs (seeds 1 and 2) with the same tokenizer."""
    return (write_tiny_bert(root / "model-a", seed=1, initializer_range=0.2),
            write_tiny_bert(root / "model-b", seed=2, initializer_range=0.2))


def write_reranking_task(folder: Path, name: str, n_queries: int = 12, seed: int = 0) -> Path:
    """A Reranking card with local rows (query, positive list, negative list); returns the card."""
    rng = random.Random(seed)
    data = folder / f"{name}_data"
    data.mkdir(parents=True, exist_ok=True)
    sentence = lambda: " ".join(rng.choices(WORDS, k=rng.randint(2, 6)))  # noqa: E731
    with (data / "dev.jsonl").open("w", encoding="utf-8") as handle:
        for _ in range(n_queries):
            row = {"query": sentence(), "positive": [sentence() for _ in range(rng.randint(1, 3))],
                   "negative": [sentence() for _ in range(rng.randint(2, 6))]}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    card = folder / f"{name}.toml"
    card.write_text(f'name = "{name}"\ntype = "Reranking"\nlanguages = ["eng-Latn"]\neval_splits = ["dev"]\n'
                    f'[dataset]\nhub_id = "cmteb-eval/tests"\nrevision = "bundled"\nlocal_dir = "{name}_data"\n',
                    encoding="utf-8")
    return card


def cli(*args: str) -> tuple[int, str, str]:
    """``cmteb-eval ARGS`` in this process: (exit code, stdout, stderr)."""
    import warnings

    from cmteb_eval.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()
