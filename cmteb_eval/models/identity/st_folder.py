"""Reading a sentence-transformers folder the way sentence-transformers (3.x to 6.x) reads it.

``modules.json`` lists the modules in order; each module's folder holds its config. We run the
chain ``Transformer -> Pooling -> (Dense | LayerNorm | Normalize | Dropout)*`` and read every
setting that changes a vector:

- Transformer: the folder of its files (the root, or ``0_Transformer/`` in the old layout), the max
  length (``sentence_bert_config.json``'s ``max_seq_length`` as ST <= 5.3 writes it, else the
  tokenizer's ``model_max_length`` capped at the position embeddings, as ST >= 5.4 does), and
  ``do_lower_case``;
- Pooling in both config formats (the ``pooling_mode_*`` booleans of ST <= 5.3, the ``pooling_mode``
  string or list of ST >= 5.4): every mode, concatenated in ST's order, and ``include_prompt``;
- Dense (weights, bias, activation), LayerNorm, Normalize;
- ``config_sentence_transformers.json``: the prompts (the query prompt is the query instruction,
  the document prompt the passages', the default prompt that of every other text, as mteb runs
  them; prompts keyed by task or type in mteb's scheme, ``prompts.py``), ``truncate_dim`` and
  ``similarity_fn_name``.

Anything else (another module type, module kwargs, a transformer task other than feature
extraction, a non-torch activation) is a ModelLoadError naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ModelLoadError, WrongModelKindError

RUN = ("Transformer", "Pooling", "Dense", "Normalize", "LayerNorm", "Dropout")
# ST <= 5.3 Pooling booleans, in the order ST concatenates their vectors
LEGACY_POOLING = (("pooling_mode_cls_token", "cls"), ("pooling_mode_max_tokens", "max"),
                  ("pooling_mode_mean_tokens", "mean"), ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"),
                  ("pooling_mode_weightedmean_tokens", "weightedmean"), ("pooling_mode_lasttoken", "lasttoken"))
ST_POOLING_MODES = tuple(mode for _, mode in LEGACY_POOLING)
TRANSFORMER_CONFIGS = ("sentence_bert_config.json", "sentence_roberta_config.json", "sentence_distilbert_config.json",
                       "sentence_camembert_config.json", "sentence_albert_config.json",
                       "sentence_xlm-roberta_config.json", "sentence_xlnet_config.json")
TEXT_MODALITY = {"text": {"method": "forward", "method_output_name": "last_hidden_state"}}
PROMPT_KEYS = ("query", "document", "passage", "corpus")
ST_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
FIX = "Evaluate it with sentence-transformers itself, or save it without that part."


@dataclass(frozen=True)
class StFolder:
    """What a sentence-transformers folder says about how its vectors are made."""

    root: Path
    transformer_dir: Path  # config.json, weights and tokenizer of the Transformer module
    pooling: str | None  # the modes joined by '+' (ST's concatenation order); None: no Pooling module
    include_prompt: bool = True
    head: tuple = ()  # steps after pooling, before a final Normalize: ("dense", ...), ("layernorm", ...), ("normalize",)
    normalize: bool = False  # the chain ends with Normalize
    max_length: int | None = None  # from sentence_bert_config.json (ST <= 5.3), else None
    max_length_source: str = ""
    lowercase: bool = False  # do_lower_case: a Lowercase normalizer in front of the tokenizer's
    prompts: dict = field(default_factory=dict)
    default_prompt_name: str | None = None
    truncate_dim: int | None = None
    module_files: tuple = ()  # every file besides the transformer's that changes a vector


def _positive_int(value) -> bool:
    """A positive JSON integer (true and false are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _read(path: Path, default: Any = None) -> Any:
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"Model file {path} cannot be read as JSON: {exc}.",
                             "Restore the file from the model's original release.") from None


def module_class(kind: str) -> str:
    return kind.rpartition(".")[2]


def pooling_modes(config: dict, where: Path) -> tuple[tuple[str, ...], bool]:
    """The Pooling modes (ST's order) and include_prompt, from either config format."""
    if "pooling_mode" in config:  # ST >= 5.4
        mode = config["pooling_mode"]
        modes = (mode,) if isinstance(mode, str) else tuple(mode) if isinstance(mode, list) else ()
    else:  # ST <= 5.3 booleans; none true is mean in ST 6.x
        modes = tuple(mode for key, mode in LEGACY_POOLING if config.get(key)) or ("mean",)
    unknown = [m for m in modes if m not in ST_POOLING_MODES] or ([] if modes else [config.get("pooling_mode")])
    if unknown:
        raise ModelLoadError(f"{where}: pooling mode {unknown[0]!r} is not one sentence-transformers runs "
                             f"({', '.join(ST_POOLING_MODES)}).", "Fix the Pooling config.")
    return modes, bool(config.get("include_prompt", True))


def _weights(folder: Path, what: str) -> Path:
    for name in ST_WEIGHTS:
        if (folder / name).is_file():
            return folder / name
    raise ModelLoadError(f"The {what} module's folder {folder} has no weights (looked for {', '.join(ST_WEIGHTS)}).",
                         "Copy the module's weights from the model's original release.")


def _transformer(sub: Path, entry: dict) -> tuple[int | None, str, bool]:
    """(max length from the file or None, where it came from, do_lower_case) of the Transformer module."""
    config = next((c for name in TRANSFORMER_CONFIGS if (c := _read(sub / name)) is not None), {})
    if not isinstance(config, dict):
        config = {}
    task = config.get("transformer_task", "feature-extraction")
    if task != "feature-extraction":
        raise ModelLoadError(f"{sub}: the Transformer module runs transformer_task {task!r}; an embedder needs "
                             f"'feature-extraction'.", FIX)
    if config.get("modality_config", TEXT_MODALITY) != TEXT_MODALITY \
            or config.get("module_output_name", "token_embeddings") != "token_embeddings":
        raise ModelLoadError(f"{sub}: the Transformer module's modality_config/module_output_name "
                             f"({config.get('modality_config')}, {config.get('module_output_name')}) are not the text "
                             f"last_hidden_state -> token_embeddings this harness runs.", FIX)
    for key in ("processing_kwargs", "query_length", "document_length", "query_expansion", "model_args",
                "tokenizer_args", "config_args", "model_kwargs", "processor_kwargs", "config_kwargs"):
        value = config.get(key)
        if value and not (isinstance(value, dict) and set(value) <= {"trust_remote_code"}):
            raise ModelLoadError(f"{sub}: the Transformer module sets {key} = {value!r}, which this harness does not "
                                 f"run.", FIX)
    length = config.get("max_seq_length")
    if length is not None and not _positive_int(length):
        raise ModelLoadError(f"{sub}: max_seq_length {length!r} is not a positive number of tokens.",
                             "Fix sentence_bert_config.json.")
    source = f"max_seq_length of {entry.get('path') or '.'}/sentence_bert_config.json" if length else ""
    return length, source, bool(config.get("do_lower_case", False))


def _head_step(kind: str, sub: Path, entry: dict, files: list[Path]) -> tuple | None:
    config = _read(sub / "config.json", {}) or {}
    if kind == "Dropout":
        return None  # the identity in eval mode
    if kind == "Normalize":
        if config.get("module_input_name", "sentence_embedding") != "sentence_embedding":
            raise ModelLoadError(f"{sub}: Normalize on {config['module_input_name']!r} is not run here.", FIX)
        return ("normalize",)
    for key in ("module_input_name", "module_output_name"):
        if config.get(key, "sentence_embedding") != "sentence_embedding":
            raise ModelLoadError(f"{sub}: {kind} on {config[key]!r} (not the sentence embedding) is not run here.", FIX)
    needed = ("dimension",) if kind == "LayerNorm" else ("in_features", "out_features")
    absent = [key for key in needed if not _positive_int(config.get(key))]
    if absent:
        where = f"{sub / 'config.json'} " + ("is missing" if not (sub / "config.json").is_file()
                                             else f"has no positive integer {' or '.join(absent)}")
        raise ModelLoadError(f"The {kind} module's config {where}: its shape is unknown, so its vectors cannot be "
                             f"made.", "Restore the module's config.json from the model's original release (it is "
                             "written by sentence-transformers' save()).")
    weights = _weights(sub, kind)
    files += [sub / "config.json", weights]
    if kind == "LayerNorm":
        return ("layernorm", int(config["dimension"]), str(weights))
    activation = config.get("activation_function", "torch.nn.modules.activation.Tanh")
    if not isinstance(activation, str) or not activation.startswith("torch."):
        raise ModelLoadError(f"{sub}: the Dense activation {activation!r} is not a torch module (sentence-transformers "
                             f"6 replaces it with Tanh, older versions import it).", FIX)
    if config.get("use_residual"):
        raise ModelLoadError(f"{sub}: Dense with use_residual is not run here.", FIX)
    return ("dense", int(config["in_features"]), int(config["out_features"]), bool(config.get("bias", True)),
            activation, str(weights))


def _prompts(root: Path, st_config: dict) -> tuple[dict, str | None]:
    prompts = st_config.get("prompts") or {}
    if not isinstance(prompts, dict):
        raise ModelLoadError(f"{root}/config_sentence_transformers.json: prompts must be an object.",
                             "Fix the file.")
    default = st_config.get("default_prompt_name")
    if default is not None and default not in prompts:
        raise ModelLoadError(f"{root}: default_prompt_name {default!r} is not one of the prompts "
                             f"({', '.join(prompts) or 'none'}).", "Fix config_sentence_transformers.json.")
    bad = sorted(str(k) for k, v in prompts.items() if v is not None and not isinstance(v, str))
    if bad:
        raise ModelLoadError(f"{root}/config_sentence_transformers.json: prompts {', '.join(bad)} are not strings.",
                             "Fix the file.")
    # prompts keyed by task or type run in mteb's key scheme (identity/prompts.py)
    return {str(k): str(v or "") for k, v in prompts.items()}, default


def read_st_folder(root: Path) -> StFolder | None:
    """The folder's sentence-transformers modules, or None when it has no modules.json."""
    modules = _read(root / "modules.json")
    if modules is None:
        return None
    if not isinstance(modules, list) or not modules or not all(isinstance(m, dict) for m in modules):
        raise ModelLoadError(f"{root}/modules.json is not a list of modules.", "Restore it from the model's release.")
    st_config = _read(root / "config_sentence_transformers.json", {}) or {}
    model_type = st_config.get("model_type", "SentenceTransformer")
    if model_type == "CrossEncoder":
        raise WrongModelKindError(f"Model folder {root} is a sentence-transformers CrossEncoder: it scores (query, "
                                  f"passage) pairs and has no sentence embedding.",
                                  "Evaluate it as a reranker (--reranker, or reranker= in the Python API).")
    if model_type != "SentenceTransformer":
        raise ModelLoadError(f"Model folder {root} is a sentence-transformers {model_type}; this harness runs dense "
                             f"SentenceTransformer embedders.", FIX)
    similarity = st_config.get("similarity_fn_name") or "cosine"
    files = [p for p in (root / "modules.json", root / "config_sentence_transformers.json") if p.is_file()]
    kinds = []
    for number, entry in enumerate(modules):
        kind = str(entry.get("type", ""))
        name = module_class(kind)
        if not kind.startswith("sentence_transformers.") or name not in RUN:
            raise ModelLoadError(f"Model folder {root}: module {number} ({kind or 'no type'}) is not one this harness "
                                 f"runs ({', '.join(RUN)}).", FIX)
        if entry.get("kwargs"):
            raise ModelLoadError(f"Model folder {root}: module {number} ({name}) takes kwargs {entry['kwargs']} "
                                 f"(task routing), which this harness does not run.", FIX)
        kinds.append(name)
    if kinds[0] != "Transformer" or kinds.count("Transformer") != 1 or kinds.count("Pooling") != 1 \
            or kinds[1] != "Pooling":
        raise ModelLoadError(f"Model folder {root}: modules {kinds} are not Transformer, Pooling, then Dense, "
                             f"LayerNorm or Normalize modules, the chain this harness runs.", FIX)
    transformer_dir = (root / str(modules[0].get("path", ""))).resolve()
    max_length, source, lowercase = _transformer(transformer_dir, modules[0])
    pooling_dir = root / str(modules[1].get("path", ""))
    pooling_config = _read(pooling_dir / "config.json")
    if not isinstance(pooling_config, dict):
        raise ModelLoadError(f"Model folder {root}: the Pooling module has no config.json in {pooling_dir}.",
                             "Restore the module's folder from the model's original release.")
    files.append(pooling_dir / "config.json")
    modes, include_prompt = pooling_modes(pooling_config, pooling_dir)
    steps = [s for entry, kind in zip(modules[2:], kinds[2:])
             if (s := _head_step(kind, root / str(entry.get("path", "")), entry, files)) is not None]
    normalize = bool(steps) and steps[-1] == ("normalize",)
    if normalize:
        steps = steps[:-1]
    if similarity not in ("cosine",) and not (similarity == "dot" and normalize):
        raise ModelLoadError(f"Model folder {root}: similarity_fn_name {similarity!r}; this harness scores with the "
                             f"cosine (the same as dot only for normalised vectors).", FIX)
    truncate = st_config.get("truncate_dim")
    if truncate is not None and not _positive_int(truncate):
        raise ModelLoadError(f"Model folder {root}: truncate_dim {truncate!r} is not a positive number.",
                             "Fix config_sentence_transformers.json.")
    prompts, default = _prompts(root, st_config)
    return StFolder(root=root, transformer_dir=transformer_dir, pooling="+".join(modes), include_prompt=include_prompt,
                    head=tuple(steps), normalize=normalize, max_length=max_length, max_length_source=source,
                    lowercase=lowercase, prompts=prompts, default_prompt_name=default, truncate_dim=truncate,
                    module_files=tuple(files))


def instructions(st: StFolder) -> dict[str, tuple[str, str]]:
    """Role -> (prompt, where it came from), as mteb runs a SentenceTransformer: queries take the
    query prompt, passages the document prompt, every other text the default prompt."""
    out: dict[str, tuple[str, str]] = {}
    where = "config_sentence_transformers.json"
    if st.prompts.get("query"):
        out["query"] = (st.prompts["query"], f"prompts['query'] of {where}")
    # sentence-transformers 6 always has a "document" prompt ('' unless given), which encode_document and
    # mteb take before "passage" or "corpus": a "passage" prompt of a 3.x save is not used by either
    if st.prompts.get("document"):
        out["passage"] = (st.prompts["document"], f"prompts['document'] of {where}")
    if st.default_prompt_name and st.prompts.get(st.default_prompt_name):
        out["text"] = (st.prompts[st.default_prompt_name],
                       f"prompts[{st.default_prompt_name!r}] (default_prompt_name) of {where}")
    return out


def tokenizer_max_length(folder: Path, config: Any) -> tuple[int | None, str]:
    """ST >= 5.4's max length when no max_seq_length is given: the tokenizer's model_max_length,
    capped at max_position_embeddings (None: no limit stated by either)."""
    stated = (_read(folder / "tokenizer_config.json", {}) or {}).get("model_max_length")
    stated = stated if isinstance(stated, int) and not isinstance(stated, bool) and 0 < stated < 10 ** 12 else None
    positions = getattr(config, "max_position_embeddings", None)
    positions = positions if isinstance(positions, int) and not isinstance(positions, bool) and positions > 0 else None
    found = [n for n in (stated, positions) if n is not None]
    if not found:
        return None, ""
    value = min(found)
    return value, ("model_max_length of tokenizer_config.json" if value == stated
                   else "max_position_embeddings of config.json")
