"""Readable names of unknowns and their derivatives: ``u``, ``u_x``, ``theta_tt``, ``u_n``.

They name what a loss term constrains (``u at x=-1``, ``initial u_t``) and the derivatives
:meth:`pinnopt.Result.predict` returns.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import sympy as sp
from sympy.core.function import AppliedUndef

from .normals import Normal


def field_name(expr: sp.Basic, coordinates: Sequence[sp.Symbol] | None = None) -> str | None:
    """``u`` for ``u(x, t)``, ``u_xxt`` for a derivative of it, else None.

    Args:
        expr: a sympy expression.
        coordinates: the problem's coordinates; with them the derivative variables are
            written in coordinate order (mixed partials commute), else in the order given.
    """
    if isinstance(expr, AppliedUndef):
        return expr.func.__name__
    if isinstance(expr, sp.Derivative) and isinstance(expr.expr, AppliedUndef):
        counts: dict[sp.Basic, int] = {}
        for var, k in expr.variable_count:
            counts[var] = counts.get(var, 0) + int(k)
        order = [c for c in (coordinates or ()) if c in counts]
        order += [v for v in counts if v not in order]
        suffix = "".join(str(v) * counts[v] for v in order)
        return f"{expr.expr.func.__name__}_{suffix}"
    return None


def constrained_fields(
    expr: sp.Basic,
    coordinates: Sequence[sp.Symbol] | None = None,
    unknowns: Collection[str] | None = None,
) -> list[str]:
    """The readable names of the unknowns and derivatives ``expr`` uses, in a stable order.

    ``unknowns`` limits them to those functions (not known functions such as ``f(x)``).

    First derivatives that come with outward-normal components (``po.normal_derivative(u)``)
    are named ``u_n`` together. Values before derivatives, lower orders first, then by name.
    """
    expr = sp.sympify(expr)

    def wanted(f: sp.Basic) -> bool:
        return isinstance(f, AppliedUndef) and (unknowns is None or f.func.__name__ in unknowns)

    derivs = [d for d in expr.atoms(sp.Derivative) if wanted(d.expr)]
    inside = {f for d in derivs for f in d.atoms(AppliedUndef)}
    values = [f for f in expr.atoms(AppliedUndef) if wanted(f) and (f not in inside or _bare(expr, f))]
    normal: set[str] = set()
    if expr.atoms(Normal):
        for term in sp.Add.make_args(sp.expand(expr)):
            if term.atoms(Normal):
                for d in term.atoms(sp.Derivative):
                    if isinstance(d.expr, AppliedUndef) and d.derivative_count == 1:
                        normal.add(d.expr.func.__name__)
    keyed: dict[str, tuple[int, str]] = {}
    for f in values:
        keyed[f.func.__name__] = (0, f.func.__name__)
    for d in derivs:
        u = d.expr.func.__name__
        if u in normal and d.derivative_count == 1:
            keyed[f"{u}_n"] = (1, f"{u}_n")
            continue
        name = field_name(d, coordinates)
        assert name is not None
        keyed[name] = (int(d.derivative_count), name)
    return [name for name, _ in sorted(keyed.items(), key=lambda kv: kv[1])]


def _bare(expr: sp.Basic, f: AppliedUndef) -> bool:
    """Whether ``f`` appears in ``expr`` outside every derivative of it."""
    stripped = expr.xreplace({d: sp.Dummy() for d in expr.atoms(sp.Derivative)})
    return f in stripped.atoms(AppliedUndef)
