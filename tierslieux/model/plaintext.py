"""Aligned plain-text tables, as ``query --format table`` and ``survey`` print them."""

from __future__ import annotations


def render_table(header: list[str], rows: list[list[str]]) -> str:
    """Aligned plain text: a header, a rule, the rows, and ``(N rows)``."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    lines = []
    if header:
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)
    lines.append(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")
    return "\n".join(lines) + "\n"
