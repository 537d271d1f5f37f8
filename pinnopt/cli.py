"""The ``pinnopt`` command: list and solve library problems."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .errors import PinnoptError


def _list(_: argparse.Namespace) -> int:
    from . import problems

    for name, description in problems.describe():
        print(f"{name:<16} {description}")
    return 0


def _solve(args: argparse.Namespace) -> int:
    from . import problems
    from .solve import solve

    problem = problems.get(args.problem)
    kwargs = problems.recommended(args.problem)
    if args.device:
        kwargs["device"] = args.device
    if args.dtype:
        kwargs["dtype"] = args.dtype
    kwargs["seed"] = args.seed
    result = solve(problem, **kwargs)
    print(
        f"{problem.name}: {result.steps} steps in {result.outcome.wall_time_s:.1f} s; "
        f"stopped: {result.stop_reason}"
    )
    if problem.exact_solution is not None:
        print(result.validate())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``pinnopt`` command."""
    parser = argparse.ArgumentParser(prog="pinnopt", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log training progress")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the library's problems").set_defaults(fn=_list)
    p = sub.add_parser("solve", help="solve a library problem and validate it")
    p.add_argument("problem", help="a library problem name (see `pinnopt list`)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--dtype", default=None, choices=["float32", "float64"])
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(fn=_solve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return int(args.fn(args))
    except PinnoptError as exc:
        print(f"pinnopt: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pinnopt: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
