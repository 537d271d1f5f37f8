"""A tqdm progress bar fed at check points only (no host synchronization per step)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any


def terminal() -> bool:
    """True when both stdout and stderr are terminals (tqdm draws on stderr)."""
    return bool(getattr(sys.stdout, "isatty", lambda: False)()) and bool(
        getattr(sys.stderr, "isatty", lambda: False)()
    )


class Progress:
    """Step, loss, per-term losses and steps/s; silent when disabled.

    Args:
        enabled: ``True``, ``False``, or ``None`` for "only when writing to a terminal".
        total: the step budget (an upper bound: phases may stop early).
        term_names: names of the loss terms shown next to the total.
    """

    def __init__(self, enabled: bool | None, total: int, term_names: Sequence[str], initial: int = 0) -> None:
        self.enabled = terminal() if enabled is None else bool(enabled)
        self.term_names = tuple(term_names)
        self._bar: Any = None
        self._shown = initial
        if self.enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, leave=True)

    def update(self, step: int, loss: float, terms: Sequence[float], phase: str) -> None:
        """Advance to ``step`` and show the latest losses."""
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
        """Finish the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
