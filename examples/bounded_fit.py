"""Bounded fit: recover a diffusivity that must lie in [0.1, 2] from perturbed observations.

``-D u'' = pi^2 sin(pi x)`` on [0, 1] with ``u(0) = u(1) = 0``; the true ``D`` is 0.7 and we
observe ``u`` at 25 points, perturbed by up to 1% (a fixed pattern ``1 + 0.01 sin(37 x)``).
The initial guess ``D = -0.5`` is infeasible (and of the wrong sign): the exponential
barrier of ``po.between(D, 0.1, 2)`` pushes it back, its coefficient rising from 1 to 1e3
during Adam. The feasibility report then says how each side of the bound holds.

    python examples/bounded_fit.py [--steps 500]
"""

from __future__ import annotations

import argparse

import numpy as np
import sympy as sp

import pinnopt as po


def main(steps: int = 500) -> po.Result:
    x, D = sp.symbols("x D")
    u = sp.Function("u")(x)
    exact = sp.sin(sp.pi * x) / 0.7
    observed = exact * (1 + sp.sin(37 * x) / 100)
    data = po.Points(np.random.default_rng(0).uniform(0, 1, 25)[:, None], "obs")
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[-D * u.diff(x, 2) - sp.pi**2 * sp.sin(sp.pi * x)],
        conditions=[
            po.On(sp.Eq(x, 0), u),
            po.On(sp.Eq(x, 1), u),
            po.On(data, u - observed),  # the observations
        ],
        parameters=[po.Parameter(D, init=-0.5, exact=0.7)],
        bounds=[po.Bound(po.between(D, 0.1, 2.0), m=1e3, continuation=po.Continuation(1.0))],
        # a soft preference would be: regularization=[po.L2(D, prior=1.0, weight=1e-4)]
        exact=exact,
        name="bounded_fit",
    )
    result = po.solve(
        problem,
        model=po.nn.MLP(width=16, depth=2),
        collocation=po.Collocation(interior=100, boundary=1),
        phases=[po.optim.Adam(steps=steps, lr=1e-2), po.optim.LBFGS(steps=steps)],
    )
    print(result.stop_reason)
    print(result.validate())
    print(po.validate.feasibility(result))
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=500, help="Adam steps, then as many L-BFGS iterations")
    main(ap.parse_args().steps)
