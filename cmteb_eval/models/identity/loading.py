"""Finding a model's files (local folder or hub id) and loading them with transformers.

Every failure is a ModelLoadError naming what is missing; a hub id without
network access fails at once with a message, never a hang.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from ...data.offline import hub_offline
from ...errors import ModelLoadError, WrongModelKindError

from .fingerprint import TOKENIZER_FILES, WEIGHT_FILES, onnx_files, regular_stat, weight_files
from .fingerprint import tokenizer_fingerprint, weights_fingerprint  # noqa: F401  (the model's identity)

# Checkpoint tensors that may be missing or left over because the model we build does not use
# them: (description, pattern on the tensor name, the model kind that may lack them: "embedder",
# "any" or None for none, whether they may be extra). Anything else missing, extra or of another
# shape is refused: transformers would initialise it at random, or silently drop it.
UNUSED_TENSORS = (
    ("pooler.* (the pooler head: an embedder pools the last hidden state and never uses it, so it may be "
     "absent; a reranker built without one may find it extra)", r"(^|\.)pooler\.", "embedder", True),
    ("pre-training heads (cls.predictions, cls.seq_relationship, lm_head)",
     r"^(cls\.(predictions|seq_relationship)|lm_head)\.", None, True),
    ("position_ids buffers (recomputed, not weights)", r"(^|\.)position_ids$", "any", True),
)


def local_folder(model: str) -> Path | None:
    """The model's folder when ``model`` is a local path, else None (a hub id)."""
    path = Path(model).expanduser()
    try:
        os.stat(path)
    except (OSError, ValueError) as exc:
        if getattr(exc, "errno", None) == errno.ELOOP:
            raise ModelLoadError(f"Model path {model} is a symlink loop.", "Pass the real folder of the model.") from None
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
    if regular_stat(folder / "config.json") is None:
        raise ModelLoadError(f"Model folder {folder} has no config.json.",
                             "Pass the folder saved by save_pretrained (or a sentence-transformers model folder).")
    if not weight_files(folder) and not onnx_files(folder):
        raise ModelLoadError(f"Model folder {folder} has no weights (looked for {', '.join(WEIGHT_FILES)}, "
                             f"model.onnx, onnx/model.onnx).",
                             "Copy the weight files into the folder, or re-download the model.")
    if not any(regular_stat(folder / name) is not None for name in TOKENIZER_FILES):
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
    if hub_offline(datasets=False):
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
                 trust_remote_code: bool = False, kind: str = "embedder"):
    """The model built from its checkpoint, every tensor it uses read from the files.

    A tensor the model needs that the checkpoint lacks, one the checkpoint holds that the
    model has no place for, or one of another shape is a ModelLoadError naming them
    (transformers would initialise the first and third randomly); only ``UNUSED_TENSORS``
    are let through.
    """
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # its load report would repeat, unasked, what we check below
    try:
        loaded, info = model_class.from_pretrained(str(folder or model), revision=revision, dtype=dtype,
                                                   trust_remote_code=trust_remote_code, output_loading_info=True,
                                                   ignore_mismatched_sizes=True)
    except Exception as exc:
        if folder is not None and needs_remote_code(exc):
            raise remote_code_error(model, str(exc)[:200]) from None
        if folder is not None:
            raise ModelLoadError(f"The weights in {folder} cannot be loaded: {type(exc).__name__}: {str(exc)[:300]}.",
                                 "Re-download the model or check that the files are complete.") from None
        raise _hub_error(model, revision, exc) from None
    finally:
        hf_logging.set_verbosity(verbosity)
    check_loading_info(str(folder or model), info, kind)
    return loaded


def check_token_ids(model: str, sequences, config: Any) -> None:
    """A token id the model's word embeddings have no row for (a tokenizer that does not belong
    to the checkpoint) is a ModelLoadError, not an index error inside the forward pass."""
    rows = getattr(config, "vocab_size", None)
    largest = max((max(ids) for ids in sequences if len(ids)), default=-1)
    if isinstance(rows, int) and largest >= rows:
        raise ModelLoadError(
            f"The tokenizer of {model} produced token id {largest}, but the model's word embeddings have "
            f"{rows} rows (vocab_size): the tokenizer does not belong to these weights.",
            "Save the tokenizer the model was trained with into the folder (tokenizer.save_pretrained).")


def _allowed(name: str, kind: str, missing: bool) -> bool:
    import re

    for _, pattern, missing_for, unexpected_ok in UNUSED_TENSORS:
        if re.search(pattern, name) and (missing_for in ("any", kind) if missing else unexpected_ok):
            return True
    return False


def check_loading_info(where: str, info: dict, kind: str) -> None:
    """Refuse a checkpoint whose tensors do not match the model (see ``load_weights``)."""
    missing = sorted(k for k in info.get("missing_keys") or () if not _allowed(k, kind, True))
    unexpected = sorted(k for k in info.get("unexpected_keys") or () if not _allowed(k, kind, False))
    mismatched = [f"{entry[0]} (file {tuple(entry[1])}, model {tuple(entry[2])})"
                  if isinstance(entry, (tuple, list)) and len(entry) == 3 else str(entry)
                  for entry in info.get("mismatched_keys") or ()]
    errors = [str(e) for e in info.get("error_msgs") or ()]
    problems = []
    for label, names in (("missing from the checkpoint", missing), ("in the checkpoint but not in the model",
                                                                     unexpected),
                         ("of another shape than the model's", mismatched), ("load errors", errors)):
        if names:
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            problems.append(f"{len(names)} tensor(s) {label}: {shown}" if label != "load errors"
                            else f"load errors: {shown}")
    if problems:
        allowed = "; ".join(name for name, *_ in UNUSED_TENSORS)
        raise ModelLoadError(
            f"The checkpoint of {where} does not match its config ({kind}): " + "; ".join(problems) + ". "
            "Scoring it would use randomly initialised weights.",
            f"Restore the complete checkpoint (every shard, the config it was saved with). Only tensors the "
            f"{kind} does not use may be absent or extra: {allowed}.")


# ------------------------------------------------------------------ remote code


def needs_remote_code(exc: Exception) -> bool:
    return "trust_remote_code" in str(exc)


def remote_code_error(model: str, detail: str) -> ModelLoadError:
    return ModelLoadError(
        f"Model {model!r} needs its own Python code to load ({detail}), and remote code is off by default.",
        "Pass --trust-remote-code to run it: that executes the code shipped with the model, so only do it "
        "for a model whose source you trust.")


def refuse_remote_code(model: str, config: Any, trust_remote_code: bool, ignore_remote_code: bool = False,
                       what_differs: str = "") -> str | None:
    """Before anything loads: a config whose ``auto_map`` names the model's own code runs only with
    ``--trust-remote-code`` (its code) or ``--ignore-remote-code`` (the stock transformers class, said in
    the result), whatever its model_type: a known model_type would otherwise silently run the stock class,
    which may differ from the code the authors ship (gte-Qwen2's bidirectional attention). Returns what
    was skipped (for the result file) under ``--ignore-remote-code``, else None."""
    auto_map = getattr(config, "auto_map", None)
    if trust_remote_code or not auto_map:
        return None
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    model_type = getattr(config, "model_type", None)
    names = ", ".join(f"{k}: {v}" for k, v in auto_map.items()) if isinstance(auto_map, dict) else str(auto_map)
    if model_type not in CONFIG_MAPPING_NAMES:
        raise remote_code_error(model, f"config.json's model_type {model_type!r} is not one transformers knows; "
                                       f"its auto_map names {names[:160]}")
    stock = CONFIG_MAPPING_NAMES[model_type].replace("Config", "Model")
    skipped = f"config.json's auto_map ({names[:160]}) not run: the stock transformers {stock} ran instead" + \
        (f" ({what_differs})" if what_differs else "")
    if ignore_remote_code:
        return skipped
    raise ModelLoadError(
        f"Model {model!r} ships its own code (config.json's auto_map: {names[:160]}); without "
        f"--trust-remote-code the stock transformers {stock} would run instead, which may compute other vectors"
        + (f" ({what_differs})" if what_differs else "") + ".",
        "Pass --trust-remote-code to run the model's own code (only for a source you trust), or "
        "--ignore-remote-code to run the stock class knowingly (the result file records what was skipped).")
