"""Opt-in ``torch.compile`` of the objective (``Trainer(compile=True)``, ``solve(compile=True)``).

The compiled function is the objective's forward pass (model and derivatives on every point
set, residuals, term losses, weighted total); ``torch.compile`` also generates its backward.
Compilation happens at the first step and takes tens of seconds on a CPU (C++ code
generation), so it pays for long runs: it removes the per-operation overhead of eager mode and
fuses the elementwise work of the derivative channels. Under compilation the Taylor engine
traces its plain operations instead of its hand-fused node (the compiler fuses them itself).

``compile`` may also be a dict of ``torch.compile`` options, e.g. ``{"backend": "aot_eager"}``
(traces and differentiates the graph without code generation: quick, for checking) or
``{"mode": "max-autotune"}``.

Levenberg-Marquardt and Gauss-Newton phases build the Jacobian of the residuals from the
objective's terms (``torch.func``), not through the compiled call: they run uncompiled. A run
whose phases are all of that kind warns that ``compile`` has no effect (:func:`compile_use`;
``po.solve`` records it in ``result.config["notes"]``).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from ..errors import ConfigError, PinnoptWarning
from ..losses import Objective
from .options import phase_label
from .phases import Phase
from .second_order import LevenbergMarquardt

LossFn = Callable[..., tuple[torch.Tensor, torch.Tensor]]


def compile_options(compile: Any, owner: str | None = None) -> dict[str, Any] | None:
    """Check the ``compile`` argument; return the ``torch.compile`` options, or None when off.

    Args:
        compile: True, False/None, or a dict of ``torch.compile`` options.
        owner: how the option is named in messages (``"Runtime"`` gives
            ``Runtime(compile=...)``; default ``compile=...``).

    Raises:
        ConfigError: naming the option when it is neither a bool nor a dict, or when the dict
            holds a key ``torch.compile`` does not take, an unknown backend or mode, or a value
            of the wrong type (checked here, before anything is compiled).
    """
    label = f"{owner}(compile={compile!r})" if owner else f"compile={compile!r}"
    if compile is False or compile is None:
        return None
    if compile is True:
        return {}
    if isinstance(compile, Mapping) and all(isinstance(k, str) for k in compile):
        options = dict(compile)
        check_compile_options(options, label)
        return options
    raise ConfigError(
        f"{label}: expected True, False or a dict of torch.compile options such as {{'backend': 'aot_eager'}}"
    )


def check_compile_options(options: Mapping[str, Any], label: str) -> None:
    """Refuse ``torch.compile`` options it would refuse itself, naming ``label`` (the option).

    Keys are checked against ``torch.compile``'s parameters, the backend against
    ``torch._dynamo.list_backends`` (debug backends such as ``"aot_eager"`` included), the mode
    against inductor's modes; a callable backend is accepted as it is.
    """
    allowed = [name for name in inspect.signature(torch.compile).parameters if name != "model"]
    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise ConfigError(
            f"{label}: torch.compile has no option {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(allowed)}"
        )
    for key in ("fullgraph", "disable", "isolate_recompiles"):
        if key in options and not isinstance(options[key], bool):
            raise ConfigError(f"{label}: {key}={options[key]!r}, expected True or False")
    if options.get("dynamic") is not None and not isinstance(options["dynamic"], bool):
        raise ConfigError(f"{label}: dynamic={options['dynamic']!r}, expected None, True or False")
    if options.get("options") is not None and not isinstance(options["options"], Mapping):
        raise ConfigError(f"{label}: options={options['options']!r}, expected a dict of inductor settings")
    backend = options.get("backend")
    if backend is not None and not callable(backend):
        known = _backends()
        if not isinstance(backend, str) or backend not in known:
            raise ConfigError(
                f"{label}: backend={backend!r} is not a torch.compile backend; expected one of "
                f"{', '.join(map(repr, known))} or a callable"
            )
    mode = options.get("mode")
    if mode is None:
        return
    if options.get("options") is not None:
        raise ConfigError(f"{label}: give mode or options, not both (torch.compile takes one of them)")
    modes = _modes() if backend in (None, "inductor") else None
    if not isinstance(mode, str) or (modes is not None and mode not in modes):
        expected = ", ".join(map(repr, modes)) if modes is not None else "a string"
        raise ConfigError(f"{label}: mode={mode!r} is not a torch.compile mode; expected one of {expected}")


def _backends() -> list[str]:
    """The backend names ``torch.compile`` accepts (imports ``torch._dynamo``: about a second)."""
    import torch._dynamo

    return list(torch._dynamo.list_backends(exclude_tags=()))


def _modes() -> list[str]:
    """The modes of the default (inductor) backend."""
    from torch._inductor import list_mode_options

    return list(list_mode_options())


def compile_use(compile: Any, phases: Sequence[Phase], label: str | None = None) -> dict[str, Any] | None:
    """Which phases evaluate the compiled objective, for the result's config (None: no compile).

    Returns ``{"compiled": [...], "not_compiled": [...], "note": str | None}``: phase labels,
    and a note naming ``label`` (default ``compile=...``) when some phases, or all, run
    uncompiled.
    """
    if compile_options(compile) is None:
        return None
    label = label or f"compile={compile!r}"
    compiled, plain = [], []
    for i, p in enumerate(phases):
        (plain if isinstance(p, LevenbergMarquardt) else compiled).append(phase_label(i, p))
    note = None
    if plain and not compiled:
        note = (
            f"{label} had no effect: Levenberg-Marquardt / Gauss-Newton phases ({', '.join(plain)}) "
            "build the Jacobian of the residuals from the objective's terms, never through the "
            "compiled objective"
        )
    elif plain:
        note = (
            f"{label} applies to {', '.join(compiled)}, not to {', '.join(plain)} "
            "(Levenberg-Marquardt / Gauss-Newton run uncompiled)"
        )
    return {"compiled": compiled, "not_compiled": plain, "note": note}


def compiled_objective(
    objective: Objective, compile: Any, phases: Sequence[Phase] | None = None
) -> LossFn | None:
    """The ``torch.compile``d call of ``objective`` when ``compile`` asks for it, else None.

    With ``phases``, warns (:class:`~pinnopt.errors.PinnoptWarning`) and returns None when
    none of them would evaluate it (see :func:`compile_use`).
    """
    options = compile_options(compile)
    if options is None:
        return None
    use = compile_use(compile, phases) if phases is not None else None
    if use is not None and not use["compiled"]:
        warnings.warn(f"{use['note']}; nothing is compiled", PinnoptWarning, stacklevel=3)
        return None
    try:
        return torch.compile(objective.__call__, **options)
    except (TypeError, ValueError, RuntimeError) as e:  # what the checks above did not foresee
        raise ConfigError(f"compile={compile!r}: torch.compile refused it: {e}") from e
