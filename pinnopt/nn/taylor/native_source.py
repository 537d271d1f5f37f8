"""C source of the native fused-Taylor kernels (:mod:`.native`), generated from a layout's program.

Two functions per program and variant, over a layer's feature-major buffers (see :mod:`.fused`):

- ``fwd(nt, w, n, nd, a, rsa, zv, rsz, bias, z_0, rs_0, ..., z_{C-1}, rs_{C-1})``: from the
  products ``zv = W a_prev`` (values, ``(w, n)``, row stride ``rsz``) and ``bias`` (or NULL),
  writes the activation's value into ``a[:, :n]`` and the derivative channels
  ``a[:, n + c nd + j]`` from the pre-activation channels ``z_c`` (Faa di Bruno: the same sums as
  :func:`.fused._activate`);
- ``bwd(nt, w, n, nd, g, rsg, a, rsa, gb, z_0, rs_0, ...)``: the gradient ``g`` of the layer's
  buffer becomes, in place, the gradient of its pre-activations
  (:func:`.fused._activation_backward`), and ``gb`` (or NULL) their row sums over the values:
  the bias gradient.

The rows run on ``nt`` OpenMP threads, the points of a row as one vectorized loop.

The activation is ``outer * tanh(inner u) + shift`` with ``t = tanh(inner u) = 2 sigmoid(2 inner
u) - 1`` (tanh: ``inner = outer = 1``; sigmoid: ``inner = outer = 1/2``, whose value is the
sigmoid itself); its derivatives are ``s^(k) = outer inner^k tanh^(k)``, polynomials in ``t`` and
``b = 1 - t^2``. A channel is ``full`` (one value per point), ``col`` (one per row: the first
layer's constant columns) or ``zero`` (terms with it vanish, and its gradient is not written).
"""

from __future__ import annotations

from collections.abc import Sequence

from .fused_layout import Program

_BASE = (1.0, -2.0, 4.0, -8.0, 16.0)
_POLY = ("b", "tb", "(b - (T)1.5 * b * b)", "(tb - 3 * b * tb)", "(b - (T)7.5 * tb * tb)")


_PARALLEL = "  #pragma omp parallel for num_threads(nt) if(nt > 1 && w * n >= 32768) schedule(static)"
"""Rows split over ``nt`` threads (torch's own threads: its OpenMP runtime is the one loaded)
from torch's grain size of 32768 elements; without OpenMP the pragma is ignored."""

_SIMD = "    #pragma omp simd"
_SIMD_SUM = "    #pragma omp simd reduction(+:acc)"
"""On every point loop: with ``-fopenmp`` GCC does not vectorize loops inside the outlined
parallel region on its own (measured: "no vectype"); the points are independent."""


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


_EXP = {
    "float": r"""
static inline T expo(T x) { /* exp(x), |error| < 1 ulp: x = k ln2 + r, |r| <= ln2 / 2 */
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float k = floorf(x * 1.44269504088896341f + 0.5f);
  const float r = (x - k * 0.693145751953125f) - k * 1.428606765330187045e-06f;
  float p = 1.0f / 5040 + r * (1.0f / 40320);
  p = 1.0f / 720 + r * p; p = 1.0f / 120 + r * p; p = 1.0f / 24 + r * p; p = 1.0f / 6 + r * p;
  p = 0.5f + r * p; p = 1.0f + r * p; p = 1.0f + r * p;
  const int32_t bits = ((int32_t)k + 127) << 23;
  float s; memcpy(&s, &bits, sizeof s);
  return p * s;
}
""",
    "double": r"""
static inline T expo(T x) { /* exp(x), |error| < 1 ulp: x = k ln2 + r, |r| <= ln2 / 2 */
  x = x < -708.0 ? -708.0 : (x > 709.0 ? 709.0 : x);
  const double k = floor(x * 1.4426950408889634 + 0.5);
  const double r = (x - k * 0.6931471803691238) - k * 1.9082149292705877e-10;
  double p = 1.0 / 6227020800.0;
  p = 1.0 / 479001600.0 + r * p; p = 1.0 / 39916800.0 + r * p; p = 1.0 / 3628800.0 + r * p;
  p = 1.0 / 362880.0 + r * p; p = 1.0 / 40320.0 + r * p; p = 1.0 / 5040.0 + r * p;
  p = 1.0 / 720.0 + r * p; p = 1.0 / 120.0 + r * p; p = 1.0 / 24.0 + r * p; p = 1.0 / 6.0 + r * p;
  p = 0.5 + r * p; p = 1.0 + r * p; p = 1.0 + r * p;
  const int64_t bits = ((int64_t)k + 1023) << 52;
  double s; memcpy(&s, &bits, sizeof s);
  return p * s;
}
""",
}
"""A vectorizable ``exp`` (the loops call it per point; libm's is not vectorized): Cody-Waite
reduction, the Taylor polynomial of degree 7 (float) or 13 (double), ``2^k`` by its bits.
Arguments are clamped where ``sigmoid`` is saturated anyway; NaN propagates."""


def source(prog: Program, kinds: Sequence[str], ctype: str, tanh: bool, inner: float, outer: float) -> str:
    """The C source of ``fwd`` and ``bwd`` for ``prog`` with channel ``kinds`` (see the module)."""
    c_all = prog.n_channels
    coef = [outer * inner ** (k + 1) * _BASE[k] for k in range(prog.top)]
    zargs = "".join(f", const T* restrict zp{c}, long rs{c}" for c in range(c_all))
    head = [
        "#include <math.h>",
        "#include <stdint.h>",
        "#include <string.h>",
        f"typedef {ctype} T;",
        _EXP[ctype],
    ]
    # the activation's value from u = W a + b: sigmoid(2 inner u), then t = 2 sigmoid - 1
    act = [
        "const T u = zv[j] + bi;",
        f"const T sg = 1 / (1 + expo({_lit(-2.0 * inner)} * u));",
        "const T t = 2 * sg - 1;",
        f"ar[j] = {'t' if tanh else 'sg'};",
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
    fwd = [
        "void fwd(int nt, long w, long n, long nd, T* restrict a, long rsa, const T* restrict zp, "
        f"long rsz, const T* restrict bias{zargs}) {{",
        _PARALLEL,
    ]
    fwd.append("  for (long i = 0; i < w; ++i) {")
    fwd.append("    T* restrict ar = a + i * rsa;")
    fwd.append("    const T* restrict zv = zp + i * rsz;")
    fwd.append("    const T bi = bias ? bias[i] : 0;")
    fwd += row_loads("    ")
    fwd += [_SIMD, "    for (long j = 0; j < nd; ++j) {"]
    fwd += ["      " + line for line in act]
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
    fwd += [_SIMD, "    for (long j = nd; j < n; ++j) {"] + ["      " + line for line in act] + ["    }"]
    fwd += ["  }", "}"]

    # backward; gb (if given): the row sums of the value gradients (the bias gradient)
    bwd = [
        "void bwd(int nt, long w, long n, long nd, T* restrict g, long rsg, "
        f"const T* restrict a, long rsa, T* restrict gb{zargs}) {{",
        _PARALLEL,
    ]
    bwd.append("  for (long i = 0; i < w; ++i) {")
    bwd.append("    T* restrict gr = g + i * rsg;")
    bwd.append("    const T* restrict ar = a + i * rsa;")
    bwd.append("    T acc = 0;")
    bwd += row_loads("    ")
    tvalue = "ar[j]" if tanh else "(2 * ar[j] - 1)"
    bwd += [_SIMD_SUM, "    for (long j = 0; j < nd; ++j) {"]
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
    stores = [f"      const T gv = {_sum(vterms)};", "      gr[j] = gv;", "      acc += gv;"]
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
    bwd += [_SIMD_SUM, "    for (long j = nd; j < n; ++j) {"]
    bwd.append(f"      const T t = {tvalue};")
    bwd.append(f"      const T gv = gr[j] * ({_lit(coef[0])} * (1 - t * t));")
    bwd += ["      gr[j] = gv;", "      acc += gv;", "    }"]
    bwd += ["    if (gb) gb[i] = acc;", "  }", "}"]
    return "\n".join(head + fwd + bwd) + "\n"
