"""Data-parallel training: a 2-process CPU torchrun (gloo) against the 1-process run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

import pinnopt as po

from .train_helpers import DDP_SOLVE, ode_problem

WORKER = Path(__file__).with_name("ddp_worker.py")


def test_two_rank_gloo_run_matches_the_single_process_full_batch(tmp_path) -> None:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        # the checkout under test first (not an installed pinnopt)
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(Path(__file__).parents[1])]),
    }
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
        str(WORKER), str(tmp_path),
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    options = {**DDP_SOLVE, "runtime": po.Runtime(device="cpu", distributed=False)}
    single = po.solve(ode_problem(), phases=[po.optim.Adam(20, lr=1e-2)], **options)
    ref = single.history.loss
    ddp = r0["adam_loss"].numpy()
    assert abs(ddp[-1] - ref[-1]) <= 1e-6 * abs(ref[-1]), (ddp[-1], ref[-1])
    assert abs(ddp[0] - ref[0]) <= 1e-12 * abs(ref[0])  # the averaged shard losses are the global loss
    for key in ("adam", "resumed", "lbfgs"):  # identical parameters on both ranks
        for a, b in zip(r0[key], r1[key], strict=True):
            assert torch.equal(a, b), key
    for a, b in zip(r0["adam"], r0["resumed"], strict=True):  # resuming under DDP is exact too
        assert torch.equal(a, b)
    assert r0["lbfgs_steps"] == r1["lbfgs_steps"] > 5 and r0["lbfgs_loss"] < 1e-2


def test_pinnopt_leaves_the_process_group_it_joined_at_exit(monkeypatch, tmp_path) -> None:
    # gloo can abort (SIGABRT) in interpreter shutdown when the group is still alive
    import torch.distributed as dist

    from pinnopt.train import distributed as ddp

    registered = []
    monkeypatch.setattr(ddp.atexit, "register", registered.append)
    monkeypatch.setattr(
        dist, "init_process_group",
        lambda backend, rank, world_size, _f=dist.init_process_group: _f(
            backend, init_method=f"file://{tmp_path / 'store'}", rank=rank, world_size=world_size
        ),
    )  # fmt: skip
    ddp.init_process_group(ddp.DistributedContext(0, 1), torch.device("cpu"))
    assert dist.is_initialized() and registered == [ddp.leave_process_group]
    ddp.leave_process_group()
    assert not dist.is_initialized()
    ddp.leave_process_group()  # a second call (the user already left) is a no-op
