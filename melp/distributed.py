"""All-gather with gradients, so contrastive negatives can come from every DDP rank."""
from __future__ import annotations

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class _AllGatherWithGrad(torch.autograd.Function):
    """Concatenate every rank's (B_r, ...) tensor along dim 0; the backward pass sums the incoming
    gradients over ranks and returns this rank's rows (what ``torch.distributed.nn.all_gather`` does).

    Every rank computes the same global loss, so each rank's gradient is world_size x the true
    one; DDP's gradient averaging divides it back out.
    """

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        world = dist.get_world_size()
        local_size = torch.tensor([tensor.shape[0]], device=tensor.device)
        sizes = [torch.zeros_like(local_size) for _ in range(world)]
        dist.all_gather(sizes, local_size)
        sizes_list = [int(s.item()) for s in sizes]
        largest = max(sizes_list)
        padded = tensor.new_zeros((largest, *tensor.shape[1:]))  # (B_max, ...) all_gather needs equal shapes
        padded[: tensor.shape[0]] = tensor
        gathered = [torch.empty_like(padded) for _ in range(world)]
        dist.all_gather(gathered, padded.contiguous())
        ctx.sizes = sizes_list
        ctx.rank = dist.get_rank()
        return torch.cat([g[:n] for g, n in zip(gathered, sizes_list)], dim=0)  # (sum B_r, ...)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        grad = grad_output.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = sum(ctx.sizes[: ctx.rank])
        return grad[start: start + ctx.sizes[ctx.rank]]


def all_gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """(B_local, ...) -> (B_global, ...) in rank order; identity outside distributed runs."""
    if not is_distributed():
        return tensor
    return _AllGatherWithGrad.apply(tensor)
