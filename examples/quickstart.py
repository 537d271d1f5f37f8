"""Quickstart: solve -u'' = pi^2 sin(pi x) on [-1, 1] with u(+-1) = 0 and validate it."""

import sympy as sp

import pinnopt as po


def main(steps: int = 2000) -> po.Result:
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[-u.diff(x, 2) - sp.pi**2 * sp.sin(sp.pi * x)],
        conditions=[po.On(sp.Eq(x, -1), u), po.On(sp.Eq(x, 1), u)],
        exact=sp.sin(sp.pi * x),
        name="quickstart",
    )
    result = po.solve(problem, phases=[po.optim.Adam(steps=steps), po.optim.LBFGS(steps=steps)])
    print(result.stop_reason)
    print(result.validate())
    return result


if __name__ == "__main__":
    main()
