"""`pinnopt check` agrees with solving: every library problem passes, and deliberately wrong
variants (a data value, a Neumann value, a robust equation, a periodic pair) fail with exit
code 1 and one line per failed term."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch
from pinnopt.problems import allen_cahn as ac

import pinnopt as po
from pinnopt import problems
from pinnopt.cli import main


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_every_library_problem_passes_its_check(capsys: pytest.CaptureFixture[str]) -> None:
    failed, seconds = {}, {}
    for name in problems.names():
        start = time.perf_counter()
        code = main(["check", name])
        seconds[name] = time.perf_counter() - start
        captured = capsys.readouterr()
        if code != 0:
            failed[name] = (code, captured.out[-600:], captured.err[-300:])
        else:
            assert "FAIL" not in captured.out and not captured.err, name
    assert not failed, failed
    assert len(seconds) >= 25
    assert sum(seconds.values()) < 60, sorted(seconds.items(), key=lambda kv: -kv[1])[:3]


def _check_file(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    path = tmp_path / "variant.py"
    path.write_text(text)
    code = main(["check", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _failures(err: str) -> list[str]:
    lines = err.strip().splitlines()
    assert all(line.startswith("pinnopt: check failed: ") for line in lines), err  # no traceback
    return lines


DATA = """
import numpy as np
import sympy as sp
import pinnopt as po

x = sp.Symbol("x")
u = sp.Function("u")(x)
rng = np.random.default_rng(0)
pts = np.linspace(-1, 1, 21)
values = np.sin(np.pi * pts) + 0.01 * rng.standard_normal(21)  # 1 % noise is fine
values[OFF] += SHIFT
problem = po.Problem(
    domain=po.Interval(x, -1, 1),
    equations=[-u.diff(x, 2) - sp.pi**2 * sp.sin(sp.pi * x)],
    conditions=[po.Dirichlet("x=-1", u), po.Dirichlet("x=1", u)],
    data=[po.Observations(pts, {u: values})],
    exact=EXACT,
    name="data_variant",
)
"""


@pytest.mark.parametrize(
    "exact", ["sp.sin(sp.pi * x)", "lambda p: np.sin(np.pi * p[:, 0])"], ids=["autograd", "fd"]
)
def test_a_wrong_observation_value_fails(
    exact: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = DATA.replace("EXACT", exact).replace("OFF", "5")
    code, out, err = _check_file(tmp_path, good.replace("SHIFT", "0.0"), capsys)
    assert code == 0 and "noise within 0.05" in out, out + err
    code, out, err = _check_file(tmp_path, good.replace("SHIFT", "0.3"), capsys)
    assert code == 1, out + err
    [line] = _failures(err)
    assert "data 'data:u'" in line and "x=-0.5" in line, line  # pts[5] = -0.5
    row = next(r for r in out.splitlines() if r.strip().startswith("data:u"))
    assert "FAIL" in row and "pde" not in err


NEUMANN = """
import sympy as sp
import pinnopt as po

x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
exact = sp.exp(x) * sp.sin(sp.pi * y)
problem = po.Problem(
    domain=po.Box((x, y), (0, 0), (1, 1)),
    equations=[-u.diff(x, 2) - u.diff(y, 2) - (sp.pi**2 - 1) * exact],
    conditions=[
        po.Neumann("x=0", u, LEFT),
        po.Neumann("x=1", u, sp.E * sp.sin(sp.pi * y)),
        po.Dirichlet("y=0", u),
        po.Dirichlet("y=1", u),
    ],
    exact=exact,
    name="neumann_variant",
)
"""


@pytest.mark.parametrize("symbolic", [True, False])
def test_a_wrong_neumann_value_fails(symbolic: bool) -> None:
    namespace: dict[str, object] = {}
    # u_x = 1 at x = 0, but the outward normal points to -x: du/dn = -sin(pi y) is right
    for left, ok in (("-sp.sin(sp.pi * y)", True), ("sp.sin(sp.pi * y)", False)):
        exec(NEUMANN.replace("LEFT", left), namespace)
        report = po.check_problem(namespace["problem"], symbolic=symbolic)  # type: ignore[arg-type]
        assert report.passed is ok, report
        if not ok:
            [row] = report.failures
            assert row.name == "x=0" and row.rel is not None and row.rel > 0.1


def test_a_wrong_neumann_value_fails_in_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _check_file(tmp_path, NEUMANN.replace("LEFT", "sp.sin(sp.pi * y)"), capsys)
    assert code == 1, out + err
    [line] = _failures(err)
    assert "condition 'x=0'" in line


ROBUST = """
import sympy as sp
import pinnopt as po

t, k, theta = sp.symbols("t k theta")
u = sp.Function("u")(t)
problem = po.Problem(
    domain=po.Interval(t, 0, 1),
    equations=[EQUATION],
    conditions=[po.On(sp.Eq(t, 0), u, name="u0")],
    parameters=[po.Parameter(theta, init=1.0, exact=1.7)],
    uncertain=[po.Uncertain(k, po.robust.BoxSet(0.9, 1.5), nominal=1.0)],
    exact=theta * (1 - sp.exp(-k * t)) / k,
    name="robust_variant",
)
"""


@pytest.mark.parametrize("symbolic", [True, False])
def test_a_wrong_robust_equation_fails_at_the_nominal_coefficients(symbolic: bool) -> None:
    namespace: dict[str, object] = {}
    for equation, ok in (("u.diff(t) + k * u - theta", True), ("u.diff(t) - k * u - theta", False)):
        exec(ROBUST.replace("EQUATION", equation), namespace)
        report = po.check_problem(namespace["problem"], symbolic=symbolic)  # type: ignore[arg-type]
        assert report.passed is ok, report
        if not ok:
            assert [r.name for r in report.failures] == ["pde"]


def test_a_wrong_robust_equation_fails_in_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _check_file(
        tmp_path, ROBUST.replace("EQUATION", "u.diff(t) + 2 * k * u - theta"), capsys
    )
    assert code == 1, out + err
    [line] = _failures(err)
    assert "equation 'pde'" in line


PERIODIC = """
import sympy as sp
import pinnopt as po

x, t = sp.symbols("x t")
u = sp.Function("u")(x, t)
problem = po.Problem(
    domain=po.Interval(x, 0, 2 * sp.pi) * po.Interval(t, 0, 1),
    equations=[u.diff(t) + 3 * u.diff(x)],
    conditions=[po.Periodic(AXIS, u), po.Initial(t, u, sp.sin(x))],
    exact=sp.sin(x - 3 * t),
    name="periodic_variant",
)
"""


def test_a_wrong_periodic_pair_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _check_file(tmp_path, PERIODIC.replace("AXIS", "x"), capsys)
    assert code == 0, out + err
    # the solution is 2 pi periodic in x, not periodic in t over [0, 1]
    code, out, err = _check_file(tmp_path, PERIODIC.replace("AXIS", "t"), capsys)
    assert code == 1, out + err
    [line] = _failures(err)
    assert "'periodic(t)'" in line


def test_check_options_name_existing_terms() -> None:
    problem = problems.get("poisson1d")
    with pytest.raises(po.ValidationError, match=r"objectives names \['nope'\]"):
        po.check_problem(problem, objectives=["nope"])
    with pytest.raises(po.ValidationError, match=r"rtol names \['nope'\]"):
        po.check_problem(problem, rtol={"nope": 1e-3})


def _allen_cahn(gamma: float = ac.GAMMA, ic_sign: int = -1) -> po.Problem:
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    return po.Problem(
        domain=po.Interval(x, -1, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) - ac.NU * u.diff(x, 2) - gamma * (u - u**3)],
        conditions=[po.On(sp.Eq(t, 0), u + ic_sign * x**2 * sp.cos(sp.pi * x), n=512)],
        exact=ac.exact,
    )


def test_allen_cahn_check_still_catches_wrong_coefficients() -> None:
    assert po.check_problem(_allen_cahn(), rtol=ac.CHECK_RTOL).passed
    wrong_gamma = po.check_problem(_allen_cahn(gamma=4.5), rtol=ac.CHECK_RTOL)
    assert [r.name for r in wrong_gamma.failures] == ["pde"]
    wrong_ic = po.check_problem(_allen_cahn(ic_sign=1), rtol=ac.CHECK_RTOL)
    assert [r.name for r in wrong_ic.failures] == ["t=0"]


def test_allen_cahn_reference_follows_the_pde_at_early_times() -> None:
    """Snapshots after every step until DENSE_UNTIL: the spline's time derivative at
    t = 0.0022 misses the PDE by 9.6e-6 away from x = +-1 (4.2e-4 with snapshots every 5e-3)."""
    ref = ac.reference()
    xs = np.linspace(-0.9, 0.9, 401)
    t = np.full_like(xs, 0.0022)
    ht, hx = 6e-6, 2.4e-4
    u = ref(xs, t)
    ut = (ref(xs, t + ht) - ref(xs, t - ht)) / (2 * ht)
    uxx = (ref(xs + hx, t) - 2 * u + ref(xs - hx, t)) / hx**2
    residual = ut - ac.NU * uxx - ac.GAMMA * (u - u**3)
    assert np.abs(residual).max() < 5e-5
