"""The CSV text of a table's rows, byte for byte as pandas writes it, without pandas' cost."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any


def csv_block(spec: Any, rows: Sequence[list[str]], header: bool = False) -> str:
    """The CSV text of some rows of a table as ``write_table`` writes them (comma separated,
    ``QUOTE_MINIMAL``, ``\\n`` after every row), with the header row first when ``header``.

    The bytes are those pandas' ``DataFrame.to_csv`` (``dtype=object``, ``index=False``)
    writes, the reference, which hands string cells to ``csv.writer``: a cell is quoted when
    it holds one of the characters the writer quotes (``quoted_characters``), its ``"`` doubled,
    and a row of one empty cell is ``""``. Made here with ``str.join`` and ``str.replace``,
    five times faster than the writer's scan of each character and without pandas' fixed
    cost per block; tests/test_tablepieces.py compares the bytes with pandas'. Each cell is
    quoted on its own: a table's file is its header's block followed by the blocks of its
    rows in any grouping (tablepieces.py relies on it; a test checks it)."""
    if not _AS_EXPECTED:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        if header:
            writer.writerow([c.name for c in spec.columns])
        writer.writerows(rows)
        return text.getvalue()
    lines = [_csv_line([c.name for c in spec.columns])] if header else []
    cr = _QUOTES_CR
    for row in rows:
        line = ",".join(row)
        if (line.count(",") != len(row) - 1 or '"' in line or "\n" in line
                or (cr and "\r" in line)):
            line = _csv_line(row)
        elif not line and len(row) == 1:
            line = '""'
        lines.append(line)
    return "\n".join(lines) + "\n" if lines else ""


def _csv_line(row: Sequence[str]) -> str:
    """One row as ``csv.writer`` (QUOTE_MINIMAL) writes it, without its line end; a row of
    one empty cell aside."""
    cr = _QUOTES_CR
    return ",".join(['"' + cell.replace('"', '""') + '"'
                     if "," in cell or '"' in cell or "\n" in cell or (cr and "\r" in cell)
                     else cell for cell in row])


def quoted_characters() -> str:
    """The characters that make this Python's ``csv.writer`` quote a cell (QUOTE_MINIMAL,
    ``\\n`` line ends): a comma, ``"`` and ``\\n``, and ``\\r`` in some versions."""
    found = ""
    for character in ',"\n\r':
        text = io.StringIO()
        csv.writer(text, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerow(
            [f"a{character}b"])
        if text.getvalue().startswith('"'):
            found += character
    return found


_QUOTED = quoted_characters()
#: whether the writer quotes as csv_block expects (else csv_block runs the writer itself)
_AS_EXPECTED = _QUOTED in (',"\n', ',"\n\r')
_QUOTES_CR = _QUOTED.endswith("\r")
