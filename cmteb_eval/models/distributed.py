"""Sharding encoding across processes with torch.distributed, launched by torchrun.

``torchrun --nproc_per_node N -m cmteb_eval run ...`` starts N processes (one per GPU,
or N CPU processes). Each encodes every N-th text of the length-sorted list (so all get
the same mix of long and short texts), the pieces are gathered on every rank and put
back in input order; rank 0 owns the embedding cache, writes the result files and
prints. Backend: NCCL when the device is CUDA, gloo on CPU. No home-made process pool.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@dataclass
class Shard:
    rank: int
    world: int
    backend: str
    device: str  # where collective tensors live: 'cpu' for gloo, 'cuda:<local rank>' for NCCL

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def share(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (small Python objects: lists of texts)."""
        import torch
        import torch.distributed as dist

        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0, device=torch.device(self.device))
        return box[0]

    def mine(self, sorted_positions: np.ndarray) -> np.ndarray:
        """This rank's positions: every world-th of the length-sorted ones."""
        return sorted_positions[self.rank::self.world]

    def gather(self, sorted_positions: np.ndarray, local: np.ndarray, dim: int) -> np.ndarray:
        """Every rank's rows, put back at their positions (the inverse of ``mine``)."""
        import torch
        import torch.distributed as dist

        total = len(sorted_positions)
        width = -(-total // self.world)  # rows per rank, padded
        padded = torch.zeros((width, dim), dtype=torch.float32, device=self.device)
        if len(local):
            padded[: len(local)] = torch.from_numpy(np.ascontiguousarray(local, dtype=np.float32)).to(self.device)
        pieces = [torch.empty_like(padded) for _ in range(self.world)]
        dist.all_gather(pieces, padded)
        out = np.empty((total, dim), dtype=np.float32)
        for rank, piece in enumerate(pieces):
            positions = sorted_positions[rank::self.world]
            out[positions] = piece[: len(positions)].cpu().numpy()
        return out

    def encode_share(self, encoded: list, lengths: np.ndarray, encode, dim: int) -> np.ndarray:
        """Every world-th of the length-sorted sequences is this rank's: ``encode(sequences, lengths)``
        runs on those, and every rank's rows come back in input order."""
        sorted_positions = np.argsort(-lengths, kind="stable")
        mine = self.mine(sorted_positions)
        local = encode([encoded[i] for i in mine], lengths[mine])
        return self.gather(sorted_positions, local, dim)

    def broadcast_array(self, array: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
        """Rank 0's float32 array on every rank."""
        import torch
        import torch.distributed as dist

        if self.is_main:
            tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(self.device)
        else:
            tensor = torch.empty(shape, dtype=torch.float32, device=self.device)
        dist.broadcast(tensor, src=0)
        return tensor.cpu().numpy()

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()


def init_from_env(device: str) -> tuple[Shard | None, str]:
    """Join the torchrun process group when launched by torchrun; returns (shard, device)."""
    if not launched_by_torchrun():
        return None, device
    import torch
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    elif device == "auto":
        device = "cpu"
    backend = "nccl" if use_cuda else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return Shard(dist.get_rank(), dist.get_world_size(), backend, device if use_cuda else "cpu"), device


def shutdown() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
