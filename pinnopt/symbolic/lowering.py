"""Lowering of a sympy expression to a tree of torch closures (used by
:func:`~pinnopt.symbolic.compile_expression`)."""

from __future__ import annotations

from functools import reduce

import sympy as sp
import torch
from sympy.core.function import AppliedUndef

from ..errors import (
    CompileError,
    DerivativeError,
    UnknownArgumentsError,
    UnknownSymbolError,
    UnsupportedFunctionError,
)
from .env import Env, Node, SymbolContext, Value, _names
from .fields import Field
from .normals import Normal


def _const(value: float) -> Node:
    return lambda env: value


class _Builder:
    """Builds the closure tree for one expression, recording what it reads."""

    def __init__(self, ctx: SymbolContext, what: str, whole: sp.Expr) -> None:
        self.ctx = ctx
        self.what = what
        self.whole = whole
        self.fields: set[Field] = set()
        self.scalars: set[str] = set()
        self.data: set[str] = set()
        self.coord_index = {s: i for i, s in enumerate(ctx.coordinates)}
        self.scalar_names = {s: str(s) for s in ctx.scalars}
        self.unknowns = set(ctx.unknowns)

    def where(self) -> str:
        return f"in {self.what} {self.whole}"

    # -- dispatch ---------------------------------------------------------------------------
    def build(self, e: sp.Basic) -> Node | float:
        if e is sp.true or e is sp.false:
            return bool(e)
        if isinstance(e, Normal):
            return self._normal(e)
        if self._is_constant(e):
            return self._fold(e)
        if isinstance(e, sp.Symbol):
            return self._symbol(e)
        if isinstance(e, sp.Derivative):
            return self._derivative(e)
        if isinstance(e, AppliedUndef):
            return self._applied_undef(e)
        if isinstance(e, sp.Add):
            return self._nary(e.args, sum_of=True)
        if isinstance(e, sp.Mul):
            return self._nary(e.args, sum_of=False)
        if isinstance(e, sp.Pow):
            return self._pow(e)
        if isinstance(e, sp.Piecewise):
            return self._piecewise(e)
        if isinstance(e, sp.core.relational.Relational):
            return self._relational(e)
        if isinstance(e, (sp.And, sp.Or, sp.Not)):
            return self._logic(e)
        if isinstance(e, sp.Subs):
            raise UnknownArgumentsError(
                f"{self.where()}: {e} differentiates a function at a shifted or scaled argument; "
                f"unknowns must be applied to the coordinates {_names(self.ctx.coordinates)} themselves"
            )
        if isinstance(e, (sp.Function, sp.Min, sp.Max)):
            return self._function(e)
        raise UnsupportedFunctionError(
            f"{self.where()}: cannot compile {type(e).__name__} node {e}; "
            "supported are numbers, symbols, +, *, **, Piecewise, relations and the functions "
            f"of the function table ({', '.join(sorted(self.ctx.functions))})"
        )

    def _is_constant(self, e: sp.Basic) -> bool:
        if isinstance(e, (sp.Number, sp.NumberSymbol)) or e in (sp.S.ImaginaryUnit,):
            return True
        if e.free_symbols or e.atoms(AppliedUndef) or e.atoms(sp.Derivative):
            return False
        return isinstance(e, sp.Expr)

    def _fold(self, e: sp.Basic) -> float:
        value = complex(sp.N(e, 17))
        if value.imag != 0.0:
            raise CompileError(f"{self.where()}: constant {e} is complex ({value}); expected real")
        if value.real != value.real or abs(value.real) == float("inf"):
            raise CompileError(f"{self.where()}: constant {e} is not finite")
        return value.real

    # -- leaves -----------------------------------------------------------------------------
    def _symbol(self, s: sp.Symbol) -> Node:
        if s in self.coord_index:
            j = self.coord_index[s]
            return lambda env: env.coords[j]
        if s in self.scalar_names:
            name = self.scalar_names[s]
            self.scalars.add(name)
            return lambda env: env.scalars[name]
        raise UnknownSymbolError(
            f"{self.where()}: symbol {s!s} is not declared; declared are {self.ctx.describe()}. "
            "Declare it as a coordinate of the domain, a parameter, or give it a value"
        )

    def _normal(self, e: Normal) -> Node:
        c = e.args[0]
        if c not in self.coord_index:
            raise UnknownSymbolError(
                f"{self.where()}: {e} is the normal along {c}, which is not a coordinate; "
                f"coordinates are {_names(self.ctx.coordinates)}"
            )
        j = self.coord_index[c]
        self.data.add("normal")
        what = self.where()

        def call(env: Env) -> Value:
            normal = env.data.get("normal")
            if normal is None:
                raise CompileError(f"{what}: {e} reads the outward normal, but these points have none")
            return normal[:, j]

        return call

    def _check_unknown_args(self, f: AppliedUndef) -> None:
        name = f.func.__name__
        args = f.args
        coords = tuple(self.ctx.unknown_coordinates.get(name, self.ctx.coordinates))
        if (
            not all(isinstance(a, sp.Symbol) for a in args)
            or set(args) != set(coords)
            or len(args) != len(coords)
        ):
            raise UnknownArgumentsError(
                f"{self.where()}: unknown {name} is applied to ({', '.join(map(str, args))}) but the "
                f"problem's coordinates are ({', '.join(map(str, coords))}); "
                f"write {name}({', '.join(map(str, coords))})"
            )

    def _field(self, name: str, orders: tuple[int, ...]) -> Node:
        key = Field(name, orders)
        self.fields.add(key)
        return lambda env: env.fields[key]

    def _applied_undef(self, f: AppliedUndef) -> Node | float:
        name = f.func.__name__
        if name in self.unknowns:
            self._check_unknown_args(f)
            return self._field(name, (0,) * self.ctx.dim)
        if name in self.ctx.functions:
            return self._function(f)
        raise UnsupportedFunctionError(
            f"{self.where()}: function {name} is neither an unknown ({list(self.ctx.unknowns)}) nor "
            f"in the function table; add it with functions={{'{name}': torch_callable}}"
        )

    def _derivative(self, d: sp.Derivative) -> Node:
        inner = d.expr
        if not isinstance(inner, AppliedUndef) or inner.func.__name__ not in self.unknowns:
            raise DerivativeError(
                f"{self.where()}: cannot compile {d}: only derivatives of unknowns "
                f"({list(self.ctx.unknowns)}) are supported; write derivatives of known functions "
                "explicitly with sympy functions"
            )
        self._check_unknown_args(inner)
        orders = [0] * self.ctx.dim
        for var, count in d.variable_count:
            if var not in self.coord_index:
                raise DerivativeError(
                    f"{self.where()}: derivative of {inner.func.__name__} with respect to {var}, which "
                    f"is not a coordinate; coordinates are {_names(self.ctx.coordinates)}"
                )
            orders[self.coord_index[var]] += int(count)
        return self._field(inner.func.__name__, tuple(orders))

    # -- operators --------------------------------------------------------------------------
    def _nary(self, args: tuple[sp.Basic, ...], *, sum_of: bool) -> Node | float:
        const = 0.0 if sum_of else 1.0
        nodes: list[Node] = []
        for a in args:
            b = self.build(a)
            if callable(b):
                nodes.append(b)
            elif sum_of:
                const += b
            else:
                const *= b
        if not nodes:
            return const
        if sum_of:
            return _sum(nodes, const)
        if const == 0.0:
            return 0.0
        return _product(nodes, const)

    def _pow(self, e: sp.Pow) -> Node | float:
        base = self.build(e.base)
        expo = self.build(e.exp)
        if not callable(expo):
            p = float(expo)
            if not callable(base):
                return float(base) ** p
            b = base
            if p == 1.0:
                return b
            if p == 2.0:
                return lambda env: _sq(b(env))
            if p == 3.0:
                return lambda env: _cube(b(env))
            if p == -1.0:
                return lambda env: 1.0 / b(env)
            if p == 0.5:
                return lambda env: torch.sqrt(b(env))
            if p == -0.5:
                return lambda env: torch.rsqrt(b(env))
            if p.is_integer():
                ip = int(p)
                return lambda env: torch.pow(b(env), ip)
            return lambda env: torch.pow(b(env), p)
        x = expo
        if not callable(base):
            c = float(base)
            return lambda env: torch.pow(c, x(env))
        b2 = base
        return lambda env: torch.pow(b2(env), x(env))

    def _function(self, f: sp.Basic) -> Node | float:
        user = isinstance(f, AppliedUndef)
        name = f.func.__name__ if user else type(f).__name__
        fn = self.ctx.functions.get(name)
        if fn is None:
            raise UnsupportedFunctionError(
                f"{self.where()}: function {name} has no torch equivalent in the function table; "
                f"add one with functions={{'{name}': torch_callable}}"
            )
        args = [self.build(a) for a in f.args]
        if not user and not any(callable(b) for b in args):
            return self._fold(f)

        def call(env: Env) -> Value:
            ref = env.coords[0]
            vals = [a(env) if callable(a) else torch.full_like(ref, float(a)) if user else a for a in args]
            return fn(*vals)

        return call

    def _piecewise(self, e: sp.Piecewise) -> Node | float:
        pieces = [(self.build(val), self.build(cond)) for val, cond in e.args]

        def call(env: Env) -> Value:
            # sympy picks the first piece whose condition holds; no piece gives NaN.
            result: Value = float("nan")
            for val, cond in reversed(pieces):
                v = val(env) if callable(val) else val
                c = cond(env) if callable(cond) else cond
                if isinstance(c, bool):
                    result = v if c else result
                else:
                    ref = c
                    result = torch.where(
                        c,
                        torch.as_tensor(v, dtype=env.coords[0].dtype, device=ref.device),
                        torch.as_tensor(result, dtype=env.coords[0].dtype, device=ref.device),
                    )
            return result

        return call

    def _relational(self, e: sp.core.relational.Relational) -> Node | float:
        ops = {
            "<": torch.lt,
            "<=": torch.le,
            ">": torch.gt,
            ">=": torch.ge,
            "==": torch.eq,
            "!=": torch.ne,
        }
        op = ops.get(e.rel_op)
        if op is None:
            raise UnsupportedFunctionError(f"{self.where()}: relation {e} is not supported")
        lhs, rhs = self.build(e.lhs), self.build(e.rhs)

        def call(env: Env) -> Value:
            a = lhs(env) if callable(lhs) else lhs
            b = rhs(env) if callable(rhs) else rhs
            return op(torch.as_tensor(a), torch.as_tensor(b))

        return call

    def _logic(self, e: sp.Basic) -> Node | float:
        parts = [self.build(a) for a in e.args]
        if isinstance(e, sp.Not):
            p = parts[0]
            return lambda env: torch.logical_not(p(env) if callable(p) else torch.as_tensor(p))
        combine = torch.logical_and if isinstance(e, sp.And) else torch.logical_or

        def call(env: Env) -> Value:
            vals = [torch.as_tensor(p(env) if callable(p) else p) for p in parts]
            return reduce(combine, vals)

        return call


def _sq(x: torch.Tensor) -> torch.Tensor:
    return x * x


def _cube(x: torch.Tensor) -> torch.Tensor:
    return x * x * x


def _sum(nodes: list[Node], const: float) -> Node:
    if len(nodes) == 1:
        (a,) = nodes
        return (lambda env: a(env) + const) if const else a
    if len(nodes) == 2 and not const:
        a, b = nodes
        return lambda env: a(env) + b(env)

    def call(env: Env) -> Value:
        out = nodes[0](env)
        for n in nodes[1:]:
            out = out + n(env)
        return out + const if const else out

    return call


def _product(nodes: list[Node], const: float) -> Node:
    if len(nodes) == 1:
        (a,) = nodes
        return (lambda env: const * a(env)) if const != 1.0 else a
    if len(nodes) == 2 and const == 1.0:
        a, b = nodes
        return lambda env: a(env) * b(env)

    def call(env: Env) -> Value:
        out = nodes[0](env)
        for n in nodes[1:]:
            out = out * n(env)
        return const * out if const != 1.0 else out

    return call
