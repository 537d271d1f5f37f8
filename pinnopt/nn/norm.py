"""Normalization layers: input scaling and standardization, output scaling, hidden-layer norms.

Input and output maps live inside the model, so autograd differentiates through them and
every derivative is taken with respect to the user's coordinates (chain rule included).

Hidden-layer normalization (applied to the pre-activation, before the activation):

- ``"layer"``: :class:`torch.nn.LayerNorm` over the units of each point;
- ``"group"``: :class:`torch.nn.GroupNorm` over groups of units of each point;
- ``"batch"``: :class:`BatchNorm`, statistics over the points of a batch.

Layer and group norm act on each point separately, so derivatives of the network are the
pointwise derivatives. Batch norm couples the points of a batch through the batch mean and
variance; a derivative taken through those statistics would mix in the other points. See
:class:`BatchNorm` for how pinnopt keeps derivatives pointwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError, DataError

NORMS = ("batch", "layer", "group")
"""Hidden-layer normalizations accepted by the model specs."""

EPS = 1e-5
"""The epsilon of every normalization layer (variance + eps under the square root)."""


class InputScaling(nn.Module):
    """Maps a box ``[lower, upper]`` affinely onto ``[-1, 1]``; autograd applies the chain rule.

    Computes ``(x - center) * inv_half_width`` with two buffers (saved in the state dict).
    """

    def __init__(self, lower: Sequence[float], upper: Sequence[float]) -> None:
        super().__init__()
        lo = torch.as_tensor(lower, dtype=torch.float64)
        hi = torch.as_tensor(upper, dtype=torch.float64)
        if lo.shape != hi.shape or not bool((hi > lo).all()):
            raise ConfigError(f"input scaling needs lower < upper per coordinate, got {lo}, {hi}")
        self.register_buffer("center", (lo + hi) / 2)
        self.register_buffer("inv_half_width", 2 / (hi - lo))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.center) * self.inv_half_width


class InputStandardization(InputScaling):
    """Standardizes inputs, ``z = (x - mean) / std``, per coordinate.

    The same affine form as :class:`InputScaling` (``center`` = mean, ``inv_half_width`` =
    1 / std), so any code that understands input scaling understands this. :meth:`from_box`
    starts from the moments of the uniform distribution on a box (mean the centre, std
    width / sqrt(12)); :meth:`fit` replaces the statistics with those of data points.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        m = torch.as_tensor(mean, dtype=torch.float64)
        s = torch.as_tensor(std, dtype=torch.float64)
        if m.dim() != 1 or m.shape != s.shape:
            raise ConfigError(f"standardization needs one mean and one std per coordinate, got {mean}, {std}")
        if not bool((s > 0).all() & torch.isfinite(s).all() & torch.isfinite(m).all()):
            raise ConfigError(
                f"standardization needs finite means and positive finite stds, got {mean}, {std}"
            )
        super().__init__(m - s, m + s)
        self._set(m, s)

    @classmethod
    def from_box(cls, lower: Sequence[float], upper: Sequence[float]) -> InputStandardization:
        """The moments of the uniform distribution on ``[lower, upper]``."""
        lo = torch.as_tensor(lower, dtype=torch.float64)
        hi = torch.as_tensor(upper, dtype=torch.float64)
        if lo.shape != hi.shape or not bool((hi > lo).all()):
            raise ConfigError(f"standardization from a box needs lower < upper, got {lo}, {hi}")
        return cls((lo + hi) / 2, (hi - lo) / 12**0.5)

    def _set(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        if mean.shape != self.center.shape or std.shape != self.center.shape:
            raise ConfigError(
                f"standardization statistics need one value per coordinate ({tuple(self.center.shape)}), "
                f"got mean {tuple(mean.shape)} and std {tuple(std.shape)}"
            )
        if not bool((std > 0).all()) or not bool(torch.isfinite(mean).all() & torch.isfinite(std).all()):
            raise ConfigError(f"standardization needs finite means and positive stds, got {mean}, {std}")
        with torch.no_grad():
            self.center.copy_(mean.to(self.center))
            self.inv_half_width.copy_((1 / std).to(self.inv_half_width))

    @property
    def mean(self) -> torch.Tensor:
        """The per-coordinate centre subtracted from the inputs."""
        return self.center

    @property
    def std(self) -> torch.Tensor:
        """The per-coordinate scale the centred inputs are divided by."""
        return 1 / self.inv_half_width

    def fit(self, x: torch.Tensor) -> None:
        """Set the statistics to the mean and standard deviation of the points ``x`` (N, dim)."""
        if x.dim() != 2 or x.shape[0] < 2:
            raise DataError(f"standardization needs (N >= 2, dim) points, got shape {tuple(x.shape)}")
        x = x.detach().to(torch.float64)
        self._set(x.mean(0).to(self.center.device), x.std(0).to(self.center.device))


def fit_input_statistics(model: nn.Module, x: torch.Tensor) -> int:
    """Fit every :class:`InputStandardization` inside ``model`` to the points ``x``.

    Returns how many layers were fitted (0 when the model does not standardize).
    """
    layers = [m for m in model.modules() if isinstance(m, InputStandardization)]
    for layer in layers:
        layer.fit(x)
    return len(layers)


class OutputScaling(nn.Module):
    """Multiplies the outputs by known magnitudes (one per output, or one for all)."""

    def __init__(self, scale: Sequence[float]) -> None:
        super().__init__()
        s = torch.as_tensor(scale, dtype=torch.float64)
        if not bool((s != 0).all() & torch.isfinite(s).all()):
            raise ConfigError(f"output scale must be finite and nonzero, got {scale}")
        self.register_buffer("scale", s)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.scale


class BatchNorm(nn.Module):
    """Batch normalization whose derivatives with respect to the inputs stay pointwise.

    Training mode normalizes with the batch mean and (biased) variance and updates running
    estimates (momentum 0.1, unbiased variance, as :class:`torch.nn.BatchNorm1d`); eval mode
    normalizes with the running estimates. ``eps`` is 1e-5.

    The batch statistics depend on every point of the batch, so the derivative of output
    ``i`` with respect to input ``i`` through them would not be the pointwise derivative of
    any function of ``x_i``. The networks that use this layer therefore compute, when the
    inputs require gradients, the batch statistics in a separate pass over the *detached*
    inputs (the statistics still depend on the weights, so weight gradients flow through
    them), and normalize the differentiated pass with those statistics: the network is then
    an ordinary pointwise function of ``x`` whose derivatives are exact. A batch of one
    point, or of identical points, in training mode has no variance and is refused.

    An objective evaluates the model once per point set. Statistics taken per set would
    normalize a set of identical boundary points to the layer's bias alone, so the
    conditions would constrain nothing but the bias. The objective's evaluation therefore
    takes the statistics once from the interior (collocation) batch,
    :func:`shared_batch_statistics`, and every point set is normalized with them
    (``shared``); the running estimates are updated once per evaluation.
    """

    shared: tuple[torch.Tensor, torch.Tensor] | None
    """Statistics every forward pass uses while set (see :func:`shared_batch_statistics`)."""

    def __init__(self, features: int, momentum: float = 0.1) -> None:
        super().__init__()
        self.features = features
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))
        self.register_buffer("running_mean", torch.zeros(features))
        self.register_buffer("running_var", torch.ones(features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        self.shared = None
        self._capture = False
        self._update = True

    def batch_statistics(self, h: torch.Tensor, *, update: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and biased variance of ``h`` over the batch; updates the running estimates."""
        n = h.shape[0]
        if n < 2:
            raise DataError(
                f"batch norm in training mode got a batch of {n} point: the batch variance is "
                "undefined. The statistics come from the interior batch: use a batch of 2 or more points "
                "(a larger MiniBatch size, more interior points), "
                "norm='layer' or norm='group', or call model.eval() to use the running statistics"
            )
        mean = h.mean(0)
        var = h.var(0, unbiased=False)
        if not bool(var.max() > 0):
            raise DataError(
                f"batch norm in training mode got a batch of {n} identical points: the batch variance is "
                "zero. Normalize with the statistics of a set of distinct points (the objective uses "
                "the interior set), use norm='layer' or norm='group', or call model.eval()"
            )
        if self._capture:
            self.shared = (mean, var)
        if update:
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean.detach())
                unbiased = var.detach() * (n / (n - 1))
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * unbiased)
                self.num_batches_tracked.add_(1)
        return mean, var

    def forward(
        self, h: torch.Tensor, statistics: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        if statistics is not None:
            mean, var = statistics
        elif self.training and self.shared is not None:
            mean, var = self.shared
        elif self.training:
            mean, var = self.batch_statistics(h, update=self._update)
        else:
            mean, var = self.running_mean, self.running_var
        return (h - mean) * torch.rsqrt(var + EPS) * self.weight + self.bias

    def extra_repr(self) -> str:
        return f"{self.features}, eps={EPS}, momentum={self.momentum}"


def shared_batch_statistics(
    model: nn.Module, x: torch.Tensor, *, update: bool = True
) -> list[tuple[BatchNorm, tuple[torch.Tensor, torch.Tensor]]]:
    """The statistics of every training-mode :class:`BatchNorm` of ``model`` on the points ``x``.

    One forward pass over the detached points (the statistics depend on the weights, so
    weight gradients flow through them; the running estimates are updated once unless
    ``update`` is False, as inside ``torch.func`` transforms). Install them with
    :func:`using_statistics` around every call of the model that should share them.
    Returns ``[]`` when the model has no batch norm in training mode.
    """
    layers = [m for m in model.modules() if isinstance(m, BatchNorm) and m.training]
    if not layers:
        return []
    for layer in layers:
        layer.shared, layer._capture, layer._update = None, True, update
    try:
        model(x.detach())
        found = [(layer, layer.shared) for layer in layers]
    finally:
        for layer in layers:
            layer.shared, layer._capture, layer._update = None, False, True
    missing = [i for i, (_, s) in enumerate(found) if s is None]
    if missing:
        raise ConfigError(f"batch norm layers {missing} computed no batch statistics on the reference points")
    return found  # type: ignore[return-value]


def calibrate_batch_norm(model: nn.Module, x: torch.Tensor) -> int:
    """Set the running estimates of every training-mode :class:`BatchNorm` to the statistics of ``x``.

    The trainer calls this at the end of training with the interior set, so that the model
    in eval mode (validation, prediction) is exactly the function that was trained, not
    one normalized with exponential averages over earlier weights and L-BFGS trial points.
    The biased variance is stored, as training normalizes with it. Returns the number of
    layers set.
    """
    with torch.no_grad():
        stats = shared_batch_statistics(model, x)
        for layer, (mean, var) in stats:
            layer.running_mean.copy_(mean)
            layer.running_var.copy_(var)
    return len(stats)


class using_statistics:  # noqa: N801 - used as a context manager
    """Within the block, the given batch-norm layers normalize with the given statistics."""

    def __init__(self, stats: Sequence[tuple[BatchNorm, tuple[torch.Tensor, torch.Tensor]]]) -> None:
        self.stats = list(stats)

    def __enter__(self) -> None:
        for layer, s in self.stats:
            layer.shared = s

    def __exit__(self, *exc: object) -> None:
        for layer, _ in self.stats:
            layer.shared = None


def make_norm(kind: str | None, width: int, groups: int) -> nn.Module | None:
    """A hidden-layer normalization of ``width`` units, or None."""
    if kind is None:
        return None
    if kind == "layer":
        return nn.LayerNorm(width, eps=EPS)
    if kind == "group":
        return nn.GroupNorm(groups, width, eps=EPS)
    if kind == "batch":
        return BatchNorm(width)
    raise ConfigError(f"norm={kind!r}: expected one of {NORMS} or None")
