"""The identity of a model held in memory: everything that changes its output, computed per call.

A model in memory changes between two calls of ``cmteb_eval.evaluate`` (a training loop, a user
setting ``model[1].pooling_mode = "cls"``), so its identity is computed anew on every call from

- ``weights``: a SHA-256 over every tensor of the whole stack's ``state_dict`` (name, dtype, shape,
  bytes);
- ``modules``: every torch module of the stack (``named_modules``), each with its class and its plain
  public settings (pooling mode and flags, ``include_prompt``, Dense shapes, max length, a
  transformers model's config, ...); an activation function is a child module, so its class is there;
- ``objects``: the plain public settings of the wrapper itself (a SentenceTransformer's prompts,
  ``default_prompt_name``, ``truncate_dim``; an mteb wrapper's instructions) and of the objects the
  modules hold (a tokenizer: its definition, ``tokenizer_identity``, and its settings);
- ``extra``: whatever the adapter adds (its own settings).

The components form a dict hashed together (``identity_of``), so another component (say, a prompt
template) is one more key. Private attributes (``_name``) are left out: they are caches that every
call changes; so are paths (``name_or_path``): the same weights and settings loaded from another
folder are the same model.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

# state that changes while a model runs (mode, warnings already shown) or says where it was read from
SKIPPED = frozenset({"training", "model_card_data", "deprecation_warnings", "verbose", "name_or_path",
                     "_name_or_path", "transformers_version"})
MAX_DEPTH = 6
_OMIT = object()


def _plain(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON data (str, number, bool, None, lists and dicts of them), or _OMIT."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth >= MAX_DEPTH:
        return _OMIT
    if isinstance(value, (list, tuple)):
        items = [_plain(v, depth + 1) for v in value]
        return [v for v in items if v is not _OMIT]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, str) and key not in SKIPPED and not key.startswith("_") and not _is_path_key(key):
                plain = _plain(item, depth + 1)
                if plain is not _OMIT:
                    out[key] = plain
        return out
    return _OMIT


def _is_path_key(key: str) -> bool:
    """Where a file was read from (a tokenizer's ``vocab_file``): not what it holds."""
    return key.endswith(("_file", "_files", "_path", "_dir"))


def _class(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _is_module(obj: Any) -> bool:
    return callable(getattr(obj, "named_modules", None)) and callable(getattr(obj, "state_dict", None))


def object_settings(obj: Any) -> dict[str, Any]:
    """The plain public settings of ``obj`` (its ``vars``), with the objects it holds described one level
    down: a tokenizer by its definition, a transformers config by its dict, anything else by its class
    and plain settings. Torch child modules are left to ``modules``."""
    try:
        attributes = vars(obj)
    except TypeError:
        return {"class": _class(obj)}
    out: dict[str, Any] = {"class": _class(obj)}
    for key, value in attributes.items():
        if key in SKIPPED or key.startswith("_") or _is_path_key(key) or _is_module(value):
            continue
        plain = _plain(value)
        if plain is not _OMIT:
            out[key] = plain
        elif getattr(value, "backend_tokenizer", None) is not None:
            out[key] = {"class": _class(value), "definition": tokenizer_identity(value),
                        **{k: v for k, v in _plain(vars(value)).items() if k != "init_kwargs"}}
        elif callable(getattr(value, "to_dict", None)) and hasattr(value, "model_type"):  # a transformers config
            out[key] = {"class": _class(value), **_plain(value.to_dict())}
        elif hasattr(value, "__dict__") and not callable(value):
            out[key] = {"class": _class(value), **_plain(vars(value))}
    return out


def weights_digest(module: Any, extra: Any = None) -> str | None:
    """SHA-256 over every tensor of ``module.state_dict()`` (name, dtype, shape, bytes) and ``extra``
    (settings, as JSON); None when the module has no state_dict or a tensor cannot be read (meta device)."""
    state = getattr(module, "state_dict", None)
    if not callable(state):
        return None
    import torch

    digest = hashlib.sha256()
    for name, tensor in state().items():
        if not isinstance(tensor, torch.Tensor):
            continue
        if tensor.device.type == "meta":
            return None
        data = tensor.detach().cpu().contiguous()
        if data.dtype == torch.bfloat16:
            data = data.view(torch.int16)
        elif data.dtype.itemsize == 1 and data.dtype not in (torch.uint8, torch.int8, torch.bool):
            data = data.view(torch.uint8)  # float8: numpy has no such type
        digest.update(f"{name}|{data.dtype}|{tuple(data.shape)}|".encode())
        digest.update(memoryview(data.numpy()).cast("B"))
    digest.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:32]


def tokenizer_identity(tokenizer: Any) -> str | None:
    """The tokenizer's definition (vocabulary, normalizer, ...) without the truncation and padding state
    that every call sets anew."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    body = json.loads(backend.to_str())
    body.pop("truncation", None)
    body.pop("padding", None)
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def identity_components(obj: Any, extra: Any = None) -> dict[str, Any] | None:
    """The components of ``obj``'s identity (see the module's docstring); None when it has no weights we
    can read (no torch module in it, or tensors on the meta device)."""
    stack = obj if _is_module(obj) else next((v for v in (getattr(obj, "model", None),) if _is_module(v)), None)
    if stack is None:
        return None
    weights = weights_digest(stack)
    if weights is None:
        return None
    modules = [{"name": name, **object_settings(module)} for name, module in stack.named_modules()]
    wrapper = object_settings(obj) if stack is not obj else {}
    similarity = getattr(stack, "_similarity_fn_name", None)  # a SentenceTransformer's (private, but a setting)
    return {"weights": weights, "modules": modules, "objects": wrapper,
            "similarity": similarity if isinstance(similarity, str) else None, "extra": _plain(extra)}


def identity_of(components: dict[str, Any] | None) -> str | None:
    """The identity: a SHA-256 (32 hex digits) of the components, None without components."""
    if components is None:
        return None
    text = json.dumps(components, sort_keys=True, ensure_ascii=False, default=lambda v: _class(v))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def memory_identity(obj: Any, extra: Any = None) -> str | None:
    """``identity_of(identity_components(obj, extra))``: computed now, from the model as it is now."""
    return identity_of(identity_components(obj, extra))


def default_name(obj: Any, identity: str | None) -> str:
    """The results name of a model in memory given no name: its class and a short identity
    (``in-memory-SentenceTransformer-1a2b3c4d``), so two different models never share a default name."""
    base = f"in-memory-{type(obj).__name__}"
    return f"{base}-{identity[:8]}" if identity else base


def loaded_from(model: Any):
    """The sentence-transformers folder a SentenceTransformer in memory was loaded from (its
    Transformer's ``name_or_path``, or the folder above an old ``0_Transformer/``), None when none."""
    from pathlib import Path

    if not any(c.__name__ == "SentenceTransformer" for c in type(model).__mro__):
        return None
    try:
        first = model[0]
        auto = getattr(first, "auto_model", None) or getattr(first, "model", None)
        origin = Path(str(auto.config._name_or_path))
    except (AttributeError, IndexError, KeyError, TypeError):
        return None
    for folder in (origin, origin.parent):
        if folder.is_dir() and (folder / "modules.json").is_file():
            return folder.resolve()
    return None


def folder_equal_to(model: Any):
    """The folder a SentenceTransformer in memory was loaded from, when it is still that folder's model:
    the same identity (weights and every module's settings) as the folder loaded afresh. Such a model is
    the folder's model, evaluated and named as ``cmteb-eval run --model FOLDER`` evaluates it, so it
    resumes the CLI's results; changed in any way, it is a model of its own (None)."""
    folder = loaded_from(model)
    if folder is None:
        return None
    mine = memory_identity(model)
    if mine is None:
        return None
    try:
        fresh = type(model)(str(folder), device="cpu")
    except Exception:  # noqa: BLE001  (a folder that no longer loads: the model is only in memory)
        return None
    return folder if memory_identity(fresh) == mine else None
