"""Uncertainty sets: membership, projection, sampling, extreme points, dense clouds, errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.declare.uncertainty.space import UncertaintySpace


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


SETS = {
    "box": po.robust.BoxSet([0.9, -1.0, 2.0], [1.1, 1.0, 2.5]),
    "ellipsoid": po.robust.Ellipsoid([1.0, 2.0], [[2.0, 0.6], [0.6, 0.5]], radius=1.5),
    "ellipsoid3": po.robust.Ellipsoid([0.0, 1.0, 2.0], [1.0, 4.0, 0.25], radius=2.0),
    "budget": po.robust.Budget([1.0, 2.0, 3.0, 4.0], [0.1, 0.5, 0.2, 0.0], gamma=1.5),
    "scenarios": po.robust.Scenarios([[1.0, 2.0], [1.5, 2.5], [0.5, 3.0]]),
}


@pytest.mark.parametrize("name", list(SETS))
def test_samples_dense_points_and_vertices_lie_in_the_set(name: str) -> None:
    s = SETS[name]
    x = s.sample(500, _gen(1))
    assert x.shape == (500, s.dim) and x.dtype == torch.float64
    assert s.contains(x.numpy()).all()
    assert torch.equal(x, s.sample(500, _gen(1))), "sampling is seeded"
    assert not torch.equal(x, s.sample(500, _gen(2)))
    assert s.contains(s.dense(300, _gen()), tol=1e-9).all()
    v = s.vertices()
    if v is not None:
        assert len(v) == s.n_vertices()
        assert s.contains(v).all()
    assert s.contains(s.nominal)
    lo, hi = s.bounds()
    assert np.all(x.numpy() >= lo - 1e-12) and np.all(x.numpy() <= hi + 1e-12)


@pytest.mark.parametrize("name", ["box", "ellipsoid", "ellipsoid3", "budget"])
def test_projection_is_the_nearest_point_of_the_set(name: str) -> None:
    s = SETS[name]
    lo, hi = s.bounds()
    g = _gen(3)
    far = torch.as_tensor(lo) + (torch.rand(64, s.dim, generator=g, dtype=torch.float64) * 3 - 1) * (
        torch.as_tensor(hi - lo) + 0.1
    )
    p = s.project(far)
    assert s.contains(p.numpy(), tol=1e-8).all()
    torch.testing.assert_close(s.project(p), p, atol=1e-9, rtol=0)  # idempotent
    # No member of the set is nearer than the projection (checked against many members).
    members = torch.cat([s.sample(4000, _gen(4)), torch.as_tensor(s.dense(2000, _gen(5)))])
    nearest = torch.cdist(far, members).min(1).values
    assert torch.all((far - p).norm(dim=1) <= nearest + 1e-9)
    inside = s.sample(10, _gen(6))
    torch.testing.assert_close(s.project(inside), inside, atol=1e-9, rtol=0)


def test_projection_onto_scenarios_picks_the_closest_case() -> None:
    s = SETS["scenarios"]
    p = s.project(torch.tensor([[1.4, 2.6], [0.0, 3.5]], dtype=torch.float64))
    assert p.tolist() == [[1.5, 2.5], [0.5, 3.0]]


def test_box_vertices_grid_and_degenerate_interval() -> None:
    b = po.robust.BoxSet([0, 0, 5], [1, 2, 5])
    assert b.n_vertices() == 4 and sorted(map(tuple, b.vertices())) == [
        (0, 0, 5),
        (0, 2, 5),
        (1, 0, 5),
        (1, 2, 5),
    ]
    grid = po.robust.BoxSet(0.9, 1.1).dense(11, _gen())
    np.testing.assert_allclose(grid[:, 0], np.linspace(0.9, 1.1, 11))
    assert po.robust.BoxSet(0.9, 1.1).contains([0.95, 1.2]).tolist() == [True, False]
    assert po.robust.BoxSet([0, 0], [1, 1]).contains([0.5, 0.5]) is True


def test_budget_extreme_points_for_integer_and_fractional_gamma() -> None:
    c, d = np.zeros(4), np.ones(4)
    for gamma, count in [(0, 1), (1, 8), (1.5, 4 * 3 * 4), (2, 6 * 4), (4, 16), (3.25, 4 * 1 * 16)]:
        s = po.robust.Budget(c, d, gamma)
        v = s.vertices()
        assert len(v) == s.n_vertices() == count, gamma
        z = np.abs(v)
        k = math.floor(gamma)
        if gamma < 4:
            np.testing.assert_allclose(z.sum(1), gamma)
            assert all(sorted(row)[::-1][:k] == [1.0] * k for row in z.tolist())
    full = po.robust.Budget([1.0, 2.0], [0.5, 0.5], 2)
    box = po.robust.BoxSet([0.5, 1.5], [1.5, 2.5])
    assert sorted(map(tuple, full.vertices())) == sorted(map(tuple, box.vertices()))
    nominal = po.robust.Budget([1.0, 2.0], [0.5, 0.5], 0)
    assert nominal.vertices().tolist() == [[1.0, 2.0]]
    assert not nominal.contains([1.1, 2.0]) and nominal.contains([1.0, 2.0])


def test_ellipsoid_membership_matches_the_quadratic_form() -> None:
    s = po.robust.Ellipsoid([1.0, 2.0], [[2.0, 0.6], [0.6, 0.5]], radius=1.5)
    x = np.random.default_rng(0).normal(size=(400, 2)) * 2 + [1, 2]
    q = np.einsum("ki,ij,kj->k", x - [1, 2], np.linalg.inv([[2.0, 0.6], [0.6, 0.5]]), x - [1, 2])
    assert np.array_equal(s.contains(x, tol=0.0), q <= 1.5**2)
    assert 0.1 < (q <= 2.25).mean() < 0.9  # both sides are exercised
    one = po.robust.Ellipsoid(2.0, 0.25, radius=2.0)  # an interval [1, 3]
    assert one.vertices().ravel().tolist() == [1.0, 3.0]
    assert one.contains([1.0, 3.0, 3.01], tol=0).tolist() == [True, True, False]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: po.robust.BoxSet(1.1, 0.9), r"lower\[0\] = 1.1 > upper\[0\] = 0.9"),
        (lambda: po.robust.BoxSet([0, 0], [1]), "lower has 2 entries but upper has 1"),
        (lambda: po.robust.BoxSet(0, float("nan")), "NaN"),
        (lambda: po.robust.Ellipsoid([0, 0], [[1, 0.5], [0.4, 1]]), "not symmetric"),
        (lambda: po.robust.Ellipsoid([0, 0], [[1, 2], [2, 1]]), "not positive definite"),
        (lambda: po.robust.Ellipsoid([0, 0], np.eye(3)), r"shape \(3, 3\); expected \(2, 2\)"),
        (lambda: po.robust.Ellipsoid([0, 0], 1.0, radius=0), "radius=0"),
        (lambda: po.robust.Budget([0, 0], [1, 1], 2.5), r"gamma=2.5 is outside \[0, 2\]"),
        (lambda: po.robust.Budget([0, 0], [1, 1], -0.1), "outside"),
        (lambda: po.robust.Budget([0, 0], [1, -1], 1), r"deviation\[1\] = -1 < 0"),
        (lambda: po.robust.Budget([0, 0, 0], [1, 1], 1), "center has 3 entries but deviation has 2"),
        (lambda: po.robust.Scenarios([]), "empty"),
        (lambda: po.robust.Scenarios([[1, 2], [3]]), "equally long"),
    ],
)
def test_malformed_sets_are_refused_with_a_clear_message(make, match: str) -> None:
    with pytest.raises(po.ProblemError, match=match):
        make()


def test_uncertain_declarations_are_checked() -> None:
    a, b = sp.symbols("a b")
    u = po.Uncertain((a, b), po.robust.Ellipsoid([1, 2], [1, 1]))
    assert u.names == ("a", "b") and u.nominal.tolist() == [1.0, 2.0]
    assert po.Uncertain(a, po.robust.BoxSet(0, 2), nominal=0.5).nominal.tolist() == [0.5]
    assert po.Uncertain(a, po.robust.Scenarios([3.0, 1.0, 2.0])).nominal.tolist() == [3.0]
    with pytest.raises(po.ProblemError, match="2 symbols but the set"):
        po.Uncertain((a, b), po.robust.BoxSet(0, 1))
    with pytest.raises(po.ProblemError, match="lies outside"):
        po.Uncertain(a, po.robust.BoxSet(0, 1), nominal=2.0)
    with pytest.raises(po.ProblemError, match="set must be"):
        po.Uncertain(a, (0, 1))  # type: ignore[arg-type]


def test_space_products_restrict_and_enumerate() -> None:
    a, b, c = sp.symbols("a b c")
    space = UncertaintySpace(
        [po.Uncertain(a, po.robust.BoxSet(0, 1)), po.Uncertain((b, c), po.robust.Budget([0, 0], [1, 2], 1))]
    )
    assert space.names == ("a", "b", "c") and space.dim == 3
    assert space.n_vertices() == 2 * 4 and len(space.vertices()) == 8
    assert space.contains(space.vertices()).all()
    x = torch.tensor([[2.0, 3.0, 3.0]], dtype=torch.float64)
    p = space.project(x)
    assert p[0, 0] == 1.0 and space.contains(p.numpy()).all()
    assert space.restrict(["c"]).names == ("b", "c")
    dense = space.dense(400, _gen())
    assert space.contains(dense).all() and len(dense) >= 100
    ell = UncertaintySpace([po.Uncertain((a, b), po.robust.Ellipsoid([0, 0], 1.0))])
    assert ell.n_vertices() is None and ell.vertices() is None
    assert space.as_dict([0.5, 0.1, 0.2]) == {"a": 0.5, "b": 0.1, "c": 0.2}


def test_problem_declares_uncertain_coefficients_as_named_scalars() -> None:
    x, k, q = sp.symbols("x k q")
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[-k * u.diff(x, 2) - 1],
        conditions=[po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, 1), u)],
        uncertain={k: po.robust.BoxSet(0.9, 1.1)},
        exact=x * (1 - x) / (2 * k),
    )
    assert problem.uncertainty is not None and problem.uncertainty.names == ("k",)
    assert sp.Symbol("k") in problem.context.scalars
    assert problem.terms[0].expr.scalars == frozenset({"k"})
    exact = problem.exact_solution(np.array([[0.5]]))["u"]  # validated at the nominal k = 1
    np.testing.assert_allclose(exact, [0.125])
    with pytest.raises(po.ProblemError, match="declared twice"):
        po.Problem(
            domain=po.Interval(x, 0, 1),
            equations=[-k * u.diff(x, 2) - 1],
            parameters={k: 1.0},
            uncertain={k: po.robust.BoxSet(0.9, 1.1)},
        )
    with pytest.raises(po.UnknownSymbolError):
        po.Problem(
            domain=po.Interval(x, 0, 1),
            equations=[-q * u.diff(x, 2) - 1],
            uncertain={k: po.robust.BoxSet(0, 1)},
        )
    with pytest.raises(po.ProblemError, match="uncertain must be"):
        po.Problem(domain=po.Interval(x, 0, 1), equations=[u], uncertain=3)


def test_dense_grids_cover_small_boxes_exhaustively() -> None:
    b = po.robust.BoxSet([0, 0], [1, 2])
    grid = b.dense(121, _gen())
    assert len(grid) == 121
    assert set(map(tuple, b.vertices())) <= set(map(tuple, grid))
    values = sorted({round(v, 12) for v in grid[:, 1]})
    assert values == [round(v, 12) for v in np.linspace(0, 2, 11)]
    assert all(isinstance(t, tuple) for t in itertools.islice(map(tuple, grid), 3))
