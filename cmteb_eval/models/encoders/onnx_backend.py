"""An onnxruntime backend for the encoder (CPU): the same weights exported to ONNX.

Kept as an option, not the default, unless it measures faster (see BENCHMARKS.md); the
tests hold its embeddings to the plain torch path within 1e-4. The export is cached
next to the embedding cache (``<cache root>/onnx/<key>/model.onnx``) or made in a
temporary folder when the cache is off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ModelLoadError

GRAPH_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _require_onnxruntime():
    try:
        import onnxruntime  # noqa: F401
        import onnx  # noqa: F401
    except ModuleNotFoundError as exc:
        raise ModelLoadError(f"The onnx backend needs the package {exc.name!r}, which is not installed.",
                             "Install it with 'pip install onnxruntime onnx', or use --backend torch.") from None
    import onnxruntime

    return onnxruntime


def export_key(identity: dict[str, Any]) -> str:
    import torch
    import transformers

    blob = json.dumps({**identity, "torch": torch.__version__, "transformers": transformers.__version__},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def export(model, path: Path) -> Path:
    """Export ``model``'s last hidden state for (input_ids, attention_mask), dynamic batch and length."""
    import torch

    class LastHidden(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    sample_ids = torch.ones((2, 8), dtype=torch.long)
    sample_mask = torch.ones((2, 8), dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"},
            "last_hidden_state": {0: "batch", 1: "length"}}
    import warnings

    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(LastHidden(model).eval(), (sample_ids, sample_mask), str(temp),
                          input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    os.replace(temp, path)
    return path


class OnnxEncoder:
    """Runs the exported encoder; returns the last hidden state as a float32 torch tensor."""

    def __init__(self, model, identity: dict[str, Any], cache_root: Path | None, threads: int,
                 onnx_file: Path | None = None) -> None:
        ort = _require_onnxruntime()
        if onnx_file is not None:  # the model folder's own export (sentence-transformers' onnx/, optimum's root)
            path = onnx_file
        elif cache_root is not None:
            path = Path(cache_root) / "onnx" / export_key(identity) / "model.onnx"
        else:
            self._temp = tempfile.TemporaryDirectory(prefix="cmteb-eval-onnx-")
            path = Path(self._temp.name) / "model.onnx"
        if not path.exists():
            export(model, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # No busy-waiting: spinning threads steal the cores torch and other processes need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        unknown = [name for name in self.inputs if name not in GRAPH_INPUTS]
        if unknown or "input_ids" not in self.inputs or "last_hidden_state" not in outputs:
            raise ModelLoadError(
                f"The ONNX graph {path} takes {', '.join(self.inputs)} and gives {', '.join(outputs)}; the onnx backend "
                f"runs graphs of input_ids, attention_mask (token_type_ids) that give last_hidden_state, as "
                f"sentence-transformers and optimum export a feature-extraction model.",
                "Export it again with optimum (feature-extraction), or use the torch weights (--backend torch).")
        self.output = outputs.index("last_hidden_state")

    def __call__(self, input_ids, attention_mask):
        import torch

        ids = input_ids.cpu().numpy().astype(np.int64)
        given = {"input_ids": ids, "attention_mask": attention_mask.cpu().numpy().astype(np.int64),
                 "token_type_ids": np.zeros_like(ids)}  # what optimum feeds when the graph takes it
        feed = {name: given[name] for name in self.inputs}
        return torch.from_numpy(self.session.run(None, feed)[self.output])
