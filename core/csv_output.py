"""CSV files the product writes (exports, invoices, reports): cells are neutralised so that a
spreadsheet never runs them as formulas (CSV injection, e.g. `=HYPERLINK(...)` in a name)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# What Excel, LibreOffice and Google Sheets start a formula with (OWASP's list).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def cell(value: Any) -> Any:
    """`value` itself, except a text that a spreadsheet would read as a formula: that gets a
    leading apostrophe (shown as text, not run). Numbers, and texts that are numbers ("-3"), stay."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _number(value):
        return "'" + value
    return value


def row(values: Iterable[Any]) -> list[Any]:
    """A row for `csv.writer.writerow`, every cell through `cell`."""
    return [cell(v) for v in values]


def record(values: Mapping[str, Any]) -> dict[str, Any]:
    """A row for `csv.DictWriter.writerow`, every cell through `cell`."""
    return {name: cell(value) for name, value in values.items()}
