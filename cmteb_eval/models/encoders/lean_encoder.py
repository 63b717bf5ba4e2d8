"""A lean CPU forward pass for BERT-family encoders (BERT, RoBERTa, XLM-RoBERTa).

The same arithmetic as transformers' eager ``BertModel`` forward, with less work around
it: the query, key and value projections are one GEMM; the weights are prepacked for
oneDNN once, with the GELU and the residual additions fused into the GEMMs that feed
them; attention on short sequences is two batched matmuls and a softmax (faster here
than the CPU flash kernel); the unused pooler head is skipped. Outputs equal
transformers' last hidden state to float32 rounding (tests: 1e-5 on random BERTs);
the benchmark checks the task scores agree to 1e-4.

Only encoder-only models whose layers have BERT's structure qualify
(``lean_layers_or_none``): absolute positions, exact GELU, no cross-attention.
Anything else runs transformers' own forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SUPPORTED_MODEL_TYPES = ("bert", "roberta", "xlm-roberta")


@dataclass
class Linear:
    """One dense layer: the weight, its bias and (when oneDNN is usable) its prepacked form."""

    weight: Any
    bias: Any
    packed: Any = None

    def __call__(self, x, *, gelu: bool = False, residual=None):
        import torch

        if self.packed is not None:
            mkldnn = torch.ops.mkldnn
            if residual is not None:
                return mkldnn._linear_pointwise.binary(x, residual, self.packed, self.bias, "add")
            return mkldnn._linear_pointwise(x, self.packed, self.bias, "gelu" if gelu else "none", [],
                                            "none" if gelu else "")
        out = torch.addmm(self.bias, x, self.weight.t())
        if gelu:
            return torch.nn.functional.gelu(out)
        return out.add_(residual) if residual is not None else out


@dataclass
class LeanLayer:
    qkv: Linear
    attention_out: Linear
    norm1: tuple
    ffn_in: Linear
    ffn_out: Linear
    norm2: tuple


def config_unsupported_reason(config) -> str | None:
    """What in a model's config rules out the lean path, or None. ``config`` may be a transformers
    config or config.json's fields (absent fields take BertConfig's defaults)."""
    model_type = getattr(config, "model_type", None)
    if model_type not in SUPPORTED_MODEL_TYPES:
        return f"model type {model_type!r}"
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        return "a decoder"
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        return "relative position embeddings"
    if getattr(config, "hidden_act", "gelu") != "gelu":
        return f"activation {getattr(config, 'hidden_act', None)!r}"
    if getattr(config, "chunk_size_feed_forward", 0):
        return "chunked feed-forward"
    return None


def unsupported_reason(model) -> str | None:
    """Why ``model`` cannot take the lean path (its config or its modules), or None when it can."""
    reason = config_unsupported_reason(model.config)
    if reason is not None:
        return reason
    embeddings, encoder = getattr(model, "embeddings", None), getattr(model, "encoder", None)
    if embeddings is None or encoder is None or not hasattr(encoder, "layer"):
        return "no embeddings/encoder.layer modules"
    for layer in encoder.layer:
        try:
            attention = layer.attention
            parts = (attention.self.query, attention.self.key, attention.self.value, attention.output.dense,
                     attention.output.LayerNorm, layer.intermediate.dense, layer.output.dense, layer.output.LayerNorm)
        except AttributeError:
            return "a layer without BERT's structure"
        if any(getattr(p, "bias", None) is None for p in parts):
            return "a layer without biases"
    return None


def oned_nn_usable() -> bool:
    """Whether oneDNN's prepacked linear with fused activation is present in this torch build."""
    import torch

    try:
        return bool(torch.backends.mkldnn.is_available()) and hasattr(torch.ops.mkldnn, "_linear_pointwise") \
            and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
    except (AttributeError, RuntimeError):
        return False


def _linear(weight, bias, pack: bool) -> Linear:
    import torch

    weight, bias = weight.detach().contiguous(), bias.detach().contiguous()
    packed = torch.ops.mkldnn._reorder_linear_weight(weight, None) if pack else None
    return Linear(weight, bias, packed)


def _norm(module) -> tuple:
    return (module.weight.detach(), module.bias.detach(), float(module.eps))


class LeanEncoder:
    """``forward(input_ids, attention_mask)`` -> last hidden state, for a supported model on CPU."""

    def __init__(self, model, use_onednn: bool | None = None) -> None:
        reason = unsupported_reason(model)
        if reason is not None:
            raise ValueError(f"lean encoder does not support this model: {reason}")
        pack = oned_nn_usable() if use_onednn is None else use_onednn
        self.model = model
        config = model.config
        self.heads = config.num_attention_heads
        self.hidden = config.hidden_size
        self.head_size = self.hidden // self.heads
        self.scale = self.head_size ** -0.5
        self.layers = self._build_layers(pack)
        if pack and not self._onednn_agrees():
            self.layers, pack = self._build_layers(False), False
        self.uses_onednn = pack

    def _build_layers(self, pack: bool) -> list[LeanLayer]:
        import torch

        layers = []
        with torch.no_grad():
            for layer in self.model.encoder.layer:
                attention = layer.attention
                q, k, v = attention.self.query, attention.self.key, attention.self.value
                layers.append(LeanLayer(
                    qkv=_linear(torch.cat([q.weight, k.weight, v.weight]), torch.cat([q.bias, k.bias, v.bias]), pack),
                    attention_out=_linear(attention.output.dense.weight, attention.output.dense.bias, pack),
                    norm1=_norm(attention.output.LayerNorm),
                    ffn_in=_linear(layer.intermediate.dense.weight, layer.intermediate.dense.bias, pack),
                    ffn_out=_linear(layer.output.dense.weight, layer.output.dense.bias, pack),
                    norm2=_norm(layer.output.LayerNorm)))
        return layers

    def _onednn_agrees(self) -> bool:
        """Probe the private oneDNN ops once against plain addmm: a torch build where they changed
        or misbehave falls back to addmm instead of failing or drifting."""
        import torch

        layer = self.layers[0]
        plain = Linear(layer.ffn_in.weight, layer.ffn_in.bias)
        probe = torch.randn(3, self.hidden, generator=torch.Generator().manual_seed(0))
        try:
            with torch.inference_mode():
                fused = layer.ffn_in(probe, gelu=True)
                reference = plain(probe, gelu=True)
                residual_ok = torch.allclose(layer.attention_out(probe, residual=probe),
                                             Linear(layer.attention_out.weight, layer.attention_out.bias)(
                                                 probe, residual=probe.clone()), atol=1e-4, rtol=1e-4)
        except (RuntimeError, TypeError, AttributeError):
            return False
        return residual_ok and fused.shape == reference.shape and torch.allclose(fused, reference, atol=1e-4, rtol=1e-4)

    def __call__(self, input_ids, attention_mask):
        import torch
        from torch.nn.functional import layer_norm

        batch, length = input_ids.shape
        hidden, heads, size = self.hidden, self.heads, self.head_size
        h = self.model.embeddings(input_ids=input_ids).reshape(batch * length, hidden)
        additive = None
        if not bool(attention_mask.all()):  # keys that are padding get the most negative float
            additive = torch.zeros(batch, 1, 1, length, dtype=h.dtype)
            additive.masked_fill_(~attention_mask.bool()[:, None, None, :], torch.finfo(h.dtype).min)
        for layer in self.layers:
            qkv = layer.qkv(h).view(batch, length, 3, heads, size).permute(2, 0, 3, 1, 4)
            scores = torch.matmul(qkv[0] * self.scale, qkv[1].transpose(-1, -2))
            if additive is not None:
                scores = scores + additive
            context = torch.matmul(scores.softmax(-1), qkv[2]).transpose(1, 2).reshape(batch * length, hidden)
            h = layer_norm(layer.attention_out(context, residual=h), (hidden,), *layer.norm1[:2], layer.norm1[2])
            inner = layer.ffn_in(h, gelu=True)
            h = layer_norm(layer.ffn_out(inner, residual=h), (hidden,), *layer.norm2[:2], layer.norm2[2])
        return h.view(batch, length, hidden)
