"""Run under ``torchrun --nproc_per_node 2``: checks the CLIP gather path against one process.

Writes rank{r}.json into the folder given as the only argument.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from melp.losses import clip_loss
from melp.distributed import all_gather_with_grad

GLOBAL_BATCH, DIM, SCALE = 8, 16, 14.0


def main(out_dir: Path) -> None:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    generator = torch.Generator().manual_seed(0)
    ecg_all = torch.randn(GLOBAL_BATCH, DIM, generator=generator)  # same on every rank
    text_all = torch.randn(GLOBAL_BATCH, DIM, generator=generator)
    local = slice(rank * GLOBAL_BATCH // world, (rank + 1) * GLOBAL_BATCH // world)

    ecg_local = ecg_all[local].clone().requires_grad_(True)
    text_local = text_all[local].clone().requires_grad_(True)
    gathered_ecg = all_gather_with_grad(F.normalize(ecg_local, dim=-1))
    gathered_text = all_gather_with_grad(F.normalize(text_local, dim=-1))
    loss = clip_loss(gathered_ecg, gathered_text, torch.tensor(SCALE))
    loss.backward()

    ecg_ref = ecg_all.clone().requires_grad_(True)
    text_ref = text_all.clone().requires_grad_(True)
    reference = clip_loss(F.normalize(ecg_ref, dim=-1), F.normalize(text_ref, dim=-1), torch.tensor(SCALE))
    reference.backward()
    # Every rank computes the same global loss, so the summed backward gives world x the true gradient;
    # DDP's averaging over ranks divides it back out.
    result = {
        "gathered_rows": gathered_ecg.shape[0],
        "loss": loss.item(),
        "reference_loss": reference.item(),
        "grad_error": max((ecg_local.grad / world - ecg_ref.grad[local]).abs().max().item(),
                          (text_local.grad / world - text_ref.grad[local]).abs().max().item()),
        "grad_norm": ecg_local.grad.norm().item(),
    }
    (out_dir / f"rank{rank}.json").write_text(json.dumps(result))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
