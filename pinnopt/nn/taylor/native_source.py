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


_PARALLEL = (
    "  #pragma omp parallel for num_threads(nt) if(nt > 1 && w * (n + {c} * nd) >= 32768) schedule(static)"
)
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


_SINCOS = {
    "float": r"""
static inline void sincos_fast(T x, T* so, T* co) { /* x = q pi/2 + r (in double), Taylor in r */
  const double xd = x;
  const double q = floor(xd * 0.6366197723675814 + 0.5);
  const float r = (float)((xd - q * 1.5707963267341256) - q * 6.077100506303966e-11);
  const float r2 = r * r;
  float s = 1.0f / 362880; s = -1.0f / 5040 + r2 * s; s = 1.0f / 120 + r2 * s; s = -1.0f / 6 + r2 * s;
  s = r + r * r2 * s;
  float c = 1.0f / 3628800; c = -1.0f / 40320 + r2 * c; c = 1.0f / 720 + r2 * c; c = -1.0f / 24 + r2 * c;
  c = 0.5f + r2 * c; c = 1.0f - r2 * c;
  const int64_t n = (int64_t)q & 3;
  const float ss = (n & 1) ? c : s, cc = (n & 1) ? s : c;
  *so = (n & 2) ? -ss : ss;
  *co = ((n + 1) & 2) ? -cc : cc;
}
static inline void sincos_libm(T x, T* so, T* co) { *so = sinf(x); *co = cosf(x); }
""",
    "double": r"""
static inline void sincos_fast(T x, T* so, T* co) { /* x = q pi/2 + r, pi/2 in three parts */
  const double q = floor(x * 0.6366197723675814 + 0.5);
  const double r = ((x - q * 1.5707963267341256) - q * 6.077100506303966e-11) - q * 2.0222662487959506e-21;
  const double r2 = r * r;
  double s = 1.0 / 355687428096000.0;
  s = -1.0 / 1307674368000.0 + r2 * s; s = 1.0 / 6227020800.0 + r2 * s; s = -1.0 / 39916800.0 + r2 * s;
  s = 1.0 / 362880.0 + r2 * s; s = -1.0 / 5040.0 + r2 * s; s = 1.0 / 120.0 + r2 * s; s = -1.0 / 6.0 + r2 * s;
  s = r + r * r2 * s;
  double c = 1.0 / 6402373705728000.0;
  c = -1.0 / 20922789888000.0 + r2 * c; c = 1.0 / 87178291200.0 + r2 * c; c = -1.0 / 479001600.0 + r2 * c;
  c = 1.0 / 3628800.0 + r2 * c; c = -1.0 / 40320.0 + r2 * c; c = 1.0 / 720.0 + r2 * c;
  c = -1.0 / 24.0 + r2 * c;
  c = 0.5 + r2 * c; c = 1.0 - r2 * c;
  const int64_t n = (int64_t)q & 3;
  const double ss = (n & 1) ? c : s, cc = (n & 1) ? s : c;
  *so = (n & 2) ? -ss : ss;
  *co = ((n + 1) & 2) ? -cc : cc;
}
static inline void sincos_libm(T x, T* so, T* co) { *so = sin(x); *co = cos(x); }
""",
}
"""A vectorizable ``sin`` and ``cos`` (one reduction for both): Cody-Waite reduction by ``pi/2``
(its parts derived with mpmath: 33, 33 and 53 bits), Taylor polynomials on ``|r| <= pi/4``
(degrees 17/18 in double, 9/10 in float; within one ulp). Exact enough for ``|x| <= 1e5``
(:data:`SIN_LIMIT`); a row holding a larger argument (or an infinity) takes libm's."""

FWD_FIXED, BWD_FIXED = 9, 12
"""Arguments of ``fwd`` and ``bwd`` before the channels' (two each); the library exports its
counts (``fwd_nargs``, ``bwd_nargs``), checked against the ctypes prototypes when loaded."""

SIN_LIMIT = 1e5
_SIN_CYCLE = ("cv", "(-sv)", "(-cv)", "sv")


def source(prog: Program, kinds: Sequence[str], ctype: str, act: str, inner: float, outer: float) -> str:
    """The C source of ``fwd`` and ``bwd`` for ``prog`` with channel ``kinds`` and activation
    ``act`` (``"tanh"``, ``"sigmoid"``: ``outer * tanh(inner u) + shift``; ``"sin"``)."""
    c_all = prog.n_channels
    sin = act == "sin"
    coef = [outer * inner ** (k + 1) * _BASE[k] for k in range(prog.top)]
    zargs = "".join(f", const T* restrict zp{c}, ptrdiff_t rs{c}" for c in range(c_all))
    head = [
        "#include <math.h>",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "#include <string.h>",
        f"typedef {ctype} T;",
    ]
    head.append(_SINCOS[ctype] if sin else _EXP[ctype])

    def value(sc: str, store: bool) -> list[str]:
        """What the derivatives need at a point (``u = W a + b``); ``store``: write the value."""
        if sin:
            out = ["const T u = zv[j] + bi;", "T sv, cv;", f"{sc}(u, &sv, &cv);"]
            return out + (["ar[j] = sv;"] if store else [])
        if not store:  # the backward: t from the stored value
            return [f"const T t = {'ar[j]' if act == 'tanh' else '(2 * ar[j] - 1)'};"]
        return [
            "const T u = zv[j] + bi;",
            f"const T sg = 1 / (1 + expo({_lit(-2.0 * inner)} * u));",  # sigmoid(2 inner u)
            "const T t = 2 * sg - 1;",
            f"ar[j] = {'t' if act == 'tanh' else 'sg'};",
        ]

    def derivs(top: int) -> list[str]:
        if sin:
            return [f"const T S{k + 1} = {_SIN_CYCLE[k % 4]};" for k in range(top)]
        lines = ["const T b = 1 - t * t;", "const T tb = t * b;"]
        return lines + [f"const T S{k + 1} = {_lit(coef[k])} * {_POLY[k]};" for k in range(top)]

    def row_loads() -> list[str]:
        out = []
        for c, kind in enumerate(kinds):
            if kind == "full":
                out.append(f"const T* restrict zr{c} = zp{c} + i * rs{c};")
            elif kind == "col":
                out.append(f"const T z{c} = zp{c}[i * rs{c}];")
        return out

    point_loads = [f"const T z{c} = zr{c}[j];" for c, kind in enumerate(kinds) if kind == "full"]
    fwd_terms = dict(prog.forward)

    def channel_sums(ex: _Exprs, shift: int) -> list[list[tuple[float, str]]]:
        """For each channel ``c``: ``S1 z_c + sum_k S_k P_{c,k}`` with every ``S`` index raised by
        ``shift`` (1: the derivative of the channel with respect to the value)."""
        out = []
        for c in range(c_all):
            terms: list[tuple[float, str]] = []
            if kinds[c] != "zero":
                terms.append((1.0, f"S{1 + shift} * z{c}"))
            for k, groups in fwd_terms.get(c, ()):
                inner_sum = _sum([(co, p) for co, chans in groups if (p := ex.prod(chans)) is not None])
                if inner_sum is not None:
                    terms.append((1.0, f"S{k + shift} * {inner_sum}"))
            out.append(terms)
        return out

    def fwd_row(sc: str) -> list[str]:
        lines = [_SIMD, "for (ptrdiff_t j = 0; j < nd; ++j) {"]
        body: list[str] = []
        ex = _Exprs(kinds, body, "T")
        sums = channel_sums(ex, 0)
        lines += ["  " + x for x in value(sc, True) + derivs(prog.top - 1) + point_loads + body]
        lines += [f"  ar[n + {c} * nd + j] = {_sum(t) or '0'};" for c, t in enumerate(sums)]
        lines += ["}", _SIMD, "for (ptrdiff_t j = nd; j < n; ++j) {"]
        return lines + ["  " + x for x in value(sc, True)] + ["}"]

    def bwd_row(sc: str) -> list[str]:
        lines = [_SIMD_SUM, "for (ptrdiff_t j = 0; j < nd; ++j) {"]
        body: list[str] = []
        ex = _Exprs(kinds, body, "T")
        dz = channel_sums(ex, 1)  # d(channel c) / d(value)
        # value: gv S1 + sum_c g_c (S2 z_c + sum_k S_{k+1} P_{c,k})
        vterms = [(1.0, "gr[j] * S1")] + [(1.0, f"g{c} * {_sum(t)}") for c, t in enumerate(dz) if t]
        stores = [f"  const T gv = {_sum(vterms)};", "  gr[j] = gv;", "  acc += gv;"]
        for j in range(c_all):
            if kinds[j] == "zero":
                continue
            terms = [(1.0, f"S1 * g{j}")]
            for k, parts in prog.backward[j]:
                tk = _sum([(co, f"g{c} * {p}") for c, co, rest in parts if (p := ex.prod(rest)) is not None])
                if tk is not None:
                    terms.append((1.0, f"S{k} * {tk}"))
            stores.append(f"  gr[n + {j} * nd + j] = {_sum(terms)};")
        gloads = [f"const T g{c} = gr[n + {c} * nd + j];" for c in range(c_all)]
        lines += ["  " + x for x in value(sc, False) + derivs(prog.top) + point_loads + gloads + body]
        lines += [*stores, "}", _SIMD_SUM, "for (ptrdiff_t j = nd; j < n; ++j) {"]
        lines += ["  " + x for x in value(sc, False) + derivs(1)]
        return [*lines, "  const T gv = gr[j] * S1;", "  gr[j] = gv;", "  acc += gv;", "}"]

    def rows(make: object) -> list[str]:
        """The row loop; for sin, a row with an argument beyond SIN_LIMIT takes libm's sin/cos."""
        if not sin:
            return make("")  # type: ignore[operator]
        check = [
            "int big = 0;",
            "#pragma omp simd reduction(|:big)",
            f"for (ptrdiff_t j = 0; j < n; ++j) {{ const T u = zv[j] + bi; big |= !(u <= {_lit(SIN_LIMIT)} "
            f"&& u >= {_lit(-SIN_LIMIT)}) && u == u; }}",
        ]
        fast = make("sincos_fast")  # type: ignore[operator]
        slow = make("sincos_libm")  # type: ignore[operator]
        return (
            check
            + ["if (!big) {"]
            + ["  " + x for x in fast]
            + ["} else {"]
            + ["  " + x for x in slow]
            + ["}"]
        )

    parallel = _PARALLEL.format(c=c_all)
    common = "int nt, ptrdiff_t w, ptrdiff_t n, ptrdiff_t nd, "
    tail = f"const T* restrict zp, ptrdiff_t rsz, const T* restrict bias{zargs}"
    fwd = [
        f"void fwd({common}T* restrict a, ptrdiff_t rsa, {tail}) {{",
        parallel,
        "  for (ptrdiff_t i = 0; i < w; ++i) {",
    ]
    pre = [
        "T* restrict ar = a + i * rsa;",
        "const T* restrict zv = zp + i * rsz;",
        "const T bi = bias ? bias[i] : 0;",
    ]
    fwd += ["    " + x for x in pre + row_loads() + rows(fwd_row)] + ["  }", "}"]
    bwd = [
        f"void bwd({common}T* restrict g, ptrdiff_t rsg, const T* restrict a, ptrdiff_t rsa, "
        f"T* restrict gb, {tail}) {{",
        parallel,
        "  for (ptrdiff_t i = 0; i < w; ++i) {",
    ]
    pre = [
        "T* restrict gr = g + i * rsg;",
        "const T* restrict ar = a + i * rsa;",
        "const T* restrict zv = zp + i * rsz;",
        "const T bi = bias ? bias[i] : 0;",
        "double acc = 0;  /* the bias gradient: a double sum also in float32 */",
    ]
    bwd += ["    " + x for x in pre + row_loads() + rows(bwd_row)] + ["    if (gb) gb[i] = acc;", "  }", "}"]
    nargs = [
        f"const int fwd_nargs = {FWD_FIXED + 2 * c_all};",
        f"const int bwd_nargs = {BWD_FIXED + 2 * c_all};",
    ]
    return "\n".join(head + fwd + bwd + nargs) + "\n"
