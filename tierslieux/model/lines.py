"""Statements as canonical N-Triples lines, and their two orders.

Lines are the form in which the map stage hands triples on (see the design note of
``model/rdf.py``). ``canonical_lines`` checks them and puts them in canonical form.

Two orders are used, both total and deterministic:

- **line order**: the code-point order of whole lines, i.e. what ``LC_ALL=C sort -u`` gives
  (UTF-8 byte order is code-point order). ``tierslieux.nt.gz`` and the diff files use it, so
  that ``comm`` and ``sort -c`` work on them;
- **triple order**: by subject IRI, then predicate IRI, then the N-Triples form of the object.
  Turtle, JSON-LD and the CSV tables use it; it differs from line order only where an IRI is a
  prefix of another (``<…/La_Myne>`` comes before ``<…/La_Myne/2>`` here).
"""

from __future__ import annotations

import gzip
import operator
import re
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from tierslieux.errors import ValidationError
from tierslieux.model.rdf import IRI_TOKEN, LITERAL_TOKEN, TermLines, Triple

#: a whole N-Triples statement without blank nodes (the contract of MappedPage.triples)
_STATEMENT = re.compile(
    rf"[ \t]*({IRI_TOKEN})[ \t]*({IRI_TOKEN})"
    rf"[ \t]*({IRI_TOKEN}|{LITERAL_TOKEN})[ \t]*\.[ \t]*(?:#.*)?"
)
#: lines in the one-space form ``<s> <p> o .``, each followed by a newline
_CANONICAL_BLOCK = re.compile(r'(?:<[^ \n<>"]*> <[^ \n<>"]*> [<"][^\n]*[^ \n] \.\n)*')
_BLOCK = 100_000


class SortedLines:
    """Lines already in canonical form, distinct and in line order, that can be read more
    than once and in triple order too, without being held in memory (the build merges them
    from sorted run files). ``canonical_lines`` and ``triple_order`` pass them through, so that
    a release of any size is written in a few streaming passes."""

    def __iter__(self) -> Iterator[str]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def in_triple_order(self) -> Iterable[Triple]:
        """The same triples as ``triple_order`` gives them, re-iterable."""
        raise NotImplementedError

    def line_bytes(self) -> Iterator[bytes] | None:
        """The lines as UTF-8 bytes, each followed by a newline, in blocks of any size, when
        they are at hand as such (a file): the N-Triples dump is then compressed from them
        without decoding a line; None otherwise."""
        return None

    def triples_with(self, predicates: Iterable[str]) -> Iterator[Triple]:
        """The triples (as ``triple_order`` spells them) whose predicate is one of
        ``predicates``, each predicate's in line order (not their order across predicates):
        a byte search over ``line_bytes`` when there are such bytes (only the lines found are
        decoded), else every line read."""
        wanted = set(predicates)
        if not wanted:
            return
        blocks = self.line_bytes()
        if blocks is None:
            for line in self:
                s, p, rest = line.split(" ", 2)
                if p[1:-1] in wanted:
                    yield s[1:-1], p[1:-1], rest[:-2]
            return
        # a line is "<s> <p> o ." and no IRI holds a space: a predicate is where "> <p> "
        # comes right after the line's first (and only) "<s>"
        needles = [(f"> <{p}> ".encode("utf-8"), p) for p in sorted(wanted)]
        rest = b""
        for block in blocks:
            data = rest + block
            end = data.rfind(b"\n") + 1
            rest = data[end:]
            yield from _lines_with(data, end, needles)
        if rest:
            yield from _lines_with(rest + b"\n", len(rest) + 1, needles)


def _lines_with(data: bytes, end: int, needles: list[tuple[bytes, str]]) -> Iterator[Triple]:
    """The triples of the whole lines of ``data[:end]`` whose predicate is a needle's."""
    for needle, predicate in needles:
        at = data.find(needle, 0, end)
        while at >= 0:
            start = data.rfind(b"\n", 0, at) + 1
            stop = data.find(b"\n", at)
            if data[start:start + 1] == b"<" and data.find(b" ", start, at) < 0:
                yield (data[start + 1:at].decode("utf-8"), predicate,
                       data[at + len(needle):stop - 2].decode("utf-8"))
            at = data.find(needle, stop, end)


def canonical_lines(lines: Iterable[str]) -> list[str] | SortedLines:
    """The distinct statements of ``lines``, each as ``<s> <p> o .``, in line order.

    Lines already in that form (what the map stage writes) are kept as they are; others are
    re-spaced. Empty lines are skipped. A line that is not an N-Triples statement, or that has a
    blank node, raises ValidationError naming it. Terms of lines in the one-space form are not
    checked here: the parse-back of the written files does that. SortedLines and TermLines (the
    map stage's) are returned as they are: whoever made them vouches for their form.
    """
    if isinstance(lines, (SortedLines, TermLines)):
        return lines
    if isinstance(lines, (list, tuple)) and all(map(operator.lt, lines, islice(lines, 1, None))):
        ordered = list(lines)  # already distinct and in line order (what the map stage gives)
    else:
        ordered = sorted(set(lines))
    # One regex pass over a block of lines runs in C; only a block that fails it is looked at
    # line by line.
    for start in range(0, len(ordered), _BLOCK):
        block = ordered[start : start + _BLOCK]
        if not _CANONICAL_BLOCK.fullmatch("\n".join(block) + "\n"):
            return sorted({fixed for fixed in map(_canonical, ordered) if fixed})
    return ordered


def _canonical(line: str) -> str:
    """One line in canonical form, "" for an empty or comment line."""
    if _CANONICAL_BLOCK.fullmatch(line + "\n"):
        return line
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return ""
    match = _STATEMENT.fullmatch(stripped)
    if match is None:
        blank = "_:" in stripped
        raise ValidationError(
            f"not an N-Triples statement{' (blank nodes are not allowed)' if blank else ''}: "
            f"{stripped[:200]!r}"
        )
    return f"{match.group(1)} {match.group(2)} {match.group(3)} ."


def subject_groups(triples: Iterable[Triple]) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """``(subject, [(predicate, object), ...])`` from triples whose subjects are contiguous
    (triple order, or line order)."""
    subject = None
    pairs: list[tuple[str, str]] = []
    for s, p, o in triples:
        if s != subject:
            if pairs:
                yield subject, pairs  # type: ignore[misc]
            subject = s
            pairs = []
        pairs.append((p, o))
    if pairs:
        yield subject, pairs  # type: ignore[misc]


def triple_order(lines: Iterable[str]) -> list[Triple] | Iterable[Triple]:
    """Split canonical lines into triples and sort them in triple order (SortedLines give
    their own re-iterable ``in_triple_order``)."""
    if isinstance(lines, SortedLines):
        return lines.in_triple_order()
    triples = [(s[1:-1] if s[0] == "<" else s, p[1:-1], o[:-2])
               for s, p, o in (line.split(" ", 2) for line in lines)]
    # The input is nearly in this order already, which timsort turns into a near-linear pass.
    triples.sort()
    return triples


def read_ntriples_gz(path: Path) -> Iterator[str]:
    """The lines of a gzipped N-Triples file (``exports.ntriples.write_ntriples_gz`` writes
    them)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as stream:
        for line in stream:
            line = line.rstrip("\n")
            if line:
                yield line
