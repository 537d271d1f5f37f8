"""Transfer learning: initialize a network from a saved one, optionally freezing what was copied."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, final

import torch
from torch import nn

from ..errors import CheckpointError, ConfigError
from .initializers import GlorotNormal, Initializer, linear_layers, scheme_from_config
from .norm import InputScaling, OutputScaling


def load_state(source: Any) -> dict[str, torch.Tensor]:
    """The network state dict held by ``source``.

    ``source`` is a path to a :meth:`pinnopt.Result.save` file or to a ``torch.save``-d
    state dict, a state dict, a :class:`pinnopt.Result`, a :class:`~pinnopt.nn.PINN` or
    any ``nn.Module``. The keys of a PINN (``net.*``, ``params.*``) are reduced to those of
    its network.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise CheckpointError(f"transfer source {str(path)!r} does not exist")
        try:
            payload = torch.load(path, weights_only=True, map_location="cpu")
        except Exception as exc:
            raise CheckpointError(f"{path}: not a readable model file ({exc})") from exc
        if isinstance(payload, dict) and "state_dict" in payload and "format" in payload:
            payload = payload["state_dict"]
        state = payload
    elif isinstance(source, nn.Module):
        state = source.state_dict()
    elif hasattr(source, "model") and isinstance(source.model, nn.Module):  # a Result
        state = source.model.state_dict()
    elif isinstance(source, Mapping):
        state = source
    else:
        raise ConfigError(
            f"transfer source must be a path, a state dict, a Result or a module, got {type(source).__name__}"
        )
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CheckpointError("transfer source does not hold a state dict of tensors")
    if any(k.startswith("net.") for k in state):
        state = {k[4:]: v for k, v in state.items() if k.startswith("net.")}
    return {k: v.detach() for k, v in state.items()}


def _excluded_prefixes(net: nn.Module) -> list[str]:
    """Prefixes of the problem-specific maps (input scaling, output scaling): never copied."""
    return [f"{name}." for name, m in net.named_modules() if isinstance(m, (InputScaling, OutputScaling))]


def _selected_prefixes(net: nn.Module, layers: Sequence[int | str]) -> list[str]:
    names = {id(m): n for n, m in net.named_modules()}
    linears = linear_layers(net)
    out = []
    for item in layers:
        if isinstance(item, str):
            out.append(item.rstrip(".") + ".")
        else:
            if not -len(linears) <= item < len(linears):
                raise ConfigError(
                    f"Transfer(layers=...): Linear layer index {item} out of range; the network has "
                    f"{len(linears)} Linear layers"
                )
            out.append(names[id(linears[item])] + ".")
    return out


@final
@dataclass(frozen=True)
class Transfer(Initializer):
    """Initialize from a saved model: all layers or chosen ones, optionally frozen.

    Args:
        source: a :meth:`pinnopt.Result.save` file, a ``torch.save``-d state dict, a state
            dict, a :class:`pinnopt.Result` or a module (see :func:`load_state`).
        layers: ``None`` copies every entry of the network's state (weights, biases, norm
            layers, embedding frequencies) except the problem-specific input and output
            scaling; otherwise the chosen Linear layers, by index into the network's Linear
            layers (``0`` the first, ``-1`` the output layer) or by state-dict prefix
            (``"linears.0"``, ``"embedding"``).
        freeze: make the copied parameters non-trainable (``requires_grad=False``).
        base: the scheme for everything not copied (default Glorot normal).

    A configuration rebuilt by :func:`~pinnopt.nn.init.initializer_from_config` has no
    ``source`` (its weights come from the saved state dict, as in
    :meth:`pinnopt.Result.load`): it applies ``base`` and the freezing only.

    A network receiving float64 weights is converted to float64 first, so the copy is exact
    (:func:`pinnopt.solve` then casts the model to its ``dtype``).
    """

    kind: ClassVar[str] = "Transfer"
    source: Any = field(default=None, compare=False)
    layers: tuple[int | str, ...] | None = None
    freeze: bool = False
    base: Initializer = field(default_factory=GlorotNormal)

    def __post_init__(self) -> None:
        if self.layers is not None:
            items = tuple(self.layers) if not isinstance(self.layers, (int, str)) else (self.layers,)
            if not items or not all(isinstance(i, (int, str)) and not isinstance(i, bool) for i in items):
                raise ConfigError(
                    f"Transfer(layers={self.layers!r}): expected None or Linear indices / names"
                )
            object.__setattr__(self, "layers", items)
        if not isinstance(self.base, Initializer) or isinstance(self.base, Transfer):
            raise ConfigError(
                f"Transfer(base={self.base!r}): expected an initialization scheme such as GlorotNormal()"
            )

    def std(self, fan_in: int, fan_out: int, activation: str = "linear") -> float:
        return self.base.std(fan_in, fan_out, activation)

    def fill_(self, weight: torch.Tensor, activation: str, generator: torch.Generator | None = None) -> None:
        self.base.fill_(weight, activation, generator)

    def initialize(self, net: nn.Module, activation: str, generator: torch.Generator | None = None) -> None:
        self.base.initialize(net, activation, generator)
        target = net.state_dict()
        excluded = _excluded_prefixes(net)
        if self.layers is None:
            keys = [k for k in target if not any(k.startswith(p) for p in excluded)]
        else:
            prefixes = _selected_prefixes(net, self.layers)
            keys = [k for k in target if any(k.startswith(p) for p in prefixes)]
            if not keys:
                raise ConfigError(f"Transfer(layers={self.layers!r}) selects nothing in this network")
        if self.source is not None:
            state = load_state(self.source)
            missing = [k for k in keys if k not in state]
            if missing:
                raise CheckpointError(
                    f"transfer source lacks {missing[:5]}{'...' if len(missing) > 5 else ''}; it holds "
                    f"{sorted(state)[:8]}: was it saved from the same kind of network?"
                )
            bad = [
                (k, tuple(state[k].shape), tuple(target[k].shape))
                for k in keys
                if state[k].shape != target[k].shape
            ]
            if bad:
                k, got, want = bad[0]
                raise CheckpointError(
                    f"transfer source entry {k!r} has shape {got}, the network expects {want} "
                    f"({len(bad)} mismatched entries); choose matching layers with Transfer(layers=...)"
                )
            if any(state[k].dtype == torch.float64 for k in keys):
                net.to(torch.float64)  # copy float64 weights exactly; solve() casts to its dtype after
            net.load_state_dict({k: state[k] for k in keys}, strict=False)
        if self.freeze:
            params = dict(net.named_parameters())
            for k in keys:
                if k in params:
                    params[k].requires_grad_(False)

    def config(self) -> dict[str, Any]:
        if self.source is None or isinstance(self.source, (str, os.PathLike)):
            origin = None if self.source is None else str(self.source)
        else:
            origin = f"<{type(self.source).__name__}>"
        return {
            "kind": self.kind,
            "source": origin,
            "layers": list(self.layers) if self.layers is not None else None,
            "freeze": self.freeze,
            "base": self.base.config(),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Transfer:
        """Rebuild without the source (see the class docstring)."""
        layers = config.get("layers")
        return cls(
            source=None,
            layers=tuple(layers) if layers is not None else None,
            freeze=bool(config.get("freeze", False)),
            base=scheme_from_config(config.get("base", {"kind": "GlorotNormal"})),
        )
