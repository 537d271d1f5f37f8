"""Checks of what the user hands the compile stage (a custom torch module)."""

from __future__ import annotations

import torch
from torch import nn

from ..domain import Domain
from ..errors import ConfigError


def probe_module(
    net: nn.Module, domain: Domain, n_unknowns: int, dtype: torch.dtype, device: torch.device, scalars: bool
) -> None:
    """Run a custom module once on 2 points: it must map ``(N, dim)`` to ``(N, n_unknowns)``.

    Args:
        net: the user's module (already on ``device`` in ``dtype``).
        domain: gives ``dim`` and where the probe points lie.
        n_unknowns: the expected output width.
        scalars: whether the problem has trainable scalars of its own (then a module with
            nothing trainable still leaves something to train).

    Raises:
        ConfigError: the module fails on, or returns the wrong shape for, a ``(2, dim)`` batch;
            or no trainable parameter reaches the loss.
    """
    dim = domain.dim
    expect = (
        f"a custom model must map (N, {dim}) -> (N, {n_unknowns}): points in the domain's coordinates "
        "to one column per unknown"
    )
    lo = torch.tensor(domain.bounds[0], dtype=dtype, device=device)
    hi = torch.tensor(domain.bounds[1], dtype=dtype, device=device)
    probe = lo + (hi - lo) * torch.tensor([[0.25], [0.75]], dtype=dtype, device=device)
    training = net.training
    net.eval()  # no side effects on the module (batch-norm statistics, dropout draws)
    try:
        with torch.enable_grad():
            out = net(probe)
    except Exception as exc:  # any failure of user code on a well-formed batch
        raise ConfigError(
            f"{expect}; {type(net).__name__} failed on a (2, {dim}) batch: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        net.train(training)
    if not isinstance(out, torch.Tensor):
        raise ConfigError(f"{expect}; {type(net).__name__} returned {type(out).__name__}, not a tensor")
    if tuple(out.shape) != (2, n_unknowns):
        raise ConfigError(
            f"{expect}; {type(net).__name__} got shape {tuple(out.shape)} for a (2, {dim}) batch"
        )
    if not out.requires_grad and not scalars:
        raise ConfigError(
            f"nothing to train: no trainable parameter reaches the loss ({type(net).__name__} has "
            f"{sum(p.numel() for p in net.parameters() if p.requires_grad)} trainable parameter "
            "value(s) and its output does not depend on them, and the problem has no po.Parameter)"
        )
