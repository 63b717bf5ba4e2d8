"""How the encoder uses the machine: the device and dtype, CPU threads, token-budget batches, CUDA
out-of-memory retry.

On CPU torch runs one thread per physical core (hyper-threads add nothing to GEMMs and
oversubscribed cores lose far more than they gain), divided among the processes of a
torchrun launch. The Rust tokenizer's own thread pool is switched off: tokenisation
happens up front, and its threads would only compete with torch's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

DEFAULT_MAX_TOKENS_CPU = 2048    # padded tokens per batch; larger batches fall out of L2 on CPU
DEFAULT_MAX_TOKENS_CUDA = 32768
UNCAPPED = 1 << 30  # no cap on texts per batch: the token budget alone sizes batches


def physical_cores() -> int:
    """Physical cores this process may run on (logical CPUs when the topology is unknown)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topology / "physical_package_id").read_text().strip(),
                       (topology / "core_id").read_text().strip()))
        except OSError:
            return len(cpus)
    return max(1, len(cores))


def cpu_thread_count(processes: int = 1) -> int:
    """Intra-op threads for one of ``processes`` encoder processes: physical cores / processes.

    ``OMP_NUM_THREADS`` or ``CMTEB_EVAL_THREADS`` set by the user win.
    """
    chosen = os.environ.get("CMTEB_EVAL_THREADS") or os.environ.get("OMP_NUM_THREADS")
    if chosen and chosen.isdigit() and int(chosen) > 0:
        return int(chosen)
    return max(1, physical_cores() // max(1, processes))


def configure_cpu_threads(processes: int = 1, threads: int | None = None) -> int:
    """Set torch's intra-op threads (``threads``, else ``cpu_thread_count(processes)``); returns the count."""
    import torch

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    threads = threads or cpu_thread_count(processes)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def default_max_tokens(device: str) -> int:
    return DEFAULT_MAX_TOKENS_CUDA if device.startswith("cuda") else DEFAULT_MAX_TOKENS_CPU


def batch_count(longest: int, max_tokens: int, max_texts: int) -> int:
    """Texts in a batch whose longest text has ``longest`` tokens: padded size within budget."""
    return max(1, min(max_texts, max_tokens // max(1, longest)))


def token_budget_batches(lengths: Sequence[int], max_tokens: int, max_texts: int) -> list[np.ndarray]:
    """Batches of indices into ``lengths``, longest first, each within the token budget.

    Texts are sorted by length (stable, longest first) so each batch pads to nearly its
    own length; every index appears in exactly one batch.
    """
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    batches, start = [], 0
    while start < len(order):
        count = batch_count(int(lengths[order[start]]), max_tokens, max_texts)
        batches.append(order[start:start + count])
        start += count
    return batches


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError) or \
        (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


def release_cuda_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class BatchPlan:
    """Token-budget batching that halves the batch and retries on out-of-memory.

    ``run(lengths, forward)`` calls ``forward(indices)`` for consecutive length-sorted
    batches. When a call runs out of memory the batch is halved (and stays halved for
    the rest of the run: the token budget shrinks) and the same texts are retried; a single text that does not
    fit raises ``MemoryError`` for the caller to turn into a user error.
    """

    def __init__(self, max_tokens: int, max_texts: int) -> None:
        self.max_tokens = max(1, max_tokens)
        self.max_texts = max(1, max_texts)
        self.halvings = 0

    def run(self, lengths: Sequence[int], forward: Callable[[np.ndarray], None]) -> None:
        order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
        start = 0
        while start < len(order):
            count = batch_count(int(lengths[order[start]]), self.max_tokens, self.max_texts)
            batch = order[start:start + count]
            try:
                forward(batch)
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                release_cuda_memory()
                if count == 1:
                    raise MemoryError(f"one text of {lengths[batch[0]]} tokens does not fit in memory") from exc
                longest = max(1, int(lengths[batch[0]]))
                self.max_tokens = (count // 2) * longest  # the same texts now go in two halves
                self.halvings += 1
                continue
            start += count


def check_device(device: str) -> str:
    """``device`` when torch can run on it here; else a UserError before any model is loaded
    (``tpu``, a typo, ``cuda`` on a machine or torch build without CUDA, ``cuda:3`` of two GPUs)."""
    from ...errors import UserError

    if device == "cpu":
        return device
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise UserError(f"--device {device!r} is not a device torch knows ({str(exc).splitlines()[0][:160]}).",
                        "Use cpu, cuda or cuda:N (or auto: CUDA when present).") from None
    if parsed.type == "cpu":
        return device
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            build = f" (this torch, {torch.__version__}, is a CPU-only build)" if torch.version.cuda is None else ""
            raise UserError(f"--device {device} asks for a CUDA GPU, but torch sees none{build}.",
                            "Use --device cpu (or auto), or run on a machine with a GPU and a CUDA build of torch.")
        if parsed.index is not None and parsed.index >= count:
            raise UserError(f"--device {device}: torch sees {count} CUDA device(s), cuda:0 to cuda:{count - 1}.",
                            "Pick one of those (or set CUDA_VISIBLE_DEVICES).")
        return device
    if parsed.type == "mps" and torch.backends.mps.is_available():
        return device
    raise UserError(f"--device {device!r}: cmteb-eval runs on cpu or CUDA GPUs, and no usable {parsed.type} "
                    f"device is available here.", "Use --device cpu, cuda or cuda:N (or auto).")


def cuda_possible() -> bool:
    """Whether torch may see a GPU, without importing torch for a CPU-only build (a warm run
    served from the cache never needs torch)."""
    import sys

    if "torch" not in sys.modules:
        from importlib import metadata

        try:
            if "+cpu" in metadata.version("torch"):
                return False
        except metadata.PackageNotFoundError:
            return False
    import torch

    return torch.cuda.is_available()


def pick_device(device: str | None) -> str:
    """The device to run on: ``auto`` is CUDA when present; anything else is checked first."""
    if device and device != "auto":
        return check_device(device)
    return "cuda" if cuda_possible() else "cpu"


def pick_dtype(dtype: str | None, device: str) -> str:
    """``auto`` is float16 on a GPU and float32 on CPU."""
    if dtype and dtype != "auto":
        if dtype not in ("float32", "float16", "bfloat16"):
            from ...errors import UserError

            raise UserError(f"Unknown dtype {dtype!r}.", "Use float32, float16, bfloat16 or auto.")
        return dtype
    return "float16" if device.startswith("cuda") else "float32"
