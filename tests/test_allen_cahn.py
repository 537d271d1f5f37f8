"""The ETDRK4 spectral reference of Allen-Cahn: fourth order in time, spectral in space."""

from __future__ import annotations

import numpy as np
from pinnopt.problems import allen_cahn as ac
from pinnopt.problems._etdrk4 import allen_cahn, etdrk4_coefficients


def test_fourth_order_in_time_on_the_logistic_ode() -> None:
    """A constant u0 stays constant in x: u' = 5 (u - u^3) has a closed-form solution."""
    u0 = 0.3

    def exact(t: np.ndarray) -> np.ndarray:
        return u0 * np.exp(5 * t) / np.sqrt(1 + u0**2 * (np.exp(10 * t) - 1))

    errors = []
    for h in (0.1, 0.05, 0.025, 0.0125):
        ref = allen_cahn(modes=8, h=h, save_dt=0.1, u0=lambda x: np.full_like(x, u0))
        errors.append(np.abs(ref.values - exact(ref.times)[:, None]).max())
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert (rates > 3.8).all(), (errors, rates)  # measured: 4.6, 4.3, 4.1
    assert errors[-1] < 1e-6


def test_contour_coefficients_match_the_direct_formulas_away_from_zero() -> None:
    lin = np.array([-50.0, -3.0, 2.0])
    h = 0.1
    e, e2, q, f1, f2, f3 = etdrk4_coefficients(lin, h)
    np.testing.assert_allclose(e2, np.exp(h * lin / 2))
    z = h * lin
    np.testing.assert_allclose(e, np.exp(z))
    np.testing.assert_allclose(q, h * (np.exp(z / 2) - 1) / z, rtol=1e-12)
    np.testing.assert_allclose(f1, h * (-4 - z + np.exp(z) * (4 - 3 * z + z**2)) / z**3, rtol=1e-10)
    np.testing.assert_allclose(f2, h * (2 + z + np.exp(z) * (-2 + z)) / z**3, rtol=1e-10)
    np.testing.assert_allclose(f3, h * (-4 - 3 * z - z**2 + np.exp(z) * (4 - z)) / z**3, rtol=1e-10)
    _, _, q0, f10, _, _ = etdrk4_coefficients(np.array([0.0]), h)  # the limits h/2 and h/6 at z = 0
    np.testing.assert_allclose([q0[0], f10[0]], [h / 2, h / 6], rtol=1e-12)


def test_spectral_convergence_in_the_number_of_modes() -> None:
    fine = allen_cahn(modes=1024, h=4e-3, save_dt=0.1)
    diffs = []
    for modes in (128, 256, 512):
        coarse = allen_cahn(modes=modes, h=4e-3, save_dt=0.1)
        diffs.append(np.abs(coarse.values[5:] - fine.values[5:, :: 1024 // modes]).max())  # t >= 0.5
    assert diffs[0] > 10 * diffs[1] > 100 * diffs[2], diffs  # measured: 7e-3, 6e-4, 1e-6
    assert diffs[2] < 1e-5


def test_the_cached_reference_starts_from_u0_and_interpolates() -> None:
    ref = ac.reference()
    assert ref is ac.reference()  # computed once
    x, times = ref.grid()
    np.testing.assert_allclose(ref.values[0], x**2 * np.cos(np.pi * x), atol=1e-15)
    assert np.abs(ref.values[-1]).max() <= 1.0 + 1e-6 and times[-1] == 1.0
    j, i = 700, 40
    pts = np.array([[x[j], times[i]]])
    np.testing.assert_allclose(ac.exact(pts), [ref.values[i, j]], atol=1e-12)
    grid = ac.evaluation_grid()
    assert grid.shape == (512 * 201, 2)
