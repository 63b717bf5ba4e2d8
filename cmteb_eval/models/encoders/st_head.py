"""The modules a sentence-transformers folder runs after pooling (``st_folder.StFolder.head``):
Dense (``activation(x @ W.T + b)``), LayerNorm and Normalize, built from their files as
sentence-transformers builds them, applied in order to the float32 sentence vectors."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

from ...errors import ModelLoadError

FIX = "Evaluate it with sentence-transformers itself, or save it without that module."


def _state(path: str) -> dict:
    import torch

    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    return torch.load(path, map_location="cpu", weights_only=True)


def _activation(name: str):
    """``torch.nn.modules.activation.Tanh`` -> ``Tanh()``, as sentence-transformers imports it."""
    import torch

    module, _, attribute = name.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError):
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise ModelLoadError(f"The Dense activation {name!r} is not a torch module class.", FIX)
    return cls()


def _load(module, path: str, prefix: str, where: str) -> None:
    state = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in _state(path).items()}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelLoadError(f"The weights {path} do not fit the {where} module's config: {str(exc)[:300]}.",
                             "Restore the module's folder from the model's original release.") from None


def build_head(steps: tuple, device: str) -> Callable | None:
    """The steps as one callable on a (batch, dim) float32 tensor; None when there are none."""
    if not steps:
        return None
    import torch

    layers = []
    for step in steps:
        if step[0] == "dense":
            _, size_in, size_out, bias, activation, path = step
            linear = torch.nn.Linear(size_in, size_out, bias=bias)
            _load(linear, path, "linear.", f"Dense ({Path(path).parent.name})")
            layers.append(torch.nn.Sequential(linear, _activation(activation)))
        elif step[0] == "layernorm":
            _, size, path = step
            norm = torch.nn.LayerNorm(size)
            _load(norm, path, "norm.", f"LayerNorm ({Path(path).parent.name})")
            layers.append(norm)
        else:
            layers.append(None)  # Normalize
    for layer in layers:
        if layer is not None:
            layer.to(device).float().eval()

    def head(x):
        for layer in layers:
            x = torch.nn.functional.normalize(x, p=2, dim=-1) if layer is None else layer(x)
        return x

    return head


def output_dimension(hidden: int, pooling: str, steps: tuple, truncate_dim: int | None) -> int:
    """The vector size after pooling (modes concatenated), the head and truncate_dim."""
    size = hidden * len(pooling.split("+"))
    for step in steps:
        if step[0] == "dense":
            if step[1] != size:
                raise ModelLoadError(f"A Dense module takes {step[1]} inputs but receives {size}-dimensional "
                                     f"vectors ({Path(step[5]).parent}).", "Restore the model's module folders.")
            size = step[2]
        elif step[0] == "layernorm" and step[1] != size:
            raise ModelLoadError(f"A LayerNorm of dimension {step[1]} receives {size}-dimensional vectors.",
                                 "Restore the model's module folders.")
    return min(size, truncate_dim) if truncate_dim else size
