"""Reading users' data files: CSV tables with a header row, and ``.npz`` archives of arrays.

One reader per format, shared by observations (:meth:`pinnopt.Observations.from_csv`),
reference solutions (:meth:`pinnopt.ReferenceSolution.load`) and the run folder's history
archive, so that every bad file is refused the same way: a :class:`~pinnopt.errors.PinnoptError`
naming the file, and the line and column where the problem is.
"""

from __future__ import annotations

import csv
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, PinnoptError


@dataclass(frozen=True)
class CsvTable:
    """A CSV file's numbers: ``data[i, j]`` is row ``i`` of column ``header[j]``.

    ``lines[i]`` is the line of the file (1-based) that row ``i`` came from (blank lines are
    skipped, so they differ from ``i + 2``).
    """

    header: tuple[str, ...]
    data: np.ndarray
    lines: tuple[int, ...]

    def columns(self) -> dict[str, np.ndarray]:
        """``{column name: (rows,) values}``."""
        return {h: self.data[:, j] for j, h in enumerate(self.header)}


def read_csv_table(path: str | Path, what: str) -> CsvTable:
    """Read a UTF-8 CSV file (a byte order mark is allowed): a header row of column names,
    then at least one row of numbers with one field per column. Blank lines are skipped.

    Args:
        path: the file.
        what: what the file is, for messages (``"observations file"``).

    Raises:
        DataError: naming ``what``, the file and, where it applies, the line and column: the
            file cannot be opened or is not UTF-8 text; the first row does not name the
            columns, or names one twice; there are no data rows; a row has the wrong number
            of fields; a field is not a number.
    """
    path = Path(path)
    where = f"{what} {path}"
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:  # a byte order mark is dropped
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise DataError(f"cannot read {where}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{where}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start : exc.start + 1]!r}); "
            "expected UTF-8 encoded CSV (a byte order mark is allowed): save the file as UTF-8"
        ) from None
    except csv.Error as exc:
        raise DataError(f"{where}: not a readable CSV file: {exc}") from None
    lines = [(k + 1, r) for k, r in enumerate(rows) if r and any(c.strip() for c in r)]
    if not lines:
        raise DataError(f"{where}: the file is empty; expected a header line and at least one data line")
    header = [h.strip() for h in lines[0][1]]
    if any(_is_number(h) for h in header):
        raise DataError(f"{where}: the first row must name the columns (e.g. 'x,t,u'), got {header}")
    if any(not h for h in header) or len(set(header)) != len(header):
        raise DataError(f"{where}: column names must be non-empty and distinct, got {header}")
    if len(lines) < 2:
        raise DataError(
            f"{where}: a header line {header} but no data lines; expected a header line and at "
            "least one data line"
        )
    body = lines[1:]
    for line, row in body:
        if len(row) != len(header):
            raise DataError(f"{where}, line {line}: {len(row)} fields, expected {len(header)} ({header})")
    try:
        data = np.array([row for _, row in body], dtype=np.float64)
    except ValueError:  # find the field to name
        for line, row in body:
            for j, cell in enumerate(row):
                try:
                    float(cell)
                except ValueError:
                    raise DataError(
                        f"{where}, line {line}, column {header[j]!r}: {cell.strip()!r} is not a number"
                    ) from None
        raise
    return CsvTable(tuple(header), data.reshape(len(body), len(header)), tuple(line for line, _ in body))


def read_npz(path: str | Path, what: str, error: type[PinnoptError] = DataError) -> dict[str, np.ndarray]:
    """The named arrays of a ``.npz`` archive (``numpy.savez``), read without pickles.

    Args:
        path: the file.
        what: what the file is, for messages (``"reference file"``).
        error: the exception raised (:class:`~pinnopt.errors.DataError` for a user's data).

    Raises:
        error: naming ``what`` and the file, when it cannot be opened, is not a zip archive of
            arrays (corrupt, truncated, a single ``.npy`` array) or holds pickled objects.
    """
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
        if not hasattr(data, "files"):  # a .npy file: np.load returns the array itself
            raise ValueError("a single array, not an archive of named arrays")
        with data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise error(
            f"{path}: not a readable {what} ({exc}); expected a .npz archive of arrays (numpy.savez)"
        ) from exc


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
