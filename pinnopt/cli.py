"""The ``pinnopt`` command: the subcommands and ``main``.

What each subcommand does is :data:`pinnopt.cli_parser.DESCRIPTION` (``pinnopt --help``); the
parser lives in :mod:`pinnopt.cli_parser`, which this module wires to the functions below.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import cli_parser, problems
from .compile.assemble import build_model, resolve_device
from .errors import ConfigError, PinnoptError, ValidationError
from .exitcodes import (
    EXIT_DIVERGED,
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    exit_code,
)
from .solve_options import DEFAULT_PHASES
from .train import Checkpoint
from .train.loggers import CSVLogger, TensorBoardLogger, summary_writer
from .train.runtime import Runtime
from .validate.check import check_problem
from .validate.gradcheck import gradient_check
from .validate.report import read_json
from .validate.rundir import (
    CHECKPOINTS,
    LOG_CSV,
    LOG_TENSORBOARD,
    REPORT,
    clear_run,
    discarded_on_failure,
    folder_lock,
    output_folder,
    rerender_run,
    resume_source,
    write_run,
)
from .validate.trajectory import ParameterRecorder
from .workflows.configured import run_configuration
from .workflows.sources import cap_steps, load_problem, time_limit, with_lr
from .workflows.sweeps import load_optuna, sweep


def cmd_list(_: argparse.Namespace) -> int:
    rows = list(problems.describe())
    width = max((len(name) for name, _ in rows), default=0)
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
    return EXIT_OK


def _check_options(source: dict[str, str]) -> dict[str, Any]:
    """What a library problem declares for its check: ``OBJECTIVE_TERMS`` (targets the
    solution approaches, which the exact solution need not zero) and ``CHECK_RTOL`` (per-term
    tolerances where its numeric reference is known to be less accurate)."""
    if source.get("kind") != "library":
        return {}

    module = problems.module(source["name"])
    return {
        "objectives": tuple(getattr(module, "OBJECTIVE_TERMS", ())),
        "rtol": getattr(module, "CHECK_RTOL", None),
    }


def _run_check(
    problem: Any, source: dict[str, str], n: int = 256, seed: int = 0, *, show_passed: bool = True
) -> Any:
    """Check ``problem`` against its exact solution; print the table (if it failed or
    ``show_passed``), and one line per failed term on stderr."""
    report = check_problem(problem, n=n, seed=seed, **_check_options(source))
    if show_passed or not report.passed:
        print(report)
    for row in report.failures:
        why = row.detail or "does not vanish"
        print(f"pinnopt: check failed: {row.kind} {row.name!r} on {row.region}: {why}", file=sys.stderr)
    return report


def cmd_check(args: argparse.Namespace) -> int:
    problem, kwargs, source = load_problem(args.problem)
    report = _run_check(problem, source, n=args.points, seed=args.seed)
    ok = report.passed
    if args.gradients:
        model, _ = build_model(problem, kwargs.get("model"))
        grad = gradient_check(problem, model, collocation=kwargs.get("collocation"), seed=args.seed)
        print(grad)
        ok = ok and grad.passed
    return EXIT_OK if ok else EXIT_FAILED


def cmd_solve(args: argparse.Namespace) -> int:
    if args.overwrite and args.resume is not None:
        raise ConfigError("--overwrite and --resume contradict each other: pass one of them")
    problem, kwargs, source = load_problem(args.problem, "quick" if args.quick else "recommended")
    validate = not args.no_validate
    if validate and problem.exact_solution is None:
        raise ValidationError(
            f"problem {problem.name!r} declares no exact solution to validate against; give "
            "Problem(exact=...) or pass --no-validate"
        )
    # every argument is checked before a folder is created
    phases = list(kwargs.get("phases") or DEFAULT_PHASES)
    if args.steps is not None:
        phases = cap_steps(phases, args.steps)
    if args.lr is not None:
        phases = with_lr(phases, args.lr)
    kwargs["phases"] = phases
    if args.time_limit is not None:
        kwargs["stop"] = time_limit(kwargs, args.time_limit)
    runtime = dataclasses.replace(kwargs.get("runtime") or Runtime(), progress=not args.quiet)
    if args.device:
        resolve_device(args.device)  # fail before training starts
        runtime = dataclasses.replace(runtime, device=args.device)
    if args.matmul_precision:
        runtime = dataclasses.replace(runtime, matmul_precision=args.matmul_precision)
    kwargs["runtime"] = runtime
    if "tensorboard" in (args.log or ()):
        summary_writer()  # fail before a folder is created when tensorboard is missing
    if args.dtype:
        kwargs["dtype"] = args.dtype
    kwargs["seed"] = args.seed
    total = sum(p.steps for p in phases)
    resume = resume_source(args.resume)
    if resume is not None:
        kwargs["resume"] = resume
    check = None
    if args.check:
        check = _run_check(problem, source, show_passed=False)
        if not check.passed:
            return EXIT_FAILED
    existed = args.out is not None and Path(args.out).exists()
    out = output_folder(args.out, args.resume, overwrite=args.overwrite, name=problem.name)
    created = not existed and not any(out.iterdir())
    with discarded_on_failure(out, created=created), folder_lock(out):
        if args.overwrite:
            clear_run(out)
        return _train_and_report(args, problem, kwargs, source, out, total, validate, check)


def _train_and_report(
    args: argparse.Namespace,
    problem: Any,
    kwargs: dict[str, Any],
    source: dict[str, str],
    out: Path,
    total: int,
    validate: bool,
    check: Any,
) -> int:
    kwargs.setdefault("checkpoint", Checkpoint(out / CHECKPOINTS, every=max(1, min(500, total // 10))))
    kwargs.setdefault("log_every", min(100, max(5, total // 50)))  # progress updates
    recorder = ParameterRecorder() if problem.parameters else None
    callbacks = [*kwargs.get("callbacks", ()), *_loggers(args.log or (), out)]
    if recorder is not None:
        callbacks.append(recorder)
    kwargs["callbacks"] = callbacks
    result = run_configuration(problem, **kwargs)
    code = exit_code(result.stop_reason)
    if not args.quiet:
        print(
            f"{problem.name}: {result.steps} steps in {result.outcome.wall_time_s:.1f} s on "
            f"{result.config['device']} ({result.config['dtype']}); stopped: {result.stop_reason.name} "
            f"({result.stop_reason.value})"
        )
    validation = result.validate() if validate and code != EXIT_INTERRUPTED else None
    if validation is not None:
        print(validation)
    files = write_run(
        result,
        out,
        validation=validation,
        check=check,
        trajectory=recorder.as_arrays() if recorder is not None else None,
        source=source,
        plots=not args.no_plots,
        landscape=args.landscape,
        cli={"argv": list(args.argv), "steps_cap": args.steps},
        exit_code=code,
    )
    if not args.quiet:
        plots = sum(1 for p in files.values() if p.suffix == ".png")
        print(f"wrote {files['report']}, {files['markdown'].name}, {plots} plots")
    if code == EXIT_INTERRUPTED:
        print(
            f"pinnopt: interrupted at step {result.steps}; checkpoint and report in {out}; continue with "
            f"`pinnopt solve {args.problem} --resume {out}`",
            file=sys.stderr,
        )
    elif code == EXIT_DIVERGED:
        print(f"pinnopt: diverged: {result.outcome.stop_detail or result.stop_reason.value}", file=sys.stderr)
    return code


def _loggers(kinds: Sequence[str], out: Path) -> list[Any]:
    """The ``--log`` loggers, writing into the run folder."""
    made: list[Any] = []
    for kind in dict.fromkeys(kinds):
        made.append(CSVLogger(out / LOG_CSV) if kind == "csv" else TensorBoardLogger(out / LOG_TENSORBOARD))
    return made


def cmd_report(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    if not folder.is_dir():
        raise ConfigError(f"{args.dir} is not a folder (expected a run folder written by `pinnopt solve`)")
    report = read_json(folder / REPORT)
    problem = None
    if args.problem is not None:  # the user's explicit choice (a library name or a file they trust)
        problem, _, _ = load_problem(args.problem)
    else:
        src = report.get("source")
        src = src if isinstance(src, dict) else {}
        name = src.get("name")
        if src.get("kind") == "library" and isinstance(name, str):
            try:  # by library name only: never a path taken from the folder
                problem = problems.module(name).make_problem()
            except PinnoptError as exc:
                print(f"pinnopt: note: {_one_line(exc)}; drawing the loss plots only", file=sys.stderr)
        elif src:
            print(
                f"pinnopt: note: the run's problem came from the file {src.get('path')!s}, which "
                "`pinnopt report` never runs; pass --problem FILE.py to draw the solution plots",
                file=sys.stderr,
            )
    with folder_lock(folder):
        files = rerender_run(folder, problem=problem)
    plots = sum(1 for p in files.values() if p.suffix == ".png")
    if not args.quiet:
        print(f"wrote {files['markdown']} and {plots} plots")
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    load_optuna().logging.set_verbosity(logging.WARNING)  # one line per trial is printed here
    problem, kwargs, _ = load_problem(args.problem, "quick" if args.quick else "recommended")
    if args.steps is not None:
        kwargs["phases"] = cap_steps(list(kwargs.get("phases") or DEFAULT_PHASES), args.steps)
    result = sweep(
        problem,
        None,  # the default space around the configuration (po.sweep takes any other)
        args.trials,
        base=kwargs,
        storage=args.storage,
        study=args.study,
        seed=args.seed,
        sampler_seed=args.sampler_seed,
        out=args.out,
        pruner=None if args.pruner == "none" else args.pruner,
        timeout=args.timeout,
        baseline=args.baseline,
        plots=not args.no_plots,
        on_trial=lambda t: print(f"trial {t.number}: {t.summary()}", flush=True),
    )
    best = result.best
    if best is None:
        print(f"pinnopt: no trial of study {result.study.study_name!r} completed", file=sys.stderr)
    else:
        print(f"best: trial {best.number}, {result.objective} {best.value:.4e}\n{best.config}")
    if result.baseline is not None and result.baseline.get("value") is not None:
        print(f"base configuration (seed {result.seed}): {result.objective} {result.baseline['value']:.4e}")
    print(f"wrote {result.files.get('markdown', result.out)}, trials.csv, trials.md")
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if best is not None else EXIT_FAILED


# -- entry point --------------------------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (what the command prints)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``pinnopt`` command, wired to its subcommands."""
    handlers = {
        "list": cmd_list,
        "check": cmd_check,
        "solve": cmd_solve,
        "report": cmd_report,
        "sweep": cmd_sweep,
    }
    return cli_parser.build_parser(handlers)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return int(args.fn(args))
    except PinnoptError as exc:
        print(f"pinnopt: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"pinnopt: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("pinnopt: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
