"""Reference solutions of 1-D periodic semilinear PDEs by Fourier spectral ETDRK4.

``u_t = L u + N(u)`` with ``L`` diagonal in Fourier space (here ``nu d_xx + c``) is
integrated by the exponential time-differencing fourth-order Runge-Kutta scheme of Cox &
Matthews (2002), with the coefficients computed by contour integrals as in Kassam &
Trefethen (2005, SIAM J. Sci. Comput. 26(4), "Fourth-order time-stepping for stiff PDEs"):
the phi-functions are averaged over ``m`` points on a circle of radius 1 around each
``h L``, which avoids the cancellation of the direct formulas near ``h L = 0``.

:func:`allen_cahn` solves ``u_t = nu u_xx + gamma (u - u^3)`` on a periodic interval and
returns snapshots; :class:`PeriodicReference` evaluates them anywhere (Fourier
interpolation in space, cubic splines in time). Everything is numpy; nothing is written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline


def etdrk4_coefficients(lin: np.ndarray, h: float, m: int = 64) -> tuple[np.ndarray, ...]:
    """``E, E2, Q, f1, f2, f3`` of ETDRK4 for the diagonal linear part ``lin`` and step ``h``.

    Kassam & Trefethen (2005), eq. (2.5) with the contour-integral evaluation of Sec. 5.
    """
    hl = h * lin
    roots = np.exp(1j * np.pi * (np.arange(1, m + 1) - 0.5) / m)
    lr = hl[:, None] + roots[None, :]
    e_lr = np.exp(lr)
    q = h * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=1))
    f1 = h * np.real(np.mean((-4 - lr + e_lr * (4 - 3 * lr + lr**2)) / lr**3, axis=1))
    f2 = h * np.real(np.mean((2 + lr + e_lr * (-2 + lr)) / lr**3, axis=1))
    f3 = h * np.real(np.mean((-4 - 3 * lr - lr**2 + e_lr * (4 - lr)) / lr**3, axis=1))
    return np.exp(hl), np.exp(hl / 2), q, f1, f2, f3


def etdrk4(
    u0: np.ndarray,
    lin: np.ndarray,
    nonlinear: Callable[[np.ndarray], np.ndarray],
    h: float,
    steps: int,
    save_every: int,
    dense_steps: int = 0,
) -> np.ndarray:
    """Integrate ``v_t = lin v + nonlinear(v)`` in Fourier space (``rfft`` coefficients).

    Returns the physical snapshots after every one of the first ``dense_steps`` steps and
    every ``save_every`` steps after that, the initial state first.
    """
    n = len(u0)
    v = np.fft.rfft(u0)
    e, e2, q, f1, f2, f3 = etdrk4_coefficients(lin, h)
    out = [np.asarray(u0, dtype=np.float64).copy()]
    for step in range(1, steps + 1):
        nv = nonlinear(v)
        a = e2 * v + q * nv
        na = nonlinear(a)
        b = e2 * v + q * na
        nb = nonlinear(b)
        c = e2 * a + q * (2 * nb - nv)
        nc = nonlinear(c)
        v = e * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3
        if step <= dense_steps or step % save_every == 0:
            out.append(np.fft.irfft(v, n))
    return np.stack(out)


@dataclass(frozen=True)
class PeriodicReference:
    """Snapshots ``u[t_i, x_j]`` on a uniform periodic grid, evaluated anywhere.

    Space: exact trigonometric interpolation of each snapshot; time: a cubic spline
    through the snapshots (``times``, increasing, should be fine enough for the dynamics).
    """

    x0: float
    period: float
    times: np.ndarray
    values: np.ndarray  # (len(times), n)

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """The grid ``x_j`` and the snapshot times."""
        n = self.values.shape[1]
        return self.x0 + self.period * np.arange(n) / n, self.times

    @functools.cached_property
    def _spline(self) -> CubicSpline:
        """The Fourier coefficients ``(T, n//2+1)`` of the snapshots as cubic splines in time
        (built once: finite differences evaluate the reference many times)."""
        n = self.values.shape[1]
        return CubicSpline(self.times, np.fft.rfft(self.values, axis=1) / n, axis=0)

    def __call__(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        x, t = np.broadcast_arrays(x, t)
        n = self.values.shape[1]
        spline = self._spline
        k = np.arange(n // 2 + 1)
        weights = np.full(k.size, 2.0)
        weights[0] = 1.0
        if n % 2 == 0:
            weights[-1] = 1.0
        out = np.empty(x.size)
        flat_x, flat_t = x.reshape(-1), t.reshape(-1)
        for start in range(0, flat_x.size, 2048):
            xs = flat_x[start : start + 2048]
            c = spline(flat_t[start : start + 2048])  # (b, K)
            phase = np.exp(2j * np.pi * np.outer(xs - self.x0, k) / self.period)
            out[start : start + 2048] = np.real(np.sum(weights * c * phase, axis=1))
        return out.reshape(x.shape)


def allen_cahn(
    nu: float = 1e-4,
    gamma: float = 5.0,
    lower: float = -1.0,
    upper: float = 1.0,
    t_end: float = 1.0,
    modes: int = 1024,
    h: float = 2.5e-4,
    save_dt: float = 5e-3,
    u0: Callable[[np.ndarray], np.ndarray] | None = None,
    dense_until: float = 0.0,
) -> PeriodicReference:
    """``u_t = nu u_xx + gamma (u - u^3)`` on the periodic ``[lower, upper)``, ``u0 = x^2 cos(pi x)``.

    ``modes`` grid points (Fourier modes), time step ``h``, snapshots after every step up to
    ``dense_until`` (fast early dynamics) and every ``save_dt`` after that. The linear part
    ``nu d_xx + gamma`` is treated exactly; ``-gamma u^3`` by ETDRK4.
    """
    period = upper - lower
    x = lower + period * np.arange(modes) / modes
    init = x**2 * np.cos(np.pi * x) if u0 is None else u0(x)
    k = 2 * np.pi * np.fft.rfftfreq(modes, d=period / modes)
    lin = -nu * k**2 + gamma

    def nonlinear(v: np.ndarray) -> np.ndarray:
        u = np.fft.irfft(v, modes)
        return -gamma * np.fft.rfft(u**3)

    steps = round(t_end / h)
    every = round(save_dt / h)
    if abs(steps * h - t_end) > 1e-12 or abs(every * h - save_dt) > 1e-12:
        raise ValueError(f"allen_cahn: h={h} must divide t_end={t_end} and save_dt={save_dt}")
    dense = round(dense_until / h)
    values = etdrk4(init, lin, nonlinear, h, steps, every, dense)
    saved = [s for s in range(1, steps + 1) if s <= dense or s % every == 0]
    times = np.array([0.0, *saved]) * h
    return PeriodicReference(lower, period, times, values)
