"""The README's benchmark tables are exactly what the stored JSON renders to."""

from __future__ import annotations

from benchmarks import tables


def test_readme_tables_match_stored_results() -> None:
    assert tables.readme_section(tables.README.read_text()) == tables.render()
