"""Taylor-mode derivatives: every needed partial is propagated forward through the network.

For a recognized multilayer perceptron the engine carries, for each multi-index ``a`` in the
lower closure of the wanted set, the tensor ``D^a h`` of every layer's activations. Linear
layers act on all derivative channels at once (the channels are stacked so that each layer
is one matrix product ``(K N, width) @ W^T``, the bias only entering the value channel);
activations combine the channels by the multivariate Faa di Bruno formula with their closed
form derivatives. The cost grows with the number of channels, not with nested backward
passes, so high orders are much cheaper than nested reverse mode; the result is the same
function, differentiable with respect to the parameters by ordinary autograd.

Plans of order <= 4 take a fused path by default (:mod:`.fused`): the whole
network call is one autograd node with a hand-written backward, and the point sets of one
objective evaluation are merged into as few calls as their channels allow (:mod:`.sets`).
Higher orders use the general operations below.

Only models whose structure is known exactly are recognized (see :func:`describe_mlp`);
anything else, and in particular any model with batch-coupled layers, goes to the fallback
engine (reverse-mode autograd).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ...errors import ConfigError
from ...symbolic.affine import AffineOutput, EvaluateSets, evaluate_affine
from ...symbolic.derivatives import AutogradEngine, DerivativeEngine, DerivativePlan
from ...symbolic.fields import Field
from ..networks import FeedForwardNet, MLPNet
from ..norm import InputScaling
from ..pinn import PINN
from . import features
from .activations import ActivationRule, default_rules
from .fused_layout import FUSED_MAX_ORDER
from .plan import TaylorPlan
from .sets import PlanChannels, Request, fused_sets

MAX_ORDER = 8
"""Highest derivative order sent through Taylor mode (its plan enumerates set partitions:
Bell(8) = 4140 per channel); higher orders go to the fallback engine."""

RuleTable = Mapping[type[nn.Module], Callable[[nn.Module], ActivationRule | None]]


@dataclass(frozen=True)
class MLPView:
    """What Taylor mode needs of a recognized network.

    Attributes:
        center: subtracted from the inputs (``None``: no input scaling).
        inv_half_width: multiplies the centred inputs; also each input's first derivative.
        linears: the affine layers, in order.
        rule: derivatives of the activation applied after every layer but the last.
        embedding: a fixed input embedding between the input scaling and the first layer
            (:func:`.features.supported`); only the fused node evaluates such networks.
    """

    center: torch.Tensor | None
    inv_half_width: torch.Tensor | None
    linears: tuple[nn.Linear, ...]
    rule: ActivationRule
    embedding: nn.Module | None = None


_MLP_CHILDREN = {"scaling", "linears", "activation"}


def describe_mlp(model: nn.Module, rules: RuleTable) -> MLPView | None:
    """An :class:`MLPView` of ``model`` if it is exactly a known MLP, else ``None``.

    Recognized: :class:`pinnopt.nn.MLPNet` (exact class, no submodules beyond input scaling,
    linear layers and one activation of a class in ``rules``) and a
    :class:`~pinnopt.nn.networks.FeedForwardNet` that is such an MLP behind a fixed embedding
    (:func:`.features.supported`), alone or wrapped by exactly :class:`pinnopt.nn.PINN`. The
    input scaling may be any :class:`~pinnopt.nn.InputScaling` whose class keeps its
    ``forward``. Subclasses of the networks and anything with other layers (normalization,
    batch norm, adaptive activations) are not recognized.
    """
    net = model.net if type(model) is PINN else model
    if type(net) is FeedForwardNet:
        return _describe_embedded(net, rules)
    if type(net) is not MLPNet:
        return None
    if not set(net._modules) <= _MLP_CHILDREN:
        return None
    return _view(net.scaling, tuple(net.linears), net.activation, rules)


def _view(
    scaling: nn.Module | None,
    linears: tuple[nn.Module, ...],
    activation: nn.Module,
    rules: RuleTable,
    embedding: nn.Module | None = None,
) -> MLPView | None:
    """The view of ``scaling -> [embedding] -> linears`` with ``activation`` between them, or
    None when a piece is not one Taylor mode knows."""
    # Any InputScaling (or subclass keeping its forward) is the affine map (x - center) * inv_half_width.
    if scaling is not None and not (
        isinstance(scaling, InputScaling) and type(scaling).forward is InputScaling.forward
    ):
        return None
    if not linears or any(type(layer) is not nn.Linear for layer in linears):
        return None
    factory = rules.get(type(activation))
    rule = factory(activation) if factory is not None else None
    if rule is None:
        return None
    lins: tuple[nn.Linear, ...] = linears  # type: ignore[assignment]
    if scaling is None:
        return MLPView(None, None, lins, rule, embedding)
    return MLPView(scaling.center, scaling.inv_half_width, lins, rule, embedding)  # type: ignore[arg-type]


def _describe_embedded(net: FeedForwardNet, rules: RuleTable) -> MLPView | None:
    """A :class:`FeedForwardNet` that is an MLP behind a fixed embedding (no norms, residual
    links, output scaling or adaptive activations; one activation class), else None."""
    if net.embedding is None or not features.supported(net.embedding):
        return None
    if net.norms is not None or net.residual or net.output_scaling is not None:
        return None
    acts = list(net.activations)  # one activation: the same class and settings after every layer
    if len({(type(act), repr(act)) for act in acts}) != 1:
        return None
    return _view(net.input_map, tuple(net.linears), acts[0], rules, net.embedding)


def _accumulate(
    acc: torch.Tensor | None, coeff: torch.Tensor | None, s: torch.Tensor, value: float
) -> torch.Tensor:
    """``acc + value * coeff * s`` (``coeff=None`` means 1, ``acc=None`` means 0), in one op."""
    if coeff is None:
        if acc is None:
            return s if value == 1.0 else s * value
        return torch.add(acc, s, alpha=value)
    if acc is None:
        return coeff * (s if value == 1.0 else s * value)
    return torch.addcmul(acc, coeff, s, value=value)


def _activate(
    rule: ActivationRule,
    plan: TaylorPlan,
    z0: torch.Tensor,
    first: Sequence[torch.Tensor | None],
    higher: Sequence[torch.Tensor | None],
    keep: Collection[int] | None = None,
) -> list[torch.Tensor | None]:
    """Apply the activation to every channel by Faa di Bruno; returns all output channels.

    ``first`` holds the first-order channels (right after the first layer they are constant
    rows of shape ``(w,)``), ``higher`` the others in plan order, ``None`` where a channel is
    identically zero. Output channels outside ``keep`` (default: all) are skipped (``None``).
    """
    d = rule.derivatives(z0, plan.max_order)
    nf = plan.n_first

    def channel(i: int) -> torch.Tensor | None:
        return first[i - 1] if i <= nf else higher[i - 1 - nf]

    products: dict[tuple[int, ...], torch.Tensor | None] = {}

    def product(chans: tuple[int, ...]) -> torch.Tensor | None:
        if len(chans) == 1:
            return channel(chans[0])
        if chans not in products:
            head = product(chans[:-1])
            last = channel(chans[-1])
            products[chans] = None if head is None or last is None else head * last
        return products[chans]

    c1 = d.orders[0]
    out: list[torch.Tensor | None] = [d.value]
    for i, z in enumerate(first, 1):
        if c1 is None or z is None or (keep is not None and i not in keep):
            out.append(None)
            continue
        inner = _accumulate(None, c1.tensor, z, c1.scale)
        out.append(inner if d.factor is None else d.factor(inner.expand_as(d.value)))
    for r, own in zip(plan.rules, higher, strict=True):
        if keep is not None and r.index not in keep:
            out.append(None)
            continue
        inner: torch.Tensor | None = None
        if own is not None and c1 is not None:
            inner = _accumulate(None, c1.tensor, own, c1.scale)
        for k, terms in r.groups:
            ck = d.orders[k - 1]
            if ck is None:
                continue
            lead = 0
            s: torch.Tensor | None = None
            for coeff, chans in terms:
                p = product(chans)
                if p is None:
                    continue
                if s is None:
                    s, lead = p, coeff
                else:
                    s = torch.add(s, p, alpha=coeff / lead)
            if s is not None:
                inner = _accumulate(inner, ck.tensor, s, ck.scale * lead)
        if inner is not None and d.factor is not None:
            inner = d.factor(inner.expand_as(d.value))
        out.append(inner)
    return out


def _linear_stacked(
    layer: nn.Linear, channels: Sequence[torch.Tensor | None]
) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
    """All channels through ``layer`` as one ``(K N, w) @ W^T`` product; bias on the value only.

    Zero channels (``None``) are left out of the product and stay ``None``.
    """
    a0 = channels[0]
    assert a0 is not None
    live = [i for i, c in enumerate(channels) if c is not None]
    parts = [channels[i].expand_as(a0) for i in live]  # type: ignore[union-attr]
    k, n = len(parts), a0.shape[0]
    z = (torch.stack(parts).view(k * n, -1) @ layer.weight.t()).view(k, n, -1).unbind(0)
    out: list[torch.Tensor | None] = [None] * len(channels)
    for i, zi in zip(live, z, strict=True):
        out[i] = zi
    z0 = out[0] + layer.bias if layer.bias is not None else out[0]
    return z0, out[1:]  # type: ignore[return-value]


def _linear_separate(
    layer: nn.Linear, channels: Sequence[torch.Tensor | None]
) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
    """One product per channel (no copy into a stacked buffer); zero channels stay ``None``."""
    a0 = channels[0]
    assert a0 is not None
    wt = layer.weight.t()
    z0 = torch.addmm(layer.bias, a0, wt) if layer.bias is not None else a0 @ wt
    return z0, [None if c is None else c @ wt for c in channels[1:]]


def taylor_forward(
    view: MLPView, x: torch.Tensor, plan: TaylorPlan, *, stack: bool, keep: Collection[int] | None = None
) -> dict[int, torch.Tensor]:
    """The network's outputs and their partials, ``{channel: (N, n_out) tensor}``.

    Args:
        view: the recognized network.
        x: the points, ``(N, dim)``.
        plan: the channels to carry.
        stack: run every linear layer as one matrix product over all channels (fewer,
            larger kernels, meant for GPUs) or one product per channel (no copy into a
            stacked buffer: measured faster on CPUs, see ``benchmarks/derivative_order.py``).
        keep: the channels to return (default all); the last activation skips the others.
    """
    keep = range(len(plan.indices)) if keep is None else keep
    h = x if view.center is None else (x - view.center) * view.inv_half_width
    first_layer = view.linears[0]
    z0 = nn.functional.linear(h, first_layer.weight, first_layer.bias)
    # d(scaled input)/dx_j = inv_half_width[j] e_j: the first-order channels are columns of W,
    # constant over the points.
    weight = first_layer.weight
    if view.inv_half_width is not None:
        weight = weight * view.inv_half_width
    first: list[torch.Tensor | None] = [weight[:, j] for j in plan.first_axes]
    higher: list[torch.Tensor | None] = [None] * len(plan.rules)
    linear = _linear_stacked if stack else _linear_separate
    nf = plan.n_first
    last = len(view.linears) - 1
    for i, layer in enumerate(view.linears[1:], 1):
        channels = _activate(view.rule, plan, z0, first, higher, keep if i == last else None)
        z0, rest = linear(layer, channels)
        first, higher = rest[:nf], rest[nf:]
    out = [z0, *first, *higher]
    return {i: torch.zeros_like(z0) if out[i] is None else out[i].expand_as(z0) for i in keep}  # type: ignore[union-attr]


def affine_output(model: nn.Module) -> AffineOutput | None:
    """The :class:`~pinnopt.symbolic.affine.AffineOutput` that ``model`` is, or that a
    :class:`~pinnopt.nn.PINN` wraps, with derivatives of its ``g`` and ``d`` at hand; else None."""
    net = model.net if type(model) is PINN else model
    return net if isinstance(net, AffineOutput) and net.symbolic_derivatives else None


def _is_compiling() -> bool:
    """Whether torch.compile is tracing the caller (torch >= 2.3 has the public function)."""
    check = getattr(torch.compiler, "is_compiling", None) or torch._dynamo.is_compiling
    return bool(check())


def _name(obj: Any) -> str:
    """A class's or function's qualified name (a rule table entry), else its repr."""
    qualname = getattr(obj, "__qualname__", None)
    return f"{obj.__module__}.{qualname}" if qualname else repr(obj)


class TaylorEngine(DerivativeEngine):
    """Forward (Taylor-mode) derivatives for recognized MLPs, ``fallback`` for other models.

    Recognized: :func:`describe_mlp`'s networks (MLPs, and MLPs behind a fixed embedding,
    which only the fused node evaluates), alone or inside a :class:`~pinnopt.nn.PINN`, and
    :class:`~pinnopt.symbolic.affine.AffineOutput` wrappers of them (hard constraints:
    Leibniz's rule on the inner network's fields).

    Args:
        fallback: the engine for models this one does not recognize (default: autograd).
        rules: activation class -> rule factory (default :func:`default_rules`).
        stack: run each linear layer as one product over all stacked derivative channels
            (``True``) or one product per channel (``False``); default: stacked on GPUs
            (fewer kernel launches; not yet measured on a GPU), per channel on CPUs (where the
            copy into the stacked buffer was measured slower). Applies to the unfused path.
        fused: evaluate plans of order <= 4 through the fused node (:mod:`.fused`, default),
            merging point sets in :meth:`evaluate_sets`. Its parameter gradients are exact, but
            it is differentiable once: ``fused=False`` for second derivatives with respect to
            the parameters (Hessian-vector products through the fields).

    With ``create_graph=False`` the fields are computed without an autograd graph.
    """

    name = "taylor"

    def __init__(
        self,
        fallback: DerivativeEngine | None = None,
        rules: RuleTable | None = None,
        *,
        stack: bool | None = None,
        fused: bool = True,
    ) -> None:
        if fallback is not None and not isinstance(fallback, DerivativeEngine):
            raise ConfigError(f"TaylorEngine(fallback={fallback!r}): expected a DerivativeEngine")
        if stack is not None and not isinstance(stack, bool):
            raise ConfigError(f"TaylorEngine(stack={stack!r}): expected True, False or None")
        if not isinstance(fused, bool):
            raise ConfigError(f"TaylorEngine(fused={fused!r}): expected True or False")
        self.stack = stack
        self.fused = fused
        self.fallback = fallback or AutogradEngine()
        self.rules: RuleTable = dict(default_rules() if rules is None else rules)
        self._custom_rules = rules is not None
        self._plans: dict[tuple[frozenset[tuple[int, ...]], int], TaylorPlan] = {}
        self._channels: dict[tuple[DerivativePlan, int], PlanChannels] = {}

    def __repr__(self) -> str:
        """The engine and its settings (recorded in the run's config and fingerprint); the
        fallback and the rule table only when they are not the defaults."""
        parts = [f"stack={self.stack!r}", f"fused={self.fused!r}"]
        if type(self.fallback) is not AutogradEngine:
            parts.insert(0, f"fallback={self.fallback!r}")
        if self._custom_rules:
            rules = sorted(f"{_name(k)}: {_name(v)}" for k, v in self.rules.items())
            parts.append("rules={" + ", ".join(rules) + "}")
        return f"TaylorEngine({', '.join(parts)})"

    def supports(self, model: nn.Module) -> bool:
        """Whether ``model`` is a network this engine propagates derivatives through, alone or
        inside an :class:`~pinnopt.symbolic.affine.AffineOutput` (hard constraints)."""
        return self._view_through(model) is not None

    def _view_through(self, model: nn.Module) -> MLPView | None:
        """:func:`describe_mlp` of ``model``, or of the inner network of its affine output."""
        affine = affine_output(model)
        return describe_mlp(model if affine is None else affine.inner, self.rules)

    def applies(self, model: nn.Module, plan: DerivativePlan) -> bool:
        """Whether this engine evaluates ``plan`` itself (derivatives wanted, model recognized;
        a network behind an embedding only where the fused node takes the plan). Under
        ``torch.compile`` such networks take the fallback, which this cannot see."""
        if not (plan.steps and plan.max_order <= MAX_ORDER):
            return False
        view = self._view_through(model)
        if view is None:
            return False
        return view.embedding is None or (
            self.fused and len(view.linears) >= 2 and plan.max_order <= FUSED_MAX_ORDER
        )

    def resolve(self, model: nn.Module, plan: DerivativePlan) -> DerivativeEngine:
        return self if self.applies(model, plan) else self.fallback.resolve(model, plan)

    def taylor_plan(self, plan: DerivativePlan, dim: int) -> TaylorPlan:
        """The cached channel plan of the multi-indices wanted by ``plan``."""
        key = (frozenset(f.orders for f in plan.wanted | plan.values), dim)
        tp = self._plans.get(key)
        if tp is None:
            tp = self._plans[key] = TaylorPlan.build(key[0], dim)
        return tp

    def evaluate(
        self,
        model: nn.Module,
        points: torch.Tensor,
        plan: DerivativePlan,
        unknowns: Sequence[str],
        *,
        create_graph: bool = True,
    ) -> dict[Field, torch.Tensor]:
        affine = affine_output(model)
        if affine is not None and self.applies(model, plan):
            return evaluate_affine(
                affine, {"": (points, plan)}, unknowns, self._sets_evaluator(unknowns, create_graph)
            )[""]
        view = describe_mlp(model, self.rules) if (plan.steps and plan.max_order <= MAX_ORDER) else None
        if view is None:
            return self.fallback.evaluate(model, points, plan, unknowns, create_graph=create_graph)
        if self._fusable(view) and plan.max_order <= FUSED_MAX_ORDER and not points.requires_grad:
            out, _ = self._fused(view, model, {"": (points, plan)}, unknowns, create_graph)
            return out[""]
        if view.embedding is not None:  # only the fused node carries an embedding's channels
            return self.fallback.evaluate(model, points, plan, unknowns, create_graph=create_graph)
        tp = self.taylor_plan(plan, points.shape[1])
        fields = plan.wanted | plan.values
        position = tp.position
        keep = {position[f.orders] for f in fields}
        with torch.set_grad_enabled(create_graph and torch.is_grad_enabled()):
            stack = points.device.type != "cpu" if self.stack is None else self.stack
            channels = taylor_forward(view, points, tp, stack=stack, keep=keep)
        column = {name: i for i, name in enumerate(unknowns)}
        return {f: channels[position[f.orders]][:, column[f.unknown]] for f in fields}

    def evaluate_sets(
        self,
        model: nn.Module,
        requests: Mapping[str, Request],
        unknowns: Sequence[str],
        *,
        create_graph: bool = True,
    ) -> dict[str, dict[Field, torch.Tensor]]:
        """Fused Taylor mode on merged point sets where it applies (see :mod:`.sets`); an
        :class:`~pinnopt.symbolic.affine.AffineOutput` through its inner network."""
        affine = affine_output(model)
        if affine is not None and self.supports(affine):
            return evaluate_affine(affine, requests, unknowns, self._sets_evaluator(unknowns, create_graph))
        return self.evaluate_sets_of(describe_mlp(model, self.rules), model, requests, unknowns, create_graph)

    def _sets_evaluator(self, unknowns: Sequence[str], create_graph: bool) -> EvaluateSets:
        """:meth:`evaluate_sets` on an inner network (for :func:`evaluate_affine`)."""
        return lambda inner, reqs: self.evaluate_sets(inner, reqs, unknowns, create_graph=create_graph)

    def evaluate_sets_of(
        self,
        view: MLPView | None,
        model: nn.Module,
        requests: Mapping[str, Request],
        unknowns: Sequence[str],
        create_graph: bool = True,
    ) -> dict[str, dict[Field, torch.Tensor]]:
        """:meth:`evaluate_sets` with the model's view already known (None: not recognized)."""
        if view is None or not self._fusable(view):
            return super().evaluate_sets(model, requests, unknowns, create_graph=create_graph)
        out, rest = self._fused(view, model, requests, unknowns, create_graph)
        for name, (x, plan) in rest.items():
            out[name] = self.evaluate(model, x, plan, unknowns, create_graph=create_graph)
        return out

    def _fusable(self, view: MLPView) -> bool:
        # Under torch.compile the plain Taylor operations are traced instead: the compiler fuses
        # them itself, and the hand-written node is opaque to it.
        return self.fused and len(view.linears) >= 2 and not _is_compiling()

    def _fused(
        self,
        view: MLPView,
        model: nn.Module,
        requests: Mapping[str, Request],
        unknowns: Sequence[str],
        create_graph: bool,
    ) -> tuple[dict[str, dict[Field, torch.Tensor]], dict[str, Request]]:
        return fused_sets(view, model, requests, unknowns, self.plan_channels, create_graph=create_graph)

    def plan_channels(self, plan: DerivativePlan, dim: int) -> PlanChannels:
        """The cached channel plan, order-2 layout and field channels of ``plan``."""
        key = (plan, dim)
        pc = self._channels.get(key)
        if pc is None:
            pc = self._channels[key] = PlanChannels.build(plan, self.taylor_plan(plan, dim))
        return pc
