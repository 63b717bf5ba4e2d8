"""Finding a model's files (local folder or hub id) and loading them with transformers.

Every failure is a ModelLoadError naming what is missing; a hub id without
network access fails at once with a message, never a hang.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError, WrongModelKindError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "sentencepiece.bpe.model", "spiece.model",
                   "tokenizer.model", "vocab.json")


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false")


def local_folder(model: str) -> Path | None:
    """The model's folder when ``model`` is a local path, else None (a hub id)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    if path.exists():
        raise ModelLoadError(f"Model path {model} is a file, not a folder.",
                             "Pass the folder that holds config.json and the weights.")
    looks_like_path = model.startswith((".", "/", "~")) or model.count("/") > 1 or os.sep + os.sep in model
    if looks_like_path:
        raise ModelLoadError(f"Model folder {model} does not exist.",
                             "Check the path, or pass a hub id such as BAAI/bge-base-zh-v1.5.")
    return None


def check_folder(folder: Path) -> None:
    """Fail early, with a clear message, on a folder missing config, weights or tokenizer."""
    if not (folder / "config.json").exists():
        raise ModelLoadError(f"Model folder {folder} has no config.json.",
                             "Pass the folder saved by save_pretrained (or a sentence-transformers model folder).")
    if not any((folder / name).exists() for name in WEIGHT_FILES):
        raise ModelLoadError(f"Model folder {folder} has no weights (looked for {', '.join(WEIGHT_FILES)}).",
                             "Copy the weight files into the folder, or re-download the model.")
    if not any((folder / name).exists() for name in TOKENIZER_FILES):
        raise ModelLoadError(f"Model folder {folder} has no tokenizer files (looked for {', '.join(TOKENIZER_FILES)}).",
                             "Save the tokenizer into the folder (tokenizer.save_pretrained).")


def read_config(model: str, folder: Path | None, revision: str | None,
                trust_remote_code: bool = False) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(str(folder or model), revision=revision,
                                          trust_remote_code=trust_remote_code)
    except Exception as exc:
        raise _hub_error(model, revision, exc) from None


def read_config_fields(model: str, folder: Path | None, revision: str | None,
                       trust_remote_code: bool = False) -> Any:
    """The model's config fields. A local folder's config.json is read as JSON, without
    importing transformers (a run served from the embedding cache never needs it); a hub
    id goes through ``AutoConfig``."""
    if folder is None:
        return read_config(model, folder, revision, trust_remote_code)
    import json
    from types import SimpleNamespace

    path = folder / "config.json"
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"The model config {path} cannot be read: {type(exc).__name__}: {str(exc)[:200]}.",
                             "Save the model again (save_pretrained) or restore config.json.") from None
    if not isinstance(fields, dict) or "model_type" not in fields:
        raise ModelLoadError(f"The model config {path} is not a transformers config (no model_type).",
                             "Save the model again (save_pretrained) or restore config.json.")
    return SimpleNamespace(**fields)


def _hub_error(model: str, revision: str | None, exc: Exception) -> ModelLoadError:
    if needs_remote_code(exc):
        return remote_code_error(model, str(exc)[:200])
    if hub_offline():
        return ModelLoadError(
            f"Model {model!r} is not a local folder and the hub is off (HF_HUB_OFFLINE=1).",
            "Pass the path of a local copy of the model, or run with hub access.")
    return ModelLoadError(
        f"Model {model!r}{'@' + revision if revision else ''} could not be loaded: "
        f"{type(exc).__name__}: {str(exc)[:300]}.",
        "Check the hub id and your network, or pass the path of a local copy.")


def is_cross_encoder(config: Any) -> bool:
    """A sequence-classification head with one output: a reranker, not an embedder."""
    architectures = getattr(config, "architectures", None) or []
    return any(a.endswith("ForSequenceClassification") for a in architectures)


def refuse_cross_encoder(model: str, config: Any) -> None:
    if is_cross_encoder(config):
        raise WrongModelKindError(
            f"Model {model!r} is a cross-encoder ({', '.join(config.architectures)}): it scores "
            f"(query, passage) pairs and has no sentence embedding.",
            "Evaluate it as a reranker with --reranker, on Reranking tasks; evaluating it as a "
            "bi-encoder gives meaningless numbers.")


def load_tokenizer(model: str, folder: Path | None, revision: str | None, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(folder or model), revision=revision, use_fast=True,
                                             trust_remote_code=trust_remote_code)
    except Exception as exc:
        if folder is not None and needs_remote_code(exc):
            raise remote_code_error(model, str(exc)[:200]) from None
        if folder is not None:
            raise ModelLoadError(f"The tokenizer in {folder} cannot be loaded: {type(exc).__name__}: {str(exc)[:300]}.",
                                 "Save the tokenizer into the folder again (tokenizer.save_pretrained).") from None
        raise _hub_error(model, revision, exc) from None


def load_weights(model_class, model: str, folder: Path | None, revision: str | None, dtype,
                 trust_remote_code: bool = False):
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        return model_class.from_pretrained(str(folder or model), revision=revision, dtype=dtype,
                                           trust_remote_code=trust_remote_code)
    except Exception as exc:
        if folder is not None and needs_remote_code(exc):
            raise remote_code_error(model, str(exc)[:200]) from None
        if folder is not None:
            raise ModelLoadError(f"The weights in {folder} cannot be loaded: {type(exc).__name__}: {str(exc)[:300]}.",
                                 "Re-download the model or check that the files are complete.") from None
        raise _hub_error(model, revision, exc) from None


def weights_fingerprint(folder: Path) -> str:
    """A short hash identifying a local model in result files.

    It hashes the config and, per weight file, its size and first and last MiB,
    so it is quick on large models.
    """
    import hashlib

    digest = hashlib.sha256()
    for name in ("config.json", *WEIGHT_FILES):
        path = folder / name
        if not path.exists():
            continue
        size = path.stat().st_size
        digest.update(f"{name}:{size}".encode())
        with path.open("rb") as handle:
            digest.update(handle.read(1 << 20))
            if size > 2 << 20:
                handle.seek(-(1 << 20), os.SEEK_END)
                digest.update(handle.read())
    return digest.hexdigest()[:16]


def tokenizer_fingerprint(folder: Path) -> str:
    """A hash of the tokenizer files in ``folder`` (they change token ids, hence embeddings)."""
    import hashlib

    digest = hashlib.sha256()
    for name in (*TOKENIZER_FILES, "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"):
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


# ------------------------------------------------------------------ remote code, token ids


def needs_remote_code(exc: Exception) -> bool:
    return "trust_remote_code" in str(exc)


def remote_code_error(model: str, detail: str) -> ModelLoadError:
    return ModelLoadError(
        f"Model {model!r} needs its own Python code to load ({detail}), and remote code is off by default.",
        "Pass --trust-remote-code to run it: that executes the code shipped with the model, so only do it "
        "for a model whose source you trust.")


def refuse_remote_code(model: str, config: Any, trust_remote_code: bool) -> None:
    """Before anything loads: a config whose ``auto_map`` names code for a model type transformers
    does not know cannot load without ``--trust-remote-code``; say so rather than fail later."""
    auto_map = getattr(config, "auto_map", None)
    if trust_remote_code or not auto_map:
        return
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    model_type = getattr(config, "model_type", None)
    if model_type not in CONFIG_MAPPING_NAMES:
        names = ", ".join(f"{k}: {v}" for k, v in auto_map.items()) if isinstance(auto_map, dict) else str(auto_map)
        raise remote_code_error(model, f"config.json's model_type {model_type!r} is not one transformers knows; "
                                       f"its auto_map names {names[:160]}")


def check_token_ids(token_ids: list[list[int]], config: Any, model: str) -> None:
    """A token id beyond the embedding table (a tokenizer from another model) is an error, not an IndexError."""
    vocab = getattr(config, "vocab_size", None)
    if isinstance(vocab, bool) or not isinstance(vocab, int) or vocab <= 0:
        return
    top = max((max(ids) for ids in token_ids if ids), default=-1)
    if top >= vocab:
        raise ModelLoadError(
            f"The tokenizer of {model!r} produced token id {top}, but the model's embedding table has {vocab} rows "
            f"(config vocab_size): the tokenizer and the weights do not belong together.",
            "Save the tokenizer the weights were trained with into the model folder (tokenizer.save_pretrained).")
