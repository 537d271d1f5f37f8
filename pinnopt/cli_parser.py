"""The argument parser of the ``pinnopt`` command; :mod:`pinnopt.cli` gives it the subcommands."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from typing import Any

from .exitcodes import exit_epilog
from .validate.rundir import LOG_CSV, LOG_TENSORBOARD

DESCRIPTION = """The ``pinnopt`` command: list, check, solve and report problems.

    pinnopt list                         the library's problems
    pinnopt check NAME|FILE.py           the exact solution against every equation and condition
    pinnopt solve NAME|FILE.py [...]     train, validate, write a run folder: report, plots, model,
                                         predictions
    pinnopt report DIR                   draw the plots and the Markdown of a saved run again
    pinnopt sweep NAME|FILE.py --trials N   search hyperparameters around the configuration (Optuna)

A problem file is a Python file that defines ``problem`` (a ``pinnopt.Problem``) or
``make_problem()`` returning one, and optionally ``recommended()`` returning keyword
arguments for ``pinnopt.solve``. Errors print one line; the exit status says how a command
ended (the table at the end of ``pinnopt --help``).

Each ``pinnopt solve`` writes a fresh run folder, ``runs/NAME/<date-time>``, unless ``--out``
names one. ``pinnopt report`` reads a run folder as data: it never runs a file named there.
"""
"""What ``pinnopt --help`` says first."""


def build_parser(handlers: Mapping[str, Callable[[argparse.Namespace], int]]) -> argparse.ArgumentParser:
    """The argument parser of the ``pinnopt`` command; ``handlers`` maps each subcommand
    (list, check, solve, report, sweep) to the function that runs it."""

    def global_options(p: argparse.ArgumentParser, default: Any) -> None:
        p.add_argument("-v", "--verbose", action="store_true", default=default, help="log what training does")
        p.add_argument(
            "-q",
            "--quiet",
            action="store_true",
            default=default,
            help="no progress display and no summary lines (results, warnings and errors still print)",
        )

    common = argparse.ArgumentParser(add_help=False)  # the same options after the command
    global_options(common, argparse.SUPPRESS)  # (given or not, they keep the value from before it)
    parser = argparse.ArgumentParser(
        prog="pinnopt", description=DESCRIPTION, epilog=exit_epilog(), formatter_class=_PlainFormatter
    )
    global_options(parser, False)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common], formatter_class=_PlainFormatter)

    command("list", "list the library's problems").set_defaults(fn=handlers["list"])

    p = command("check", "check a problem's equations and conditions on its exact solution")
    p.add_argument("problem", help="a library problem name (see: pinnopt list) or a FILE.py")
    p.add_argument("--points", type=int, default=256, help="sample points per region (default 256)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gradients", action="store_true", help="also check derivatives and the loss gradient")
    p.set_defaults(fn=handlers["check"])

    p = command("solve", "solve a problem, validate it, write a report with plots")
    p.add_argument("problem", help="a library problem name (see: pinnopt list) or a FILE.py")
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="cap the total steps: the recommended phases are shortened proportionally",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="use the problem's quick() configuration (minutes on a CPU) instead of recommended()",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop after SECONDS of training (besides the configuration's own criteria; a time-march "
        "gives each window an equal share)",
    )
    p.add_argument(
        "--lr", type=float, default=None, help="the learning rate of every gradient phase (Adam...)"
    )
    p.add_argument(
        "--log",
        action="append",
        choices=["csv", "tensorboard"],
        default=None,
        help=f"also log every check point into the run folder: csv ({LOG_CSV}) or tensorboard "
        f"({LOG_TENSORBOARD}/, needs pip install pinnopt[tensorboard]); may be repeated",
    )
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--dtype", default=None, choices=["float32", "float64"])
    p.add_argument(
        "--matmul-precision",
        default=None,
        choices=["highest", "high", "medium"],
        help="float32 matrix products: high allows TF32 on NVIDIA GPUs (float32 runs only)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--out",
        default=None,
        help="the run folder (default: a fresh runs/NAME/<date-time>); one holding another run is "
        "refused unless --resume or --overwrite is given",
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="continue from a run folder, checkpoint folder or file (without --out: in that run folder)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace the run held by --out")
    p.add_argument("--no-validate", action="store_true", help="skip validation (no exact solution)")
    p.add_argument("--no-plots", action="store_true", help="write no plots")
    p.add_argument("--landscape", action="store_true", help="also plot loss landscapes and a convexity probe")
    p.add_argument("--check", action="store_true", help="check the problem first; stop if it fails")
    p.set_defaults(fn=handlers["solve"])

    p = command("report", "draw the plots and report.md of a saved run again (reads data only, runs no code)")
    p.add_argument("dir", help="a run folder written by `pinnopt solve`")
    p.add_argument(
        "--problem",
        default=None,
        metavar="NAME|FILE.py",
        help="the run's problem, to draw the solution plots (a FILE.py is run: only give one you trust); "
        "default: the library problem named in report.json, if any",
    )
    p.set_defaults(fn=handlers["report"])

    p = command("sweep", "search hyperparameters around the configuration (needs pinnopt[sweep])")
    p.add_argument("problem", help="a library problem name (see `pinnopt list`) or a FILE.py")
    p.add_argument("--trials", type=int, default=20, help="trials to run (default 20; 0: report the study)")
    p.add_argument("--storage", default=None, help="Optuna database URL (default: SQLite in the run folder)")
    p.add_argument("--study", default=None, help="study name (default: the problem's); stored ones continue")
    p.add_argument("--steps", type=int, default=None, help="cap each trial's total steps (as for solve)")
    p.add_argument("--quick", action="store_true", help="start from quick() instead of recommended()")
    p.add_argument("--seed", type=int, default=0, help="every trial's training seed")
    p.add_argument("--sampler-seed", type=int, default=None, help="the sampler's seed (default --seed)")
    p.add_argument("--timeout", type=float, default=None, help="start no trial after this many seconds")
    p.add_argument(
        "--pruner",
        default="auto",
        choices=["auto", "percentile", "median", "none"],
        help="stop poor trials early (auto: only with --timeout; docs/sweeps.md)",
    )
    p.add_argument("--baseline", action="store_true", help="also solve the configuration itself once")
    p.add_argument("--out", default=None, help="the run folder (default: a new runs/NAME-sweep/<date-time>)")
    p.add_argument("--no-plots", action="store_true", help="write no plots")
    p.set_defaults(fn=handlers["sweep"])
    return parser


def _plain(text: str) -> str:
    """``text`` without reStructuredText/Markdown backticks (``--help`` is read in a terminal)."""
    return re.sub(r"`+([^`]*)`+", r"\1", text)


class _PlainFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and drops backticks."""

    def format_help(self) -> str:
        return _plain(super().format_help())
