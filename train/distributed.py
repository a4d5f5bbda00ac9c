"""Process-group setup from the torchrun environment (RANK, LOCAL_RANK, WORLD_SIZE).

A plain ``python -m train.pretrain`` runs as a world of one with no process group. Under torchrun
the backend is nccl when CUDA is available and gloo otherwise (CPU tests use gloo).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistEnv:
    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that logs, writes CSV rows and saves checkpoints."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def setup_distributed(device: str = "") -> DistEnv:
    """Join the torchrun process group when WORLD_SIZE > 1; pick the device.

    ``device`` forces a device ("cpu", "cuda"); empty means CUDA when available.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if not device else device.startswith("cuda")
    if use_cuda:
        torch.cuda.set_device(local_rank)
        chosen = torch.device("cuda", local_rank)
    else:
        chosen = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistEnv(rank=rank, local_rank=local_rank, world_size=world_size, device=chosen)


def cleanup_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(env: DistEnv) -> None:
    if env.is_distributed:
        dist.barrier()


def all_gather_objects(env: DistEnv, value: Any) -> list[Any]:
    """``value`` from every rank, in rank order (a one-item list outside torchrun)."""
    if not env.is_distributed:
        return [value]
    gathered: list[Any] = [None] * env.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def broadcast_flag(env: DistEnv, flag: bool) -> bool:
    """Rank 0's ``flag`` on every rank (used to stop all ranks together)."""
    if not env.is_distributed:
        return flag
    holder = [flag]
    dist.broadcast_object_list(holder, src=0)
    return bool(holder[0])
