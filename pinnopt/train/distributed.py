"""Data-parallel training across processes started by ``torchrun``.

Each rank holds an equal shard of every point set, computes the loss on its shard and
backpropagates; the gradients and the per-term losses are then averaged across ranks in
one all-reduce, so every rank takes the same step and holds the same parameters. With
mean-type loss terms and equal shards this is exactly the full-batch gradient. L-BFGS
evaluates its loss and gradient the same way, so every rank runs the same line search.
The model is not wrapped in ``DistributedDataParallel``: the derivative engine
differentiates the model with respect to its inputs, and a manual all-reduce after the
backward pass is simpler and exact. Only rank 0 logs, shows progress and writes checkpoints.
"""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ..errors import ConfigError
from ..losses import PointSet

log = logging.getLogger("pinnopt.train")


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in a data-parallel run."""

    rank: int
    world_size: int
    local_rank: int = 0

    def __post_init__(self) -> None:
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise ConfigError(f"distributed: rank {self.rank} of world size {self.world_size} is invalid")

    @property
    def is_main(self) -> bool:
        """True on rank 0 (the rank that logs and writes checkpoints)."""
        return self.rank == 0

    @classmethod
    def from_environment(cls) -> DistributedContext | None:
        """The context set up by ``torchrun`` (``RANK``, ``WORLD_SIZE``...), or None outside it."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return None
        return cls(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def device_for(ctx: DistributedContext, device: torch.device | None) -> torch.device:
    """The device of this rank: ``cuda:LOCAL_RANK`` when CUDA is used, else the CPU."""
    if device is None:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda" and device.index is None:
        if ctx.local_rank >= torch.cuda.device_count():
            raise ConfigError(
                f"distributed: local rank {ctx.local_rank} needs cuda:{ctx.local_rank}, but only "
                f"{torch.cuda.device_count()} GPUs are visible; start at most that many processes per "
                "node, or pass device='cpu'"
            )
        device = torch.device("cuda", ctx.local_rank)
    return device


def init_process_group(ctx: DistributedContext, device: torch.device) -> None:
    """Join the process group (gloo on CPU, nccl on CUDA) unless already joined."""
    if dist.is_initialized():
        if dist.get_world_size() != ctx.world_size:
            raise ConfigError(
                f"distributed: the process group has {dist.get_world_size()} ranks, expected {ctx.world_size}"
            )
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, rank=ctx.rank, world_size=ctx.world_size)
    # A process that exits with the group alive can abort (SIGABRT) in interpreter shutdown:
    # gloo's worker threads still hold tensors whose release needs the GIL. Leave the group
    # while the interpreter is whole; a user who destroyed it already makes this a no-op.
    atexit.register(leave_process_group)
    log.info("joined the %s process group as rank %d of %d", backend, ctx.rank, ctx.world_size)


def leave_process_group() -> None:
    """Destroy the default process group if it is still alive (registered at exit by pinnopt)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard(points: Mapping[str, PointSet], ctx: DistributedContext) -> dict[str, PointSet]:
    """Equal contiguous shards of every point set; the remainder ``N mod world`` is dropped."""
    out: dict[str, PointSet] = {}
    for name, ps in points.items():
        n = len(ps) // ctx.world_size
        if n == 0:
            raise ConfigError(
                f"distributed: point set {name!r} has {len(ps)} points, fewer than the "
                f"{ctx.world_size} ranks; give it at least one point per rank"
            )
        dropped = len(ps) - n * ctx.world_size
        if dropped and ctx.is_main:
            log.warning(
                "distributed: point set %r has %d points; %d dropped to give %d equal shards of %d",
                name,
                len(ps),
                dropped,
                ctx.world_size,
                n,
            )
        out[name] = ps.take(slice(ctx.rank * n, (ctx.rank + 1) * n))  # type: ignore[arg-type]
    return out


def broadcast_parameters(model: nn.Module) -> None:
    """Give every rank rank 0's parameters and buffers."""
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            dist.broadcast(t.data, src=0)


def average(
    params: Sequence[torch.Tensor], total: torch.Tensor, losses: torch.Tensor, world: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """All-reduce the gradients and the losses in one call; return the averaged losses."""
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat(
        [*(g.reshape(-1) for g in grads), total.detach().reshape(1), losses.detach().reshape(-1)]
    )
    dist.all_reduce(flat)
    flat.div_(world)
    offset = 0
    for p, g in zip(params, grads, strict=True):
        n = g.numel()
        p.grad = flat[offset : offset + n].view_as(p)
        offset += n
    return flat[offset], flat[offset + 1 :]


def broadcast_codes(codes: Sequence[float], device: torch.device) -> list[float]:
    """Rank 0's decision codes, on every rank (a few numbers, at check points only)."""
    t = torch.tensor(list(codes), dtype=torch.float64, device=device)
    dist.broadcast(t, src=0)
    return [float(v) for v in t.tolist()]


def gather(obj: Any, ctx: DistributedContext) -> list[Any]:
    """Every rank's ``obj`` on every rank (at checkpoint time only)."""
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out
