"""Declaring bounds, regularization, equalities and energies: normalization and clear errors."""

from __future__ import annotations

import pytest
import sympy as sp

import pinnopt as po

x = sp.Symbol("x")
k, c = sp.symbols("k c")
u = sp.Function("u")(x)


def make(**kw) -> po.Problem:
    return po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x, 2) + k],
        conditions=[po.On(sp.Eq(x, 0), u)],
        parameters={k: 1.0, c: 0.5},
        **kw,
    )


def test_bounds_normalize_to_one_sided_slacks() -> None:
    p = make(
        bounds=[
            k >= 0.1,
            po.between(c, 0, 1),
            po.Bound(u >= -1, where=sp.Eq(x, 1)),
            u <= 3,
            po.Bound(u.diff(x) <= 0, where="x=0", reduce="max", name="monotone"),
        ]
    )
    cs = p.constraints
    names = [q.name for q in cs.inequalities]
    assert names == [
        "bound:k>=0.1",
        "bound:c>=0",
        "bound:c<=1",
        "bound:u(x)>=-1",
        "bound:u(x)<=3",
        "monotone",
    ]
    kinds = {q.name: (q.kind, q.parameter, q.limit, q.side) for q in cs.inequalities}
    assert kinds["bound:k>=0.1"] == ("parameter", "k", 0.1, "lower")
    assert kinds["bound:c<=1"] == ("parameter", "c", 1.0, "upper")
    assert kinds["bound:u(x)>=-1"][0] == "field"
    # a field bound on a region the equations use shares its points; others get their own
    assert cs.point_sets == {
        "bound:u(x)>=-1": "bound:u(x)>=-1",
        "bound:u(x)<=3": "interior",
        "monotone": "x=0",
    }
    assert all(isinstance(b, po.Bound) for b in p.bounds)


def test_unknowns_only_in_bounds_or_energies_join_the_problem() -> None:
    v = sp.Function("v")(x)
    p = make(bounds=[v >= 0], energy=po.Energy(u.diff(x) ** 2 + v**2))
    assert p.unknowns == ("u", "v")
    # an unknown only in a bound (no equation or energy determines it) must be declared
    with pytest.raises(po.ProblemError, match="'v' appears in no equation or energy"):
        make(bounds=[v >= 0], energy=po.Energy(u.diff(x) ** 2))
    assert make(bounds=[v >= 0], unknowns=[u, v]).unknowns == ("u", "v")


def test_equalities_are_exposed_with_expr() -> None:
    a, b = sp.symbols("a b")
    p = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x, 2) + a + b],
        conditions=[po.On(sp.Eq(x, 0), u)],
        parameters={a: 0.3, b: 0.3},
        equalities=[sp.Eq(a + b, 1), po.Equality(a - 2 * b, method="penalty", name="ratio")],
    )
    assert len(p.equalities) == 2
    assert p.equalities[0].expr == a + b - 1
    assert p.equalities[1].expr == a - 2 * b
    assert [e.name for e in p.constraints.compiled_equalities] == ["eq:a+b-1", "ratio"]


@pytest.mark.parametrize(
    ("bounds", "match"),
    [
        ([sp.Eq(k, 1)], "is an equality, not an inequality"),
        ([sp.Ne(k, 0)], "is not a bound"),
        ([x >= 0], "no trainable parameter and no unknown"),
        ([sp.Integer(2) >= 1], "evaluated to True"),
        ([sp.And(k >= 2, k <= 1)], "cannot both hold"),
        ([sp.And(k >= 1, k <= 1)], "equal limits"),
        ([k >= sp.oo], "non-finite limit"),
        ([k <= -sp.oo], "non-finite limit"),
        ([sp.Or(k >= 1, k <= 0)], "only inequalities"),
        (["k > 0"], "must be a sympy inequality"),
        ([po.Bound(k >= 0, where="interior")], "takes no where="),
        ([po.Bound(k >= 0, reduce="max")], "not to parameter bounds"),
        ([po.Bound(u >= 0, method="reparam")], "for single parameters"),
        ([po.Bound(k * c >= 0, method="project")], "one parameter with a numeric limit"),
        ([po.Bound(k >= 0, method="reparam"), po.Bound(k <= 2, method="reparam")], "several exact bounds"),
        ([po.Bound(k >= 2, method="reparam")], "strictly inside"),
        ([po.Bound(k >= 0, name="pde")], "names must be unique"),
        ([po.Bound(u >= 0, where=sp.Eq(x, 5))], "not a side"),
        ([sp.Symbol("q") >= 0], "not declared"),
    ],
)
def test_malformed_bounds_are_rejected(bounds: list, match: str) -> None:
    with pytest.raises(po.PinnoptError, match=match):
        make(bounds=bounds)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: po.between(k, 1, 0), "lower limit must be below"),
        (lambda: po.between(k, 0, float("inf")), "not finite"),
        (lambda: po.between(k, float("nan"), 1), "not finite"),
        (lambda: po.Bound(k >= 0, m=0), "positive finite"),
        (lambda: po.Bound(k >= 0, m=float("inf")), "positive finite"),
        (lambda: po.Bound(k >= 0, method="relu"), "method="),
        (lambda: po.Bound(k >= 0, reduce="sum"), "reduce="),
        (lambda: po.Bound(k >= 0, m=10, continuation=po.Continuation(100.0)), "above m"),
        (lambda: po.Bound(k >= 0, method="reparam", continuation=po.Continuation()), "exact"),
        (lambda: po.Continuation(start=-1.0), "start="),
        (lambda: po.Equality(k >= 1), "inequalities are bounds"),
        (lambda: po.Equality(k - 1, method="lagrange"), "method="),
        (lambda: po.Equality(k - 1, rho=0), "rho="),
        (lambda: po.L2(k, weight=-1.0), "weight="),
        (lambda: po.L1(k, prior=float("nan")), "not finite"),
        (lambda: po.Range(k), "lower=, upper= or both"),
        (lambda: po.Range(k, lower=2, upper=1), "must be below"),
        (lambda: po.Energy(u, quadrature="simpson"), "quadrature="),
    ],
)
def test_malformed_declarations_are_rejected(build, match: str) -> None:
    with pytest.raises(po.PinnoptError, match=match):
        build()


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"equalities": [sp.Eq(u, 1)]}, "between trainable parameters"),
        ({"equalities": [sp.Eq(x, 1)]}, "between trainable parameters"),
        ({"regularization": [po.L2(u)]}, "involves unknowns"),
        ({"regularization": [po.L2(sp.Integer(3))]}, "no trainable parameter"),
        ({"regularization": [k]}, "must be po.L2"),
        ({"energy": [k]}, "must be po.Energy"),
        ({"energy": po.Energy(k * x)}, "does not involve any unknown"),
    ],
)
def test_malformed_constraints_in_a_problem_are_rejected(kw: dict, match: str) -> None:
    with pytest.raises(po.PinnoptError, match=match):
        make(**kw)


def test_energy_only_problem_is_allowed() -> None:
    p = po.Problem(domain=po.Interval(x, 0, 1), equations=[], energy=po.Energy(u.diff(x) ** 2 / 2 - u))
    assert p.unknowns == ("u",) and [e.name for e in p.constraints.energies] == ["energy"]
    with pytest.raises(po.ProblemError, match="at least one equation, condition, observation or energy"):
        po.Problem(domain=po.Interval(x, 0, 1), equations=[])
