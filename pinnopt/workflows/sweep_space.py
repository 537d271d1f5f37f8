"""The search space of a hyperparameter sweep: plain objects over :func:`pinnopt.solve`'s options.

    space = {
        "lr": Float(1e-4, 1e-2, log=True),            # the first phase's learning rate
        "model.width": Int(16, 64, step=8),
        "depth": Int(2, 4),                            # alias of model.depth
        "points": Int(64, 512, log=True),              # alias of collocation.interior
        "init": Choice(["GlorotNormal", "KaimingNormal"]),
        "batch": Choice([None, 64]),                   # None: full batch; n: MiniBatch(size=n)
        "phases": Choice([[Adam(1500, lr=1e-3)], [Adam(500, lr=1e-3), LBFGS(1000)]]),
    }

A key is a dotted path into the solve options: its first part a keyword of ``solve``
(``model``, ``phases``, ``collocation``, ``batch``, ``dtype``...), then fields of the
option's dataclass or indices of its list (``phases.1.steps``). Whole options are set before
paths into them, so ``phases`` may be a choice and ``lr`` still set the chosen first phase.
Values of ``init`` paths may name a scheme of ``po.init`` (``"KaimingNormal"``).

Layer ``workflows``.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..domain import Collocation
from ..errors import ConfigError
from ..nn import MLP
from ..nn.initializers import SCHEMES, Initializer
from ..solve_options import DEFAULT_PHASES
from ..train.batching import Batching, MiniBatch

ALIASES: Mapping[str, str] = {
    "lr": "phases.0.lr",
    "width": "model.width",
    "depth": "model.depth",
    "activation": "model.activation",
    "init": "model.init",
    "points": "collocation.interior",
}
"""Short names of common paths."""

_PRIMITIVE = (type(None), bool, int, float, str)


def _finite(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{owner}({name}={value!r}): expected a finite number")
    return float(value)


@dataclass(frozen=True)
class Float:
    """A real value in ``[low, high]``, on a log scale when ``log`` (then ``low > 0``);
    ``step`` makes it discrete (not with ``log``)."""

    low: float
    high: float
    log: bool = False
    step: float | None = None

    def __post_init__(self) -> None:
        low, high = _finite("Float", "low", self.low), _finite("Float", "high", self.high)
        if low > high:
            raise ConfigError(f"Float({low!r}, {high!r}): low must not exceed high")
        if self.log and low <= 0:
            raise ConfigError(f"Float({low!r}, {high!r}, log=True): a log scale needs low > 0")
        if self.step is not None and (self.log or _finite("Float", "step", self.step) <= 0):
            raise ConfigError(f"Float(step={self.step!r}): expected a positive step, and not with log=True")

    def distribution(self) -> Any:
        """The Optuna distribution."""
        import optuna

        return optuna.distributions.FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def decode(self, stored: Any) -> float:
        """The option value of a stored parameter."""
        return float(stored)


@dataclass(frozen=True)
class Int:
    """An integer in ``[low, high]`` (every ``step``-th one), on a log scale when ``log``."""

    low: int
    high: int
    log: bool = False
    step: int = 1

    def __post_init__(self) -> None:
        for name in ("low", "high", "step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"Int({name}={value!r}): expected an int")
        if self.low > self.high or self.step < 1:
            raise ConfigError(
                f"Int({self.low}, {self.high}, step={self.step}): expected low <= high, step >= 1"
            )
        if self.log and (self.low < 1 or self.step != 1):
            raise ConfigError(
                f"Int({self.low}, {self.high}, log=True): a log scale needs low >= 1 and step 1"
            )

    def distribution(self) -> Any:
        """The Optuna distribution."""
        import optuna

        return optuna.distributions.IntDistribution(self.low, self.high, log=self.log, step=self.step)

    def decode(self, stored: Any) -> int:
        """The option value of a stored parameter."""
        return int(stored)


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (any values: numbers, strings, None, phase lists, model specs).

    Optuna stores a choice as its label: the value itself for None, bools, numbers and
    strings, else ``labels[i]`` or the option's Python source (:func:`python_source`).
    """

    options: Sequence[Any]
    labels: Sequence[str] | None = None

    def __post_init__(self) -> None:
        opts = tuple(self.options) if isinstance(self.options, (list, tuple)) else None
        if not opts:
            raise ConfigError(f"Choice({self.options!r}): expected a non-empty list of options")
        object.__setattr__(self, "options", opts)
        if self.labels is not None:
            labels = tuple(self.labels)
            if len(labels) != len(opts) or not all(isinstance(s, str) for s in labels):
                raise ConfigError(f"Choice(labels={self.labels!r}): expected one string per option")
            object.__setattr__(self, "labels", labels)
        keys = self._keys()
        if len(set(keys)) != len(keys):
            raise ConfigError(f"Choice: two options have the same label {keys}; pass distinct labels=")

    def _keys(self) -> tuple[Any, ...]:
        if self.labels is not None:
            return tuple(self.labels)
        return tuple(o if isinstance(o, _PRIMITIVE) else python_source(o) for o in self.options)

    def distribution(self) -> Any:
        """The Optuna distribution (over the labels)."""
        import optuna

        return optuna.distributions.CategoricalDistribution(self._keys())

    def decode(self, stored: Any) -> Any:
        """The option value of a stored label."""
        keys = self._keys()
        if stored not in keys:
            raise ConfigError(f"Choice: the stored value {stored!r} is none of {list(keys)}")
        return self.options[keys.index(stored)]


Dimension = Float | Int | Choice


def normalize_space(space: Mapping[str, Any]) -> dict[str, Dimension]:
    """``{path: dimension}`` with aliases resolved, whole options first; checks the types."""
    if not isinstance(space, Mapping) or not space:
        raise ConfigError(
            f"sweep space: expected a non-empty dict {{option: Float|Int|Choice}}, got {space!r}"
        )
    out: dict[str, Dimension] = {}
    for key, dim in space.items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"sweep space: key {key!r} is not an option name")
        if not isinstance(dim, (Float, Int, Choice)):
            raise ConfigError(
                f"sweep space[{key!r}] = {dim!r}: expected Float(...), Int(...) or Choice([...]) "
                "of po.workflows.sweep_space"
            )
        path = ALIASES.get(key, key)
        if path in out:
            raise ConfigError(f"sweep space: {key!r} and another key both set {path!r}")
        out[path] = dim
    return dict(sorted(out.items(), key=lambda kv: kv[0].count(".")))


def default_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with the defaults of ``solve`` filled in for model, phases and collocation."""
    out = dict(options)
    if out.get("model") is None:
        out["model"] = MLP()
    out["phases"] = list(out.get("phases") or DEFAULT_PHASES)
    if out.get("collocation") is None:
        out["collocation"] = Collocation()
    return out


def apply_params(base: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """The solve options of ``base`` with each ``{path: value}`` of ``params`` set.

    Raises:
        SpacePathError: a path that names no option, field or index.
        ConfigError: a value the option refuses (the option's own check).
    """
    options = default_options(base)
    for path, value in params.items():
        parts = path.split(".")
        options[parts[0]] = _set(options.get(parts[0]), parts[1:], _convert(path, value), path)
    return options


class SpacePathError(ConfigError):
    """A key of the search space that names no option, field or list index."""


def _convert(path: str, value: Any) -> Any:
    if path == "batch" and isinstance(value, int) and not isinstance(value, bool):
        return MiniBatch(size=value)
    if path == "batch" and value is not None and not isinstance(value, Batching):
        raise ConfigError(
            f"sweep space: batch = {value!r}: expected None, an int size or a po.optim batching"
        )
    if path.rsplit(".", 1)[-1] == "init" and isinstance(value, str):
        cls = SCHEMES.get(value)
        if cls is None:
            raise ConfigError(f"sweep space: {path} = {value!r}: expected one of {sorted(SCHEMES)}")
        return cls()
    if isinstance(value, list):
        return list(value)
    return value


def _set(target: Any, parts: list[str], value: Any, path: str) -> Any:
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if isinstance(target, (list, tuple)):
        if not head.isdigit() or int(head) >= len(target):
            raise SpacePathError(f"sweep space key {path!r}: {head!r} is no index of a list of {len(target)}")
        items = list(target)
        items[int(head)] = _set(items[int(head)], rest, value, path)
        return items if isinstance(target, list) else tuple(items)
    if dataclasses.is_dataclass(target) and not isinstance(target, type):
        names = [f.name for f in dataclasses.fields(target) if f.init]
        if head not in names:
            raise SpacePathError(
                f"sweep space key {path!r}: {type(target).__name__} has no field {head!r} (fields: {names})"
            )
        return dataclasses.replace(target, **{head: _set(getattr(target, head), rest, value, path)})
    raise SpacePathError(
        f"sweep space key {path!r}: cannot set {head!r} inside {type(target).__name__} {target!r}"
    )


def check_paths(base: Mapping[str, Any], space: Mapping[str, Dimension]) -> None:
    """Raise :class:`SpacePathError` for a key that resolves for no value of the space
    (tried with each dimension's first value; values the options refuse are the trials'
    business)."""
    probe: dict[str, Any] = {}
    for path, dim in space.items():
        probe[path] = dim.options[0] if isinstance(dim, Choice) else dim.low
        try:
            apply_params(base, probe)
        except SpacePathError:
            raise
        except ConfigError:
            probe.pop(path)


def default_space(base: Mapping[str, Any]) -> dict[str, Dimension]:
    """A space around a configuration: the first phase's learning rate (x0.1 to x10, log),
    the MLP's width (half to twice) and depth (one less to one more), and the interior points
    (half to twice, log); the step budget stays the configuration's."""
    options = default_options(base)
    space: dict[str, Dimension] = {}
    lr = getattr(options["phases"][0], "lr", None)
    if isinstance(lr, (int, float)) and lr > 0 and type(options["phases"][0]).__name__ != "LBFGS":
        space["lr"] = Float(lr / 10, lr * 10, log=True)
    model = options["model"]
    if isinstance(model, MLP):
        space["width"] = Int(max(4, model.width // 2), model.width * 2)
        space["depth"] = Int(max(1, model.depth - 1), model.depth + 1)
    col = options["collocation"]
    if isinstance(col, Collocation) and isinstance(col.interior, int) and col.interior >= 8:
        space["points"] = Int(col.interior // 2, col.interior * 2, log=True)
    if not space:
        raise ConfigError("no default sweep space for this configuration: pass space={...}")
    return space


def options_source(options: Mapping[str, Any], indent: str = "") -> str:
    """Solve options as a Python dict literal, one option a line (callbacks left out)."""
    body = "".join(
        f"{indent}    {k!r}: {python_source(v)},\n" for k, v in options.items() if k != "callbacks"
    )
    return "{\n" + body + indent + "}"


# -- Python source -------------------------------------------------------------------------------
_NAMESPACES = ("", "optim", "nn", "init", "stop", "sample", "balance", "robust", "callbacks", "workflows")


def _public_name(cls: type) -> str | None:
    """``po.x.Name`` when ``cls`` is reachable so from the ``pinnopt`` package (None otherwise)."""
    root = sys.modules.get("pinnopt")  # always imported: this module lives inside it
    for ns in _NAMESPACES:
        mod = getattr(root, ns, None) if ns else root
        if mod is not None and getattr(mod, cls.__name__, None) is cls:
            return f"po.{ns}.{cls.__name__}" if ns else f"po.{cls.__name__}"
    return None


def python_source(value: Any) -> str:
    """Python source that rebuilds ``value`` (``import pinnopt as po``); dataclasses list the
    fields that differ from their defaults."""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if isinstance(value, _PRIMITIVE):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(python_source(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(python_source(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{python_source(k)}: {python_source(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Initializer) or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
        return _dataclass_source(value)
    if type(value).__module__ == "torch" and type(value).__name__ == "dtype":
        return repr(str(value).replace("torch.", ""))
    return repr(value)


def _dataclass_source(value: Any) -> str:
    cls = type(value)
    name = _public_name(cls) or f"{cls.__module__}.{cls.__qualname__}"
    if not dataclasses.is_dataclass(value):
        return f"{name}()" if repr(value).endswith("()") else repr(value)
    args = []
    for f in dataclasses.fields(value):
        if not f.init or f.name.startswith("_"):
            continue
        v = getattr(value, f.name)
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            args.append(f"{f.name}={python_source(v)}")
            continue
        try:
            same = bool(v == default) or python_source(v) == python_source(default)
        except Exception:  # arrays and other values without a truth value of ==
            same = False
        if not same:
            args.append(f"{f.name}={python_source(v)}")
    return f"{name}({', '.join(args)})"
