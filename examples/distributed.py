"""Data-parallel training with torchrun (gloo on CPU, nccl on GPUs).

    torchrun --standalone --nproc_per_node 2 examples/distributed.py [--steps 500]

Every rank builds the same model and points from the seed, trains on an equal shard of
every point set, and averages gradients; all ranks end with identical parameters and only
rank 0 logs and writes checkpoints. Run without torchrun it trains in one process.
"""

from __future__ import annotations

import argparse
import os

import pinnopt as po
from pinnopt import problems


def main(steps: int = 500, checkpoint: str | None = None) -> po.Result:
    result = po.solve(
        problems.get("heat1d"),
        model=po.nn.MLP(width=32, depth=3),
        collocation=po.Collocation(interior=2000, boundary=100),  # global counts, split over ranks
        phases=[po.optim.Adam(steps=steps, lr=2e-3), po.optim.LBFGS(steps=steps)],
        checkpoint=po.callbacks.Checkpoint(checkpoint, every=max(1, steps // 2)) if checkpoint else None,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"world size {result.config['world_size']}: {result.steps} steps, {result.stop_reason}")
        print(result.validate())
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--checkpoint", default=None, help="checkpoint folder (written by rank 0)")
    args = ap.parse_args()
    main(args.steps, args.checkpoint)
