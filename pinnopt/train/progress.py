"""The progress display of a run, fed at check points only (no host synchronization per step).

On a terminal (or in a Jupyter kernel) it is a tqdm bar on stderr; while the bar is drawn,
log records bound for the console are written above it (``tqdm.write``), so ``-v`` does not
garble it. Off a terminal (a log file, a pipe, a batch job) it is one plain line per check
point, a record of the logger ``pinnopt.progress``: step, phase, loss, per-term losses,
steps/s and the time left for the step budget (an upper bound: phases may stop early). When
logging is not configured the lines go to stderr; otherwise they follow the logging
configuration (``logging.getLogger("pinnopt.progress").setLevel(logging.WARNING)`` silences
them, as does ``po.Runtime(progress=False)``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, Literal

log = logging.getLogger("pinnopt.progress")
train_log = logging.getLogger("pinnopt.train")

Mode = Literal["bar", "lines", "off"]


def terminal(stream: Any = None) -> bool:
    """True when ``stream`` (default: stderr, where the bar is drawn) is a terminal or a
    Jupyter kernel's output (tqdm draws a widget there)."""
    stream = sys.stderr if stream is None else stream
    if bool(getattr(stream, "isatty", lambda: False)()):
        return True
    return type(stream).__module__.startswith("ipykernel")


def display_mode(enabled: bool | None) -> Mode:
    """``True``: a bar on a terminal, lines elsewhere; ``None``: a bar on a terminal, nothing
    elsewhere; ``False``: nothing."""
    if enabled is False:
        return "off"
    if terminal():
        return "bar"
    return "lines" if enabled else "off"


def _width(stream: Any) -> dict[str, Any]:
    """tqdm's size options: follow the terminal, or 100 x 20 where a terminal reports no size
    (a pseudo-terminal without one: tqdm would draw nothing); Jupyter sizes its own."""
    fixed = {"ncols": 100, "nrows": 20}
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return {} if terminal(stream) and not stream.isatty() else fixed
    return {"dynamic_ncols": True} if size.columns > 0 and size.lines > 0 else fixed


def duration(seconds: float) -> str:
    """``"42s"``, ``"3m05s"``, ``"1h02m"``."""
    s = max(round(seconds), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class Progress:
    """Step, loss, per-term losses, steps/s and time left; silent when disabled.

    Args:
        enabled: ``True`` (a bar on a terminal, lines elsewhere), ``False`` (nothing), or
            ``None`` (a bar on a terminal, nothing elsewhere).
        total: the step budget (an upper bound: phases may stop early).
        term_names: names of the loss terms shown next to the total.
        initial: the step the run starts from (a resumed run).
    """

    def __init__(self, enabled: bool | None, total: int, term_names: Sequence[str], initial: int = 0) -> None:
        self.mode: Mode = display_mode(enabled)
        self.term_names = tuple(term_names)
        self.total = int(total)
        self._bar: Any = None
        self._shown = self._start = int(initial)
        self._t0 = time.perf_counter()
        self._rate: float | None = None
        self._restore: list[Any] = []
        if self.mode == "bar":
            from tqdm.auto import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            self._bar = tqdm(
                total=total, initial=initial, unit="step", leave=True, file=sys.stderr, **_width(sys.stderr)
            )
            redirect = logging_redirect_tqdm(loggers=[logging.root])
            redirect.__enter__()
            self._restore.append(lambda: redirect.__exit__(None, None, None))
        elif self.mode == "lines":
            self._reach_stderr()

    def _reach_stderr(self) -> None:
        """Make the lines visible: at INFO unless a level was set on the logger, and on stderr
        when no handler is configured anywhere."""
        if log.level == logging.NOTSET:
            log.setLevel(logging.INFO)
            self._restore.append(lambda: log.setLevel(logging.NOTSET))
        if not log.hasHandlers():
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(message)s"))
            log.addHandler(handler)
            self._restore.append(lambda: log.removeHandler(handler))

    def rate(self, step: int) -> float | None:
        """Steps per second since the previous check point (the first: since the display
        started, start-up included); None when no step was made since."""
        now = time.perf_counter()
        elapsed, done = now - self._t0, step - self._start
        if done <= 0 or elapsed <= 0:
            return None
        self._t0, self._start = now, step
        return done / elapsed

    def line(self, step: int, loss: float, terms: Sequence[float], phase: str) -> str:
        """The plain line of a check point."""
        width = len(str(self.total))
        pct = 100.0 * step / self.total if self.total else 100.0
        parts = [f"step {step:>{width}d}/{self.total} ({pct:3.0f}%)", f"{phase:<6}", f"loss {loss:.4e}"]
        if self.term_names:
            pairs = ", ".join(f"{n} {v:.3e}" for n, v in zip(self.term_names, terms, strict=False))
            parts.append(f"[{pairs}]")
        rate = self.rate(step)
        if rate is None:
            rate = self._rate
        self._rate = rate
        if rate is not None:
            parts.append(f"{rate:.3g} steps/s")
            parts.append(f"eta {duration(max(self.total - step, 0) / rate)}")
        return "  ".join(parts)

    def update(self, step: int, loss: float, terms: Sequence[float], phase: str) -> None:
        """Show the check point at ``step`` with the latest losses."""
        if self.mode == "lines":
            log.info("%s", self.line(step, loss, terms, phase))
            return
        train_log.info("step %6d  loss %.4e  %s", step, loss, phase)
        if self._bar is None:
            return
        self._bar.update(max(step - self._shown, 0))
        self._shown = step
        post = {"loss": f"{loss:.3e}"}
        if len(self.term_names) <= 6:
            post.update({n: f"{v:.2e}" for n, v in zip(self.term_names, terms, strict=False)})
        self._bar.set_description(phase, refresh=False)
        self._bar.set_postfix(post, refresh=True)

    def close(self) -> None:
        """Finish the bar; give the logging configuration back."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        while self._restore:
            with contextlib.suppress(Exception):
                self._restore.pop()()
