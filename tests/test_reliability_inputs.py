"""Issue 15: every bad input is refused by name (points, unknowns, custom modules, devices,
CSV encodings, barrier settings, parameter dtype, nothing to train)."""

from __future__ import annotations

import math

import pytest
import sympy as sp
import torch
from torch import nn

import pinnopt as po
from pinnopt.errors import ConfigError, DataError, PinnoptError, ProblemError

x = sp.Symbol("x")
u = sp.Function("u")(x)
DOMAIN = po.Interval(x, 0, 1)
SMALL = dict(
    phases=[po.optim.Adam(steps=1)],
    collocation=po.Collocation(interior=8, boundary=2),
    log_every=1,
    runtime=po.Runtime(progress=False, device="cpu"),
)


def _problem(**kw: object) -> po.Problem:
    return po.Problem(DOMAIN, [u.diff(x, 2) + 1], [po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, 1), u)], **kw)


# -- 5: given points outside the domain ------------------------------------------------------------
def test_on_points_outside_the_domain_are_refused() -> None:
    pts = [[0.5], [2.0], [0.25], [-3.0]]
    with pytest.raises(ProblemError) as err:
        po.Problem(DOMAIN, [u.diff(x, 2) + 1], [po.On(po.Points(pts, name="pins"), u, name="pin")])
    msg = str(err.value)
    assert "condition 0 (pin)" in msg and "2 point(s)" in msg and "x=2" in msg and "pins" in msg


def test_on_points_inside_and_on_the_boundary_pass() -> None:
    p = po.Problem(DOMAIN, [u.diff(x, 2) + 1], [po.On(po.Points([[0.0], [1.0], [0.3]]), u)])
    assert p.terms[1].region.fixed_points.shape == (3, 1)


# -- 6: an unknown that no equation determines -----------------------------------------------------
def test_typo_unknown_only_in_a_condition_is_refused_with_a_suggestion() -> None:
    U = sp.Function("U")(x)
    with pytest.raises(ProblemError) as err:
        po.Problem(DOMAIN, [u.diff(x, 2) + 1], [po.On(sp.Eq(x, 0), U), po.On(sp.Eq(x, 1), u)])
    msg = str(err.value)
    assert "'U'" in msg and "no equation" in msg and "did you mean 'u'" in msg


def test_unknown_only_in_data_is_refused_unless_declared() -> None:
    v = sp.Function("v")(x)
    obs = po.Observations([[0.5]], {v: [1.0]})
    with pytest.raises(ProblemError, match="'v'"):
        po.Problem(DOMAIN, [u.diff(x, 2) + 1], [po.On(sp.Eq(x, 0), u)], data=[obs])
    # declared on purpose: a field fitted to data only
    p = po.Problem(DOMAIN, [u.diff(x, 2) + 1], [po.On(sp.Eq(x, 0), u)], data=[obs], unknowns=[u, v])
    assert p.unknowns == ("u", "v")


def test_unknown_inside_another_unknowns_equation_or_an_energy_passes() -> None:
    v = sp.Function("v")(x)
    p = po.Problem(DOMAIN, [u.diff(x, 2) + v], [po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, 0), v)])
    assert p.unknowns == ("u", "v")
    q = po.Problem(DOMAIN, [], [po.On(sp.Eq(x, 0), u)], energy=[po.Energy(u.diff(x) ** 2 / 2 - u)])
    assert q.unknowns == ("u",)


def test_every_library_problem_still_constructs() -> None:
    from pinnopt import problems

    names = problems.names()
    assert len(names) >= 20
    for name in names:
        assert isinstance(problems.get(name), po.Problem), name


# -- 7: custom torch modules are probed once --------------------------------------------------------
@pytest.mark.parametrize(
    ("net", "got"),
    [(nn.Linear(1, 3), r"\(2, 3\)"), (nn.Linear(1, 0), r"\(2, 0\)"), (nn.Linear(2, 1), "mat1 and mat2")],
)
def test_custom_module_of_the_wrong_width_is_refused(net: nn.Module, got: str) -> None:
    with pytest.raises(ConfigError, match=r"\(N, 1\) -> \(N, 1\)") as err:
        po.solve(_problem(), model=net, **SMALL)
    assert err.match(got)


def test_custom_module_with_flat_output_is_refused() -> None:
    class Flat(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(1, 1)

        def forward(self, pts: torch.Tensor) -> torch.Tensor:
            return self.lin(pts)[:, 0]

    with pytest.raises(ConfigError, match=r"got shape \(2,\)"):
        po.solve(_problem(), model=Flat(), **SMALL)


# -- 8: devices ---------------------------------------------------------------------------------
@pytest.mark.parametrize("device", ["tpu", "meta", 3, "cuda:x", "cpu:1:2"])
def test_unknown_device_is_a_config_error(device: object) -> None:
    with pytest.raises(ConfigError) as err:
        po.solve(_problem(), **{**SMALL, "runtime": po.Runtime(device=device)})
    assert repr(device) in str(err.value) and "cuda:N" in str(err.value)


# -- 9: CSV encodings ---------------------------------------------------------------------------
def test_csv_with_a_byte_order_mark_is_read(tmp_path: object) -> None:
    path = tmp_path / "obs.csv"  # type: ignore[operator]
    path.write_bytes("x,u\n0.5,1\n".encode("utf-8-sig"))
    p = po.Problem(DOMAIN, [u.diff(x, 2) + 1], data=[po.Observations.from_csv(path)])
    assert [t.name for t in p.terms] == ["pde", "obs:u"]


def test_csv_not_in_utf8_names_the_file(tmp_path: object) -> None:
    path = tmp_path / "latin.csv"  # type: ignore[operator]
    path.write_bytes("x,u\n0.5,1\n".encode("utf-16"))
    with pytest.raises(DataError, match=r"latin\.csv.*UTF-8"):
        po.Observations.from_csv(path)


# -- 12: barrier settings ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "what"),
    [
        ({"cap": 1000}, "cap=1000"),
        ({"m": 1e300}, "m=1e+300"),
        ({"m": 1e12, "cap": 60}, "m=1e+12 with cap=60"),
        ({"m": 1e-3, "floor": 1e-20, "method": "log"}, "floor=1e-20"),
    ],
)
def test_barrier_settings_that_overflow_are_refused(kw: dict[str, float], what: str) -> None:
    with pytest.raises(ProblemError, match=what.replace("+", r"\+")):
        po.Bound(u <= -1, **kw)


@pytest.mark.parametrize(
    ("floor", "what"),
    [
        (
            1e-300,
            r"floor=1e-300 gives a log-barrier curvature 1 / \(m \* floor\^2\) = 1e\+597.*"
            r"expected floor >= 3.16e-17",
        ),
        (5e-324, r"floor=4.94066e-324 .*expected floor >= 3.16e-17"),
        (1e300, r"floor=1e\+300; expected floor <= 1e\+30"),
        (0.0, r"floor=0.0; expected a positive finite number"),
        (-1e-9, r"floor=-1e-09; expected a positive finite number"),
        (math.nan, r"floor=nan; expected a positive finite number"),
        (math.inf, r"floor=inf; expected a positive finite number"),
    ],
)
def test_log_barrier_floor_out_of_range_is_named(floor: float, what: str) -> None:
    # 1e-300: m * floor^2 underflows to 0, which once divided by zero (audit 15, gap 4)
    with pytest.raises(ProblemError, match=what):
        po.Bound(sp.Symbol("k") <= 1.2, method="log", floor=floor)


def test_barrier_check_refuses_non_positive_or_non_finite_settings_itself() -> None:
    from pinnopt.declare.barriers import check_barrier_settings

    for bad in ({"floor": 0.0}, {"floor": math.inf}, {"m": math.nan}, {"cap": -1.0}):
        kw = {"m": 1e3, "cap": 20.0, "floor": 1e-9, **bad}
        with pytest.raises(ProblemError, match=f"B: {next(iter(bad))}="):
            check_barrier_settings("log", label="B", **kw)
    check_barrier_settings("log", 1.0, 20.0, 1e-15, "B")  # 1 / (m * floor^2) = 1e30: the limit


def test_barrier_settings_at_the_limits_stay_finite_in_float32() -> None:
    from pinnopt.losses.barrier import capped_exp

    b = po.Bound(u <= -1, m=1e6, cap=50)  # accepted: m * exp(cap) below the limit
    z = -torch.tensor([-1e4], dtype=torch.float32) * torch.tensor(b.m, dtype=torch.float32)
    assert torch.isfinite(capped_exp(z, b.cap)).all()


def test_a_non_finite_barrier_term_is_named() -> None:
    bound = po.Bound(u <= sp.log(x), where=sp.Eq(x, 0), name="logcap")
    r = po.solve(
        _problem(bounds=[bound]),
        **{**SMALL, "runtime": po.Runtime(guard=po.optim.DivergenceGuard(max_retries=0))},
    )
    # log(0) is -inf at the initial network already: no retry can help (issue 15, item 11)
    assert r.stop_reason is po.stop.StopReason.NOT_FINITE
    assert "logcap" in r.outcome.stop_detail


# -- 15: parameters in the run's dtype -------------------------------------------------------------
def test_parameters_start_exactly_in_float64() -> None:
    k = sp.Symbol("k")
    prob = po.Problem(
        DOMAIN, [u.diff(x, 2) + k], [po.On(sp.Eq(x, 0), u)], parameters=[po.Parameter(k, init=0.1)]
    )
    steps = {**SMALL, "phases": [po.optim.Adam(steps=1, lr=1e-300)]}
    r = po.solve(prob, **steps)
    assert r.model.params["k"].dtype == torch.float64
    assert r.parameter_history["k"][0] == 0.1
    r32 = po.solve(prob, **{**steps, "dtype": "float32"})
    assert r32.model.params["k"].dtype == torch.float32


# -- 16: parameter-free and unused-parameter models -------------------------------------------------
class _Zero(nn.Module):
    def forward(self, pts: torch.Tensor) -> torch.Tensor:
        return torch.zeros(pts.shape[0], 1, dtype=pts.dtype)


class _Unused(_Zero):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))


def test_parameter_free_model_reports_the_runs_dtype() -> None:
    k = sp.Symbol("k")
    prob = po.Problem(DOMAIN, [u.diff(x) + k - 2], [po.On(sp.Eq(x, 0), u)], parameters=[po.Parameter(k)])
    for dtype, want in (("float64", torch.float64), ("float32", torch.float32)):
        r = po.solve(prob, model=_Zero(), **{**SMALL, "dtype": dtype})
        assert r.dtype is want
        assert r.device == torch.device("cpu")


@pytest.mark.parametrize("net", [_Zero(), _Unused()])
def test_nothing_to_train_is_a_config_error(net: nn.Module) -> None:
    with pytest.raises(ConfigError, match="no trainable parameter reaches the loss"):
        po.solve(_problem(), model=net, **SMALL)


def test_errors_above_are_pinnopt_errors() -> None:
    assert issubclass(ConfigError, PinnoptError) and math.isfinite(float(po.Bound(u <= 1).m))


# -- found by the property tests (tests/test_properties.py) and junk probes ----------------------------
_EQ = [u.diff(x, 2) + 1]
K = sp.Symbol("k")
_JUNK_DECLARATIONS = {
    "On weight 'a'": lambda: po.On(sp.Eq(x, 0), u, weight="a"),
    "On weight None": lambda: po.On(sp.Eq(x, 0), u, weight=None),
    "Parameter init 'a'": lambda: po.Parameter(sp.Symbol("k"), init="a"),
    "Parameter exact 'a'": lambda: po.Parameter(sp.Symbol("k"), exact="a"),
    "parameters {k: 'a'}": lambda: po.Problem(DOMAIN, [u.diff(x, 2) + K], parameters={K: "a"}),
    "constants {k: 'b'}": lambda: po.Problem(DOMAIN, [u.diff(x, 2) + K], constants={K: "b"}),
    "eval_grid 'fine'": lambda: po.Problem(DOMAIN, _EQ, eval_grid="fine").evaluation_points(),
    "eval_grid NaN": lambda: po.Problem(DOMAIN, _EQ, eval_grid=[[math.nan]]).evaluation_points(),
    "Problem name 3": lambda: po.Problem(DOMAIN, _EQ, name=3),
    "Observations weight 'x'": lambda: po.Observations([[0.1]], {u: [1.0]}, weight="x"),
    "Points 'abc'": lambda: po.Points("abc"),
    "Points ragged": lambda: po.Points([[0.1], [0.2, 0.3]]),
    "Points complex": lambda: po.Points([1j]),
    "Points data 'x'": lambda: po.Points([[0.1]], data={"a": "x"}),
    "AtPoints 'a'": lambda: po.AtPoints("a", u),
    "Dirichlet value 'a'": lambda: po.Dirichlet("x=0", u, "a"),
    "Dirichlet value dict": lambda: po.Dirichlet("x=0", u, {"a": 1}),
    "Initial value list": lambda: po.Initial(x, u, [1, 2]),
    "Robin alpha 'a'": lambda: po.Robin("x=0", u, "a", 1),
    "Continuation start 'a'": lambda: po.Continuation(start="a"),
    "Bound at points outside": lambda: po.Problem(
        DOMAIN, _EQ, bounds=[po.Bound(u <= 1, where=po.Points([[5.0]]))]
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(_JUNK_DECLARATIONS))
def test_junk_declarations_are_pinnopt_errors(case: str) -> None:
    with pytest.raises(PinnoptError) as err:
        _JUNK_DECLARATIONS[case]()
    assert str(err.value)


_JUNK_OPTIONS = {
    "seed": 2**70,
    "seed ": 1.5,
    "seed  ": "a",
    "phases": po.optim.Adam(steps=1),
    "collocation": "many",
    "callbacks": lambda tr, step: None,
    "strategies": 3,
    "resume": 3,
    "runtime": "fast",
    "dtype": ["float32"],  # unhashable: was a raw TypeError
    "dtype ": "float16",
}


@pytest.mark.parametrize("option", sorted(_JUNK_OPTIONS))
def test_junk_solve_options_are_config_errors_naming_the_option(option: str) -> None:
    with pytest.raises(ConfigError, match=f"{option.strip()}="):
        po.solve(_problem(), **{**SMALL, option.strip(): _JUNK_OPTIONS[option]})


def test_lbfgs_history_size_must_be_an_int() -> None:
    with pytest.raises(ConfigError, match="history_size='a'"):
        po.optim.LBFGS(history_size="a")


def test_the_probe_leaves_a_custom_module_unchanged() -> None:
    net = nn.Sequential(nn.Linear(1, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 1))
    from pinnopt.compile.checks import probe_module

    probe_module(net, DOMAIN, 1, torch.float32, torch.device("cpu"), scalars=False)
    assert net.training and int(net[1].num_batches_tracked) == 0


def test_junk_inputs_to_a_result_are_pinnopt_errors(tmp_path: object) -> None:
    r = po.solve(_problem(), **SMALL)
    for call in (
        lambda: r.predict("abc"),
        lambda: r.predict([[0.1], [0.2, 0.3]]),
        lambda: r.predict([1j]),
        lambda: r.predict({"x": "a"}),
        lambda: r.predict([[0.1]], 3),
        lambda: r.save(3),
        lambda: po.validate.report_run(r, 3),
        lambda: po.validate.plot_result(r, 3),
        lambda: po.Result.load(tmp_path / "missing.pt"),  # type: ignore[operator]
    ):
        with pytest.raises(PinnoptError):
            call()
    assert r.predict([[0.1]], (e for e in [u.diff(x)]))["u"].shape == (1,)
