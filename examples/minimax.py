"""A min-max over parameters, no unknown function: min over theta of max over xi in [0, 1]
of (theta - 2 xi)^2. The answer is theta = 1 with value 1, the worst xi at 0 or 1
(docs/optimization.md)."""

import sympy as sp

import pinnopt as po


def main(steps: int = 50) -> po.Result:
    theta, xi = sp.symbols("theta xi")
    problem = po.Problem(
        minimize=(theta - 2 * xi) ** 2,
        parameters={theta: 0.0},
        uncertain={xi: po.robust.BoxSet(0, 1)},
        exact_parameters={theta: 1.0},
        name="minimax",
    )
    result = po.solve(problem, phases=[po.optim.LBFGS(steps=steps)])
    print(result.parameters)  # {'theta': 1.0}
    print(result.robust)  # worst case 1 at xi = 0 or 1, certified by a dense search
    print(result.validate())
    return result


if __name__ == "__main__":
    main()
