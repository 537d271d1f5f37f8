"""C source of the native fused-Taylor kernels (:mod:`.native`), generated from a layout's program.

Two functions per program and variant, over a layer's feature-major buffers (see :mod:`.fused`):

- ``fwd(w, n, nd, a, rsa, z_0, rs_0, ..., z_{C-1}, rs_{C-1})``: ``a[:, :n]`` holds
  ``sigmoid`` of the (scaled) pre-activation values on entry and the activation's value on exit;
  the derivative channels ``a[:, n + c nd + j]`` are written from the pre-activation channels
  ``z_c`` (Faa di Bruno, the same sums as :func:`.fused._activate`);
- ``bwd(w, n, nd, g, rsg, a, rsa, z_0, rs_0, ...)``: the gradient ``g`` of the layer's buffer
  becomes, in place, the gradient of its pre-activations (:func:`.fused._activation_backward`).

The activation is ``outer * tanh(inner z) + shift`` with ``t = 2 sigmoid - 1`` (tanh: ``inner =
outer = 1``, on values scaled by two; sigmoid: ``inner = outer = 1/2``); its derivatives are
``s^(k) = outer inner^k tanh^(k)``, polynomials in ``t`` and ``b = 1 - t^2``. A channel is
``full`` (one value per point), ``col`` (one per row: the first layer's constant columns) or
``zero`` (terms with it vanish, and its gradient is not written).
"""

from __future__ import annotations

from collections.abc import Sequence

from .fused_layout import Program

_BASE = (1.0, -2.0, 4.0, -8.0, 16.0)
_POLY = ("b", "tb", "(b - (T)1.5 * b * b)", "(tb - 3 * b * tb)", "(b - (T)7.5 * tb * tb)")


_PARALLEL = "  #pragma omp parallel for num_threads(nt) if(nt > 1 && w * n >= 32768) schedule(static)"
"""Rows split over ``nt`` threads (torch's own threads: its OpenMP runtime is the one loaded)
from torch's grain size of 32768 elements; without OpenMP the pragma is ignored."""


def _lit(x: float) -> str:
    """A constant of the kernel's type ``T`` (a bare ``1.5`` would promote float math to double)."""
    return f"(T){float(x)!r}"


class _Exprs:
    """Channel products as C locals, each formed once (None: a zero product)."""

    def __init__(self, kinds: Sequence[str], lines: list[str], ctype: str) -> None:
        self.kinds, self.lines, self.ctype = kinds, lines, ctype
        self.memo: dict[tuple[int, ...], str | None] = {}

    def prod(self, chans: tuple[int, ...]) -> str | None:
        if not chans:
            return "1"
        chans = tuple(sorted(chans))
        if any(self.kinds[c] == "zero" for c in chans):
            return None
        if len(chans) == 1:
            return f"z{chans[0]}"
        if chans not in self.memo:
            head = self.prod(chans[:-1])
            name = "p_" + "_".join(map(str, chans))
            self.lines.append(f"{self.ctype} {name} = {head} * z{chans[-1]};")
            self.memo[chans] = name
        return self.memo[chans]


def _sum(terms: Sequence[tuple[float, str]]) -> str | None:
    """``sum coeff * expr`` as C, or None when empty."""
    if not terms:
        return None
    parts = [e if c == 1.0 else f"{_lit(c)} * {e}" for c, e in terms]
    return "(" + " + ".join(parts) + ")"


def source(prog: Program, kinds: Sequence[str], ctype: str, tanh: bool, inner: float, outer: float) -> str:
    """The C source of ``fwd`` and ``bwd`` for ``prog`` with channel ``kinds`` (see the module)."""
    c_all = prog.n_channels
    coef = [outer * inner ** (k + 1) * _BASE[k] for k in range(prog.top)]
    zargs = "".join(f", const T* restrict zp{c}, long rs{c}" for c in range(c_all))
    head = [
        "#include <stddef.h>",
        f"typedef {ctype} T;",
    ]

    def row_loads(indent: str) -> list[str]:
        out = []
        for c, kind in enumerate(kinds):
            if kind == "full":
                out.append(f"{indent}const T* restrict zr{c} = zp{c} + i * rs{c};")
            elif kind == "col":
                out.append(f"{indent}const T z{c} = zp{c}[i * rs{c}];")
        return out

    def point_loads(indent: str) -> list[str]:
        return [f"{indent}const T z{c} = zr{c}[j];" for c, kind in enumerate(kinds) if kind == "full"]

    def derivs(top: int, indent: str) -> list[str]:
        lines = [f"{indent}const T b = 1 - t * t;", f"{indent}const T tb = t * b;"]
        for k in range(top):
            lines.append(f"{indent}const T S{k + 1} = {_lit(coef[k])} * {_POLY[k]};")
        return lines

    # forward
    fwd = [f"void fwd(int nt, long w, long n, long nd, T* restrict a, long rsa{zargs}) {{", _PARALLEL]
    fwd.append("  for (long i = 0; i < w; ++i) {")
    fwd.append("    T* restrict ar = a + i * rsa;")
    fwd += row_loads("    ")
    fwd.append("    for (long j = 0; j < nd; ++j) {")
    fwd.append("      const T sg = ar[j];")
    fwd.append("      const T t = 2 * sg - 1;")
    if tanh:
        fwd.append("      ar[j] = t;")
    fwd += derivs(prog.top - 1, "      ")
    fwd += point_loads("      ")
    body: list[str] = []
    ex = _Exprs(kinds, body, "T")
    outs = []
    fwd_terms = dict(prog.forward)
    for c in range(c_all):
        terms: list[tuple[float, str]] = []
        if kinds[c] != "zero":
            terms.append((1.0, f"S1 * z{c}"))
        for k, groups in fwd_terms.get(c, ()):
            inner_sum = _sum([(coeff, p) for coeff, chans in groups if (p := ex.prod(chans)) is not None])
            if inner_sum is not None:
                terms.append((1.0, f"S{k} * {inner_sum}"))
        outs.append(f"      ar[n + {c} * nd + j] = {_sum(terms) or '0'};")
    fwd += ["      " + line for line in body] + outs
    fwd.append("    }")
    if tanh:
        fwd.append("    for (long j = nd; j < n; ++j) ar[j] = 2 * ar[j] - 1;")
    fwd += ["  }", "}"]

    # backward
    bwd = [
        "void bwd(int nt, long w, long n, long nd, T* restrict g, long rsg, "
        f"const T* restrict a, long rsa{zargs}) {{",
        _PARALLEL,
    ]
    bwd.append("  for (long i = 0; i < w; ++i) {")
    bwd.append("    T* restrict gr = g + i * rsg;")
    bwd.append("    const T* restrict ar = a + i * rsa;")
    bwd += row_loads("    ")
    tvalue = "ar[j]" if tanh else "(2 * ar[j] - 1)"
    bwd.append("    for (long j = 0; j < nd; ++j) {")
    bwd.append(f"      const T t = {tvalue};")
    bwd += derivs(prog.top, "      ")
    bwd += point_loads("      ")
    bwd += [f"      const T g{c} = gr[n + {c} * nd + j];" for c in range(c_all)]
    body = []
    ex = _Exprs(kinds, body, "T")
    # value: gv S1 + sum_c g_c (S2 z_c + sum_k S_{k+1} P_{c,k})
    vterms: list[tuple[float, str]] = [(1.0, "gr[j] * S1")]
    for c in range(c_all):
        dz: list[tuple[float, str]] = []
        if kinds[c] != "zero":
            dz.append((1.0, f"S2 * z{c}"))
        for k, groups in fwd_terms.get(c, ()):
            inner_sum = _sum([(coeff, p) for coeff, chans in groups if (p := ex.prod(chans)) is not None])
            if inner_sum is not None:
                dz.append((1.0, f"S{k + 1} * {inner_sum}"))
        if dz:
            vterms.append((1.0, f"g{c} * {_sum(dz)}"))
    stores = [f"      gr[j] = {_sum(vterms)};"]
    for j in range(c_all):
        if kinds[j] == "zero":
            continue
        terms = [(1.0, f"S1 * g{j}")]
        for k, parts in prog.backward[j]:
            tk = _sum(
                [(coeff, f"g{c} * {p}") for c, coeff, rest in parts if (p := ex.prod(rest)) is not None]
            )
            if tk is not None:
                terms.append((1.0, f"S{k} * {tk}"))
        stores.append(f"      gr[n + {j} * nd + j] = {_sum(terms)};")
    bwd += ["      " + line for line in body] + stores
    bwd.append("    }")
    bwd.append("    for (long j = nd; j < n; ++j) {")
    bwd.append(f"      const T t = {tvalue};")
    bwd.append(f"      gr[j] *= {_lit(coef[0])} * (1 - t * t);")
    bwd += ["    }", "  }", "}"]
    return "\n".join(head + fwd + bwd) + "\n"
