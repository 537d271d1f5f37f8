"""Initialization diagnostics: activation and gradient statistics of a network before training.

:func:`diagnose` builds the model of a problem, evaluates it on the problem's own points
and reports, per hidden layer, the RMS of the pre-activations and activations, the share of
saturated units (bounded activations) and the gradient norm of the problem's loss with
respect to each Linear layer's weights. The criterion (documented in
docs/initialization.md):

- **vanishing**: ``rms(last hidden layer) / rms(first hidden layer) < band[0]`` (0.1);
- **exploding**: that ratio ``> band[1]`` (10);
- **saturated** (tanh, sigmoid only): a hidden layer where more than ``saturated_share``
  (50%) of the pre-activations lie beyond the threshold of
  :data:`~pinnopt.nn.activations.SATURATION` (|z| > 2.5 for tanh, > 5 for sigmoid, where
  the derivative is below 3% of its maximum).

The gradient norms are reported, not judged. :func:`plot_reports` draws reports side by
side (matplotlib, Agg, PNG).
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..compile.stage import compile_problem
from ..errors import ConfigError
from ..nn.activations import SATURATION, AdaptiveActivation, is_activation
from ..nn.initializers import linear_layers
from ..nn.networks import SeparateNets
from ..nn.pinn import PINN

if TYPE_CHECKING:  # pragma: no cover
    from ..declare.problem import Problem
    from ..domain.sampling import Collocation
    from ..nn.models import ModelSpec

BAND = (0.1, 10.0)
"""Default band for ``rms(last hidden) / rms(first hidden)``."""

SATURATED_SHARE = 0.5
"""Default share of saturated pre-activations above which a layer is flagged."""


@dataclass(frozen=True)
class LayerStats:
    """Statistics of one hidden layer (one activation call) at initialization."""

    network: int
    index: int
    pre_rms: float
    rms: float
    saturation: float | None


@dataclass(frozen=True)
class InitReport:
    """Per-layer statistics at initialization and the flags they raise.

    Attributes:
        activation: the activation's name.
        layers: hidden-layer statistics, in evaluation order (``network`` > 0 only for
            ``separate=True`` models).
        grad_norms: ``{Linear layer name: ||d loss / d weight||}``.
        ratios: per network, ``rms(last hidden) / rms(first hidden)``.
        vanishing, exploding: the ratio of some network is below / above the band.
        saturated: ``(network, index)`` of the saturated layers.
        band, saturated_share: the criterion used.
    """

    activation: str
    layers: tuple[LayerStats, ...]
    grad_norms: dict[str, float]
    ratios: tuple[float, ...]
    vanishing: bool
    exploding: bool
    saturated: tuple[tuple[int, int], ...]
    band: tuple[float, float] = BAND
    saturated_share: float = SATURATED_SHARE
    n_points: int = 0

    @property
    def flags(self) -> tuple[str, ...]:
        """``"vanishing"``, ``"exploding"``, ``"saturated"``: those that apply."""
        out = []
        if self.vanishing:
            out.append("vanishing")
        if self.exploding:
            out.append("exploding")
        if self.saturated:
            out.append("saturated")
        return tuple(out)

    @property
    def ok(self) -> bool:
        """No flag raised."""
        return not self.flags

    def table(self) -> str:
        """A plain-text table of the layers, the ratio and the flags."""
        lines = [f"{'net':>3} {'layer':>5} {'pre-act RMS':>12} {'act RMS':>10} {'saturated':>9}"]
        for s in self.layers:
            sat = f"{s.saturation:9.1%}" if s.saturation is not None else f"{'-':>9}"
            lines.append(f"{s.network:>3} {s.index:>5} {s.pre_rms:12.3e} {s.rms:10.3e} {sat}")
        lines.append("gradient norms: " + ", ".join(f"{k} {v:.2e}" for k, v in self.grad_norms.items()))
        lines.append(
            "last/first RMS ratio: "
            + ", ".join(f"{r:.3g}" for r in self.ratios)
            + f" (band {self.band[0]:g}..{self.band[1]:g}); flags: {', '.join(self.flags) or 'none'}"
        )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "activation": self.activation,
            "layers": [vars(s).copy() for s in self.layers],
            "grad_norms": dict(self.grad_norms),
            "ratios": list(self.ratios),
            "flags": list(self.flags),
            "saturated": [list(p) for p in self.saturated],
            "band": list(self.band),
            "saturated_share": self.saturated_share,
            "n_points": self.n_points,
        }


def _activation_sites(net: nn.Module) -> list[nn.Module]:
    inner = {id(m.base) for m in net.modules() if isinstance(m, AdaptiveActivation)}
    return [m for m in net.modules() if is_activation(m) and id(m) not in inner]


def _activation_name(net: nn.Module, activation: str | None) -> str:
    if activation is not None:
        return activation
    for m in net.modules():
        name = getattr(m, "activation_name", None)
        if isinstance(name, str):
            return name
    raise ConfigError("diagnose_network: cannot tell the activation of this network; pass activation=")


def diagnose_network(
    net: nn.Module,
    x: torch.Tensor,
    *,
    loss: Callable[[nn.Module], torch.Tensor] | None = None,
    activation: str | None = None,
    band: tuple[float, float] = BAND,
    saturated_share: float = SATURATED_SHARE,
) -> InitReport:
    """Diagnose ``net`` on the points ``x`` (a copy is analysed; ``net`` is left untouched).

    Args:
        net: the network (an MLP-like chain; ``SeparateNets`` are analysed per network).
        x: ``(N, dim)`` points, same dtype and device as the network.
        loss: ``loss(net_copy) -> scalar`` for the gradient norms (default: the mean square
            of the outputs at ``x``).
        activation: the activation's name (default: read from the network).
        band: the accepted range of ``rms(last hidden) / rms(first hidden)``.
        saturated_share: the share of saturated pre-activations that flags a layer.
    """
    if not (0 < band[0] < band[1]) or not (0 < saturated_share <= 1):
        raise ConfigError(
            f"diagnose: expected 0 < band[0] < band[1] and 0 < saturated_share <= 1, "
            f"got {band}, {saturated_share}"
        )
    net = copy.deepcopy(net)
    name = _activation_name(net, activation)
    threshold = SATURATION.get(name)
    chains = list(net.nets) if isinstance(net, SeparateNets) else [net]
    records: list[list[tuple[torch.Tensor, torch.Tensor]]] = [[] for _ in chains]
    handles = []
    for c, chain in enumerate(chains):
        sites = _activation_sites(chain)
        if not sites:
            raise ConfigError("diagnose: the network has no activation modules to observe")
        for site in sites:

            def hook(_m: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor, c: int = c) -> None:
                records[c].append((inp[0].detach(), out.detach()))

            handles.append(site.register_forward_hook(hook))
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    layers: list[LayerStats] = []
    ratios: list[float] = []
    saturated: list[tuple[int, int]] = []
    for c, rec in enumerate(records):
        rms_values = []
        for i, (pre, post) in enumerate(rec):
            pre_rms = float(pre.pow(2).mean().sqrt())
            rms = float(post.pow(2).mean().sqrt())
            sat = float((pre.abs() > threshold).double().mean()) if threshold is not None else None
            if sat is not None and sat > saturated_share:
                saturated.append((c, i))
            layers.append(LayerStats(c, i, pre_rms, rms, sat))
            rms_values.append(rms)
        first, last = rms_values[0], rms_values[-1]
        ratios.append(last / first if first > 0 else (math.inf if last > 0 else 0.0))
    grads = _grad_norms(net, x, loss)
    return InitReport(
        activation=name,
        layers=tuple(layers),
        grad_norms=grads,
        ratios=tuple(ratios),
        vanishing=any(r < band[0] for r in ratios),
        exploding=any(r > band[1] for r in ratios),
        saturated=tuple(saturated),
        band=(float(band[0]), float(band[1])),
        saturated_share=float(saturated_share),
        n_points=int(x.shape[0]),
    )


def _grad_norms(
    net: nn.Module, x: torch.Tensor, loss: Callable[[nn.Module], torch.Tensor] | None
) -> dict[str, float]:
    net.zero_grad(set_to_none=True)
    value = loss(net) if loss is not None else net(x).pow(2).mean()
    value.backward()
    names = {id(m): n for n, m in net.named_modules()}
    out = {}
    for layer in linear_layers(net):
        g = layer.weight.grad
        out[names[id(layer)]] = float(g.norm()) if g is not None else 0.0
    return out


def diagnose(
    problem: Problem,
    model: ModelSpec | None = None,
    *,
    collocation: Collocation | None = None,
    seed: int = 0,
    dtype: str | torch.dtype = torch.float64,
    band: tuple[float, float] = BAND,
    saturated_share: float = SATURATED_SHARE,
) -> InitReport:
    """Diagnose the initialization of ``model`` (default ``po.nn.MLP()``) on ``problem``'s points.

    The network is built and the points are sampled exactly as :func:`pinnopt.solve` would
    with the same ``seed``, ``collocation`` and ``dtype``; activations are measured on all
    point sets together and the gradient norms are those of the problem's weighted loss.
    """
    with torch.random.fork_rng(devices=[]):
        compiled = compile_problem(
            problem, model=model, collocation=collocation, dtype=dtype, device="cpu", seed=seed
        )
    pinn, points, objective, dt = compiled.model, compiled.points, compiled.objective, compiled.dtype
    x = torch.cat([p.x for p in points.values()])

    def loss(net: nn.Module) -> torch.Tensor:
        total, _ = objective(PINN(net, problem.unknowns, problem.parameters).to(dt), points)
        return total

    return diagnose_network(pinn.net, x, loss=loss, band=band, saturated_share=saturated_share)


def plot_reports(
    reports: Mapping[str, InitReport], path: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Plot activation RMS and saturation per layer for several reports; write a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2))
    FigureCanvasAgg(fig)
    ax_rms, ax_sat = fig.subplots(1, 2)
    for n, (label, rep) in enumerate(reports.items()):
        rows: Sequence[LayerStats] = [s for s in rep.layers if s.network == 0]
        idx = [s.index + 1 for s in rows]
        style = {"ls": "--" if rep.flags else "-", "marker": "o", "ms": 3, "color": f"C{n % 10}"}
        rms = [max(s.rms, 1e-300) for s in rows]
        ax_rms.semilogy(idx, rms, label=f"{label}: {', '.join(rep.flags) or 'ok'}", **style)
        if rows and rows[0].saturation is not None:
            ax_sat.plot(idx, [s.saturation for s in rows], label=label, **style)
    ax_rms.set_xlabel("hidden layer")
    ax_rms.set_ylabel("activation RMS")
    ax_rms.set_title("activation RMS at initialization")
    ax_rms.legend(fontsize=7)
    ax_sat.set_xlabel("hidden layer")
    ax_sat.set_ylabel("share of saturated units")
    ax_sat.set_ylim(0, 1)
    ax_sat.axhline(SATURATED_SHARE, color="gray", lw=0.8, ls=":")
    ax_sat.set_title("saturation (bounded activations)")
    if ax_sat.get_legend_handles_labels()[0]:
        ax_sat.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
