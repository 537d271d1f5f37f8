"""Domains, boundary pieces, normals, region specs and samplers (no training)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.domain import MappedRegion, PieceUnion

x, y, z, t = sp.symbols("x y z t")
CPU = torch.device("cpu")
F64 = torch.float64

L_SHAPE = [(-1, -1), (1, -1), (1, 0), (0, 0), (0, 1), (-1, 1)]


def domains() -> dict[str, po.Domain]:
    square = po.Box((x, y), (0, 0), (2, 2))
    return {
        "interval": po.Interval(x, -1, 2),
        "box3": po.Box((x, y, z), (0, -1, 2), (1, 1, 3)),
        "disk": po.Disk((x, y), center=(0.5, -0.25), radius=1.5),
        "ball3": po.Ball((x, y, z), center=(0, 0, 1), radius=0.7),
        "lshape": po.Polygon((x, y), L_SHAPE),
        "clockwise_triangle": po.Polygon((x, y), [(0, 0), (0, 1), (1, 0)]),
        "union": po.Box((x, y), (0, 0), (2, 1)) | po.Box((x, y), (0, 0), (1, 2)),
        "hole": square - po.Disk((x, y), (1, 1), 0.5, name="hole"),
        "lens": po.Disk((x, y), (0, 0), 1) & po.Disk((x, y), (1, 0), 1),
        "cylinder": po.Disk((x, y)) * po.Interval(t, 0, 2),
        "lshape_time": po.Polygon((x, y), L_SHAPE) * po.Interval(t, 0, 1),
    }


@pytest.fixture(params=sorted(domains()))
def domain(request: pytest.FixtureRequest) -> po.Domain:
    return domains()[request.param]


def distance_to_boundary(d: po.Domain, p: torch.Tensor) -> torch.Tensor:
    """Distance to the boundary, through ``contains`` with a signed tolerance (bisection)."""
    lo, hi = torch.zeros(len(p), dtype=F64), torch.full((len(p),), 1.0, dtype=F64)
    for _ in range(60):
        mid = (lo + hi) / 2
        inside_by = torch.stack([d.contains(p[i : i + 1], -float(mid[i]))[0] for i in range(len(p))])
        outside_by = torch.stack([~d.contains(p[i : i + 1], float(mid[i]))[0] for i in range(len(p))])
        far = inside_by | outside_by
        lo = torch.where(far, mid, lo)
        hi = torch.where(far, hi, mid)
    return lo


def test_interior_points_lie_inside(domain: po.Domain, generator: torch.Generator) -> None:
    for sampler in (po.sample.Uniform(), po.sample.Sobol(), po.sample.Halton(), po.sample.LatinHypercube()):
        pts = domain.sample_interior(256, generator, F64, CPU, sampler)
        assert pts.shape == (256, domain.dim)
        assert bool(domain.contains(pts).all())
        lo, hi = domain.bounds
        assert bool((pts >= torch.tensor(lo) - 1e-12).all() and (pts <= torch.tensor(hi) + 1e-12).all())


def test_boundary_points_are_on_the_boundary_with_unit_outward_normals(
    domain: po.Domain, generator: torch.Generator
) -> None:
    pieces = domain.pieces()
    assert pieces
    for name, piece in pieces.items():
        assert isinstance(piece, MappedRegion), name
        p, data = piece.draw(40, generator, F64, CPU)
        n = data["normal"]
        assert p.shape == n.shape == (40, domain.dim)
        assert bool(domain.contains(p, tol=1e-12).all()), name
        # on the boundary: not at least 1e-12 inside
        assert not bool(domain.contains(p, tol=-1e-12).any()), name
        np.testing.assert_allclose(torch.linalg.vector_norm(n, dim=1).numpy(), 1.0, atol=1e-12)
        step = 1e-6 * max(h - lo for lo, h in zip(*domain.bounds, strict=True))
        assert not bool(domain.contains(p + step * n, tol=0.0).any()), f"{name}: normal not outward"
        assert bool(domain.contains(p - step * n, tol=0.0).all()), f"{name}: normal not outward"


def test_exact_distances_for_curved_and_polygonal_pieces(generator: torch.Generator) -> None:
    disk = po.Disk((x, y), center=(0.5, -0.25), radius=1.5)
    p = disk.region("circle").sample(500, generator, F64, CPU)
    r = torch.linalg.vector_norm(p - torch.tensor([0.5, -0.25], dtype=F64), dim=1)
    assert float((r - 1.5).abs().max()) <= 1e-12
    ball = po.Ball((x, y, z), radius=2.0)
    q = ball.region("sphere").sample(500, generator, F64, CPU, po.sample.Sobol())
    assert float((torch.linalg.vector_norm(q, dim=1) - 2).abs().max()) <= 1e-12
    lshape = po.Polygon((x, y), L_SHAPE)
    side = lshape.region("side3")  # from (0, 0) to (0, 1): x = 0
    s = side.sample(200, generator, F64, CPU)
    assert float(s[:, 0].abs().max()) == 0.0 and bool(((s[:, 1] >= 0) & (s[:, 1] <= 1)).all())
    assert bool((side.normals(s) == torch.tensor([1.0, 0.0], dtype=F64)).all())  # outward: +x (re-entrant)
    d = distance_to_boundary(lshape, lshape.region("boundary").sample(30, generator, F64, CPU))
    assert float(d.max()) <= 1e-12
    cyl = po.Disk((x, y)) * po.Interval(t, 0, 2)
    c, data = cyl.region("circle").draw(100, generator, F64, CPU)
    assert float((torch.linalg.vector_norm(c[:, :2], dim=1) - 1).abs().max()) <= 1e-12
    assert bool((data["normal"][:, 2] == 0).all())
    cap, capdata = cyl.region(sp.Eq(t, 0)).draw(50, generator, F64, CPU)
    assert bool((cap[:, 2] == 0).all()) and bool((capdata["normal"] == torch.tensor([0, 0, -1.0])).all())


def test_pieces_and_measures() -> None:
    assert sorted(po.Interval(x, 0, 1).pieces()) == ["x=0", "x=1"]
    assert sorted((po.Disk((x, y)) * po.Interval(t, 0, 1)).pieces()) == ["circle", "t=0", "t=1"]
    lshape = po.Polygon((x, y), L_SHAPE)
    assert [p.measure() for p in lshape.pieces().values()] == [2, 1, 1, 1, 1, 2]
    assert lshape.volume() == 3 and lshape.acceptance == 0.75
    union = po.Box((x, y), (0, 0), (2, 1)) | po.Box((x, y), (0, 0), (1, 2))
    assert union.boundary().measure() == pytest.approx(8.0, rel=0.03)  # the inner seam is dropped
    assert union.volume() == pytest.approx(3.0, rel=0.03)
    hole = po.Box((x, y), (0, 0), (2, 2)) - po.Disk((x, y), (1, 1), 0.5, name="hole")
    assert hole.pieces()["hole"].measure() == pytest.approx(math.pi)
    assert hole.volume() == pytest.approx(4 - math.pi / 4, rel=0.02)
    assert po.Ball((x, y, z), radius=2).volume() == pytest.approx(4 / 3 * math.pi * 8)
    cyl = po.Disk((x, y)) * po.Interval(t, 0, 2)
    assert cyl.pieces()["circle"].measure() == pytest.approx(4 * math.pi)


def test_whole_boundary_shares_points_by_measure(generator: torch.Generator) -> None:
    lshape = po.Polygon((x, y), L_SHAPE)
    boundary = lshape.region("boundary")
    assert isinstance(boundary, PieceUnion)
    assert boundary.counts(80) == [20, 10, 10, 10, 10, 20]
    pts, data = boundary.draw(80, generator, F64, CPU)
    assert pts.shape == (80, 2) and data["normal"].shape == (80, 2)


def test_region_specs_resolve() -> None:
    box = po.Box((x, t), (-1, 0), (1, 1))
    assert box.region(sp.Eq(x, -1)).name == "x=-1"
    assert box.region("x=-1") is box.region(sp.Eq(x, -1))
    assert box.region(po.Side(t, "lower")).name == "t=0"
    assert box.region(po.Side(t, "upper")).name == "t=1"
    assert box.region("interior").name == "interior"
    both = box.region([sp.Eq(x, -1), "x=1"])
    assert isinstance(both, PieceUnion) and both.name == "x=-1+x=1"
    assert box.region(sp.Eq(x, -1) | sp.Eq(x, 1)).name == "x=-1+x=1"
    assert box.region("boundary").measure() == pytest.approx(6.0)
    lshape = po.Polygon((x, y), L_SHAPE, names=["bottom", "right", "in_h", "in_v", "top", "left"])
    assert lshape.region(sp.Eq(x, 0)).name == "in_v"  # axis-aligned sides resolve from Eq
    with pytest.raises(po.ProblemError, match="not a boundary piece"):
        box.region("x=2")
    with pytest.raises(po.ProblemError, match="is not a side"):
        box.region(sp.Eq(x, 0.5))
    with pytest.raises(po.ProblemError, match="cannot use"):
        box.region(3.0)


def test_contains_with_negative_tolerance_means_strictly_inside() -> None:
    disk = po.Disk((x, y), radius=1)
    p = torch.tensor([[1.0, 0.0], [0.5, 0.0]], dtype=F64)
    assert disk.contains(p).tolist() == [True, True]
    assert disk.contains(p, tol=-1e-9).tolist() == [False, True]
    lshape = po.Polygon((x, y), L_SHAPE)
    q = torch.tensor([[0.0, 0.5], [-0.5, 0.5], [0.5, 0.5]], dtype=F64)
    assert lshape.contains(q).tolist() == [True, True, False]
    assert lshape.contains(q, tol=-1e-9).tolist() == [False, True, False]


def test_shape_validation() -> None:
    with pytest.raises(po.ProblemError, match="intersect"):
        po.Polygon((x, y), [(0, 0), (2, 2), (2, 0), (0, 1)])
    with pytest.raises(po.ProblemError, match="at least 3"):
        po.Polygon((x, y), [(0, 0), (1, 1)])
    with pytest.raises(po.ProblemError, match="distinct"):
        po.Polygon((x, y), [(0, 0), (1, 0), (0, 1)], names=["a", "a", "b"])
    with pytest.raises(po.ProblemError, match="radius"):
        po.Disk((x, y), radius=-1)
    with pytest.raises(po.ProblemError, match="same coordinates"):
        po.Disk((x, y)) | po.Disk((y, x))
    with pytest.raises(po.ProblemError, match="empty"):
        po.Box((x, y), (0, 0), (1, 1)) & po.Box((x, y), (2, 2), (3, 3))
    with pytest.raises(po.ProblemError, match="repeats a coordinate"):
        po.Interval(x, 0, 1) * po.Disk((x, y))


def test_evaluation_grids() -> None:
    assert po.Box((x, t), (0, 0), (1, 1)).grid(11).shape == (121, 2)
    g = po.Disk((x, y)).grid(21)
    assert bool(po.Disk((x, y)).contains(g).all()) and 0.7 * 441 < len(g) < 0.85 * 441
    g3 = (po.Polygon((x, y), L_SHAPE) * po.Interval(t, 0, 1)).grid(11)
    assert g3.shape[1] == 3 and len(g3) < 11**3


@pytest.mark.parametrize(
    "sampler", [po.sample.Sobol(), po.sample.LatinHypercube(), po.sample.Halton(), po.sample.Uniform()]
)
def test_samplers_are_reproducible_under_a_seed(sampler: po.sample.Sampler) -> None:
    disk = po.Disk((x, y))

    def draw(seed: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return disk.sample_interior(128, g, F64, CPU, sampler)

    assert torch.equal(draw(7), draw(7))
    assert not torch.equal(draw(7), draw(8))


def test_quasi_random_points_are_more_even_than_random() -> None:
    from scipy.stats import qmc

    box = po.Box((x, y), (0, 0), (1, 1))
    g = torch.Generator().manual_seed(0)
    disc = {
        name: qmc.discrepancy(box.sample_interior(256, g, F64, CPU, s).numpy())
        for name, s in (
            ("uniform", po.sample.Uniform()),
            ("sobol", po.sample.Sobol()),
            ("lhs", po.sample.LatinHypercube()),
        )
    }
    assert disc["sobol"] < disc["uniform"] / 3
    assert disc["lhs"] < disc["uniform"]


def test_grid_sampler_and_latin_hypercube_strata(generator: torch.Generator) -> None:
    box = po.Box((x, t), (-1, 0), (1, 1))
    g = box.sample_interior(100, generator, F64, CPU, "grid")
    assert g.shape == (100, 2) and len(torch.unique(g[:, 0])) == 10
    lhs = po.Interval(x, 0, 1).sample_interior(50, generator, F64, CPU, "lhs")[:, 0]
    assert sorted(torch.floor(lhs * 50).long().tolist()) == list(range(50))  # one point per stratum
    with pytest.raises(po.ConfigError, match="sampler"):
        po.Collocation(sampler="sobolev")
    assert po.Collocation(sampler="halton").sampler == po.sample.Halton()


def test_points_carry_their_dtype_and_device(generator: torch.Generator) -> None:
    cyl = po.Disk((x, y)) * po.Interval(t, 0, 1)
    p, data = cyl.region("circle").draw(16, generator, torch.float32, CPU, po.sample.Sobol())
    assert p.dtype == torch.float32 and data["normal"].dtype == torch.float32
    assert p.device == CPU


def test_periodic_pairs_share_other_coordinates(generator: torch.Generator) -> None:
    u = sp.Function("u")(x, t)
    problem = po.Problem(
        domain=po.Interval(x, 0, 2) * po.Interval(t, 0, 1),
        equations=[u.diff(t) + u.diff(x)],
        conditions=[po.Periodic(x, u)],
    )
    spec = next(s for s in problem.terms if s.name == "periodic(x)")
    pts = spec.region.sample(10, generator, F64, CPU)
    assert pts.shape == (20, 2)
    assert bool((pts[:10, 0] == 0).all() and (pts[10:, 0] == 2).all())
    assert torch.equal(pts[:10, 1], pts[10:, 1])
    assert len(spec.exprs) == 2  # u and u_x
