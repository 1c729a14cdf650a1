"""CSV written row by row for downloads and exports, safe to open in a spreadsheet."""

import csv
from collections.abc import Iterable, Iterator

CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_cell(value) -> str:
    """Spreadsheets run cells that start like a formula; such text is quoted with '."""
    text = "" if value is None else str(value)
    return f"'{text}" if isinstance(value, str) and text.startswith(CSV_FORMULA_STARTS) else text


def csv_lines(rows: Iterable[list]) -> Iterator[str]:
    """Each row as one CSV line, made as it is read (large exports never sit in memory)."""
    writer = csv.writer(_Echo())
    return (writer.writerow([csv_cell(v) for v in row]) for row in rows)
