"""bge-reranker-v2-minicpm-layerwise's forward, without its remote code: the MiniCPM decoder up to the
cutoff layer, run as a transformers ``LlamaModel`` of that many layers, and the cutoff layer's
score head.

MiniCPM is Llama's decoder with three scalings (FlagEmbedding's ``modeling_minicpm_reranker.py``,
FlagOpen/FlagEmbedding @ 7ed43d6 : FlagEmbedding/inference/reranker/decoder_only/models/):
embeddings times ``scale_emb`` and each residual branch (attention output, MLP output) times
``scale_depth / sqrt(num_hidden_layers)``; the first is folded into the embedding table and the
second into ``o_proj`` and ``down_proj`` (linear maps: scaling the weight scales the output).
At cutoff layer ``n`` the reference takes ``norm(hidden state after n layers)`` through
``lm_head[n - start_layer].linear_head`` (one output, ``head_type = "simple"``: no division by
``hidden_size / dim_model_base``, which only its "raw" and "complex" heads apply); so only the
first ``n`` layers are built and run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ...errors import ModelLoadError, NotYetSupportedError


def check_layer(model: str, config: Any, layer: int) -> None:
    start, total = int(getattr(config, "start_layer", 0)), int(config.num_hidden_layers)
    if not start <= layer <= total:
        raise ModelLoadError(f"--cutoff-layers {layer}: model {model!r} has score heads for layers {start} to {total}.",
                             f"Pass --cutoff-layers between {start} and {total} (the card's default is used without it).")


def _check_supported(model: str, config: Any) -> None:
    problems = []
    if getattr(config, "head_type", None) != "simple":
        problems.append(f"head_type {getattr(config, 'head_type', None)!r} (only 'simple', one score per layer)")
    if getattr(config, "rope_scaling", None):
        problems.append(f"rope_scaling {config.rope_scaling!r}")
    if int(getattr(config, "pretraining_tp", 1) or 1) != 1:
        problems.append("pretraining_tp > 1")
    if problems:
        raise NotYetSupportedError(f"Model {model!r}: its layer-wise MiniCPM config has {'; '.join(problems)}, which "
                                   f"cmteb-eval's layer-wise forward does not run.",
                                   "Evaluate bge-reranker-v2-minicpm-layerwise as released (head_type simple).")


def read_state(folder: Path) -> dict[str, Any]:
    """Every tensor of the checkpoint (safetensors shards, else pytorch_model*.bin)."""
    import torch
    from safetensors.torch import load_file

    files = sorted(folder.glob("*.safetensors"))
    if files:
        state: dict[str, Any] = {}
        for path in files:
            state.update(load_file(str(path)))
        return state
    files = sorted(folder.glob("pytorch_model*.bin"))
    if not files:
        raise ModelLoadError(f"Model folder {folder} has no weights (*.safetensors or pytorch_model*.bin).",
                             "Copy the weight files into the folder.")
    state = {}
    for path in files:
        state.update(torch.load(str(path), map_location="cpu", weights_only=True))
    return state


def build(model: str, folder: Path, config: Any, layer: int, dtype) -> tuple[Any, Any]:
    """(a LlamaModel of the first ``layer`` layers with MiniCPM's scalings folded in, the layer's head
    weight, 1 x hidden)."""
    from transformers import LlamaConfig, LlamaModel

    _check_supported(model, config)
    check_layer(model, config, layer)
    llama = LlamaConfig(vocab_size=config.vocab_size, hidden_size=config.hidden_size,
                        intermediate_size=config.intermediate_size, num_hidden_layers=layer,
                        num_attention_heads=config.num_attention_heads,
                        num_key_value_heads=getattr(config, "num_key_value_heads", None) or config.num_attention_heads,
                        hidden_act=getattr(config, "hidden_act", "silu"),
                        max_position_embeddings=config.max_position_embeddings,
                        rms_norm_eps=getattr(config, "rms_norm_eps", 1e-6),
                        rope_theta=float(getattr(config, "rope_theta", 10000.0) or 10000.0),
                        attention_bias=bool(getattr(config, "attention_bias", False)), tie_word_embeddings=False,
                        pad_token_id=getattr(config, "pad_token_id", None))
    llama._attn_implementation = "sdpa"
    state = read_state(folder)
    residual = float(config.scale_depth) / math.sqrt(int(config.num_hidden_layers))
    base = LlamaModel(llama)
    wanted: dict[str, Any] = {}
    for name in base.state_dict():
        source = f"model.{name}"
        if source not in state:
            raise ModelLoadError(f"The checkpoint of {folder} has no tensor {source}, which layer {layer}'s score needs.",
                                 "Restore the complete checkpoint (every shard).")
        tensor = state[source].float()
        if name == "embed_tokens.weight":
            tensor = tensor * float(config.scale_emb)
        elif name.endswith(("self_attn.o_proj.weight", "mlp.down_proj.weight")):
            tensor = tensor * residual
        wanted[name] = tensor
    head_name = f"lm_head.{layer - int(config.start_layer)}.linear_head.weight" if config.head_multi \
        else "lm_head.linear_head.weight"
    if head_name not in state:
        raise ModelLoadError(f"The checkpoint of {folder} has no score head {head_name} for layer {layer}.",
                             "Restore the complete checkpoint (every shard).")
    base.load_state_dict(wanted, strict=True)
    base.to(dtype).eval()
    return base, state[head_name].to(dtype)


def config_fields(folder: Path) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(**json.loads((folder / "config.json").read_text(encoding="utf-8")))
