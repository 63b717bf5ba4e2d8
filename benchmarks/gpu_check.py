"""One prepared GPU check: fp16/bf16 parity against fp32, and encoder timing, on bge-sized random BERTs.

No BGE weights exist offline, so the models are randomly initialised BERTs with the shapes
of bge-small/base/large-zh-v1.5 (hidden size, layers, heads, the 21128-token Chinese
vocabulary) and CLS pooling, as the model card runs them. Each goes through cmteb-eval's
own embedder (token-budget batches, half precision on CUDA with pooling in fp32, the
out-of-memory halving) and is compared with the same embedder in float32:

- parity: the largest absolute difference of the normalised embeddings, and the Spearman
  correlation between fp32 and half-precision cosines of random text pairs (how far a
  score could move);
- speed: texts/s and tokens/s per dtype, after one warm-up pass.

    python benchmarks/gpu_check.py --out results.json                  # on a GPU machine
    python benchmarks/gpu_check.py --device cpu --sizes tiny --texts 64  # smoke test on CPU

Texts are random Chinese character strings (the real corpora stay outside the repository).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SIZES = {  # hidden, layers, heads, intermediate: the bge-*-zh-v1.5 shapes
    "tiny": (64, 2, 2, 128),
    "bge-small": (512, 4, 8, 2048),
    "bge-base": (768, 12, 12, 3072),
    "bge-large": (1024, 24, 16, 4096),
}
VOCAB_SIZE = 21128


def write_model(folder: Path, size: str, seed: int = 0, init_range: float = 0.2) -> Path:
    """A random BERT of the given shape. At BERT's default init (0.02) every text gets nearly the
    same vector (cosines 0.999 +- 0.001), which makes parity numbers meaningless; 0.2 spreads them."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    hidden, layers, heads, intermediate = SIZES[size]
    folder.mkdir(parents=True, exist_ok=True)
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = [chr(0x4E00 + i) for i in range(VOCAB_SIZE - len(special))]
    (folder / "vocab.txt").write_text("\n".join(special + chars) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    config = BertConfig(vocab_size=VOCAB_SIZE, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=intermediate, max_position_embeddings=512,
                        initializer_range=init_range)
    torch.manual_seed(seed)
    BertModel(config).eval().save_pretrained(folder)
    return folder


def random_texts(count: int, seed: int = 0) -> list[str]:
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = rng.integers(8, 120, size=count)  # C-MTEB's mix of short queries and longer passages
    return ["".join(chr(0x4E00 + int(c)) for c in rng.integers(0, 3000, size=n)) for n in lengths]


def check(folder: Path, texts: list[str], device: str, dtypes: list[str]) -> dict:
    import numpy as np
    import torch

    from cmteb_eval.evaluators.metrics import paired_cosine, spearman
    from cmteb_eval.models.encoders.embedder import load_embedder

    out: dict = {}
    vectors: dict = {}
    for dtype in ["float32", *dtypes]:
        model = load_embedder(str(folder), model_name="BAAI/bge-base-zh-v1.5", device=device, dtype=dtype,
                              backend="torch")
        model.encode(texts[: min(64, len(texts))])  # warm-up: weights, kernels, allocator
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        vectors[dtype] = model.encode(texts)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        wall = time.perf_counter() - start
        tokens = sum(len(ids) for ids in model.tokenizer(texts, truncation=True, max_length=512)["input_ids"])
        out[dtype] = {"wall_s": wall, "texts_per_s": len(texts) / wall, "tokens_per_s": tokens / wall,
                      "batch_halvings": model.plan.halvings, "max_batch_tokens": model.plan.max_tokens}
    rng = np.random.default_rng(1)
    left, right = rng.integers(0, len(texts), size=(2, 4 * len(texts)))
    reference = paired_cosine(vectors["float32"][left], vectors["float32"][right])
    out["float32"]["cosine_mean"], out["float32"]["cosine_std"] = float(reference.mean()), float(reference.std())
    for dtype in dtypes:
        cosines = paired_cosine(vectors[dtype][left], vectors[dtype][right])
        out[dtype]["max_abs_diff_vs_fp32"] = float(np.abs(vectors[dtype] - vectors["float32"]).max())
        out[dtype]["max_cosine_diff_vs_fp32"] = float(np.abs(cosines - reference).max())
        out[dtype]["spearman_of_cosines_vs_fp32"] = spearman(cosines, reference)
        out[dtype]["finite"] = bool(np.isfinite(vectors[dtype]).all())
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--sizes", default="bge-small,bge-base,bge-large")
    parser.add_argument("--dtypes", default="float16,bfloat16")
    parser.add_argument("--texts", type=int, default=4000)
    parser.add_argument("--init-range", type=float, default=0.2, help="std of the random weights")
    parser.add_argument("--out", help="write the results here as JSON")
    args = parser.parse_args()

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device: run with --device cpu for a smoke test", file=sys.stderr)
        return 2
    report = {"device": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu",
              "torch": torch.__version__, "texts": args.texts, "sizes": {}}
    texts = random_texts(args.texts)
    with tempfile.TemporaryDirectory(prefix="cmteb-gpu-check-") as scratch:
        for size in args.sizes.split(","):
            folder = write_model(Path(scratch) / size, size, init_range=args.init_range)
            report["sizes"][size] = check(folder, texts, args.device, args.dtypes.split(","))
            print(size, json.dumps(report["sizes"][size]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
