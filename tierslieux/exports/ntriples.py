"""N-Triples lines: the form in which the map stage hands triples to the exports.

The exports never load an RDF library to write: they work on the N-Triples lines themselves.
This module checks those lines, orders them, and writes the sorted, gzipped N-Triples dump;
the terms themselves are written and read by ``model/rdf.py``.

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
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from tierslieux.errors import ValidationError
from tierslieux.model.rdf import IRI_TOKEN, LITERAL_TOKEN, Triple

#: gzip level of every ``.nt.gz`` file; with mtime 0 and no file name the bytes depend only on
#: the content (and on the zlib version).
GZIP_LEVEL = 6

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


def canonical_lines(lines: Iterable[str]) -> list[str] | SortedLines:
    """The distinct statements of ``lines``, each as ``<s> <p> o .``, in line order.

    Lines already in that form (what the map stage writes) are kept as they are; others are
    re-spaced. Empty lines are skipped. A line that is not an N-Triples statement, or that has a
    blank node, raises ValidationError naming it. Terms of lines in the one-space form are not
    checked here: the parse-back of the written files does that. SortedLines are returned as
    they are: whoever made them vouches for their form.
    """
    if isinstance(lines, SortedLines):
        return lines
    unique = set(lines)
    ordered = sorted(unique)
    # One regex pass over a block of lines runs in C; only a block that fails it is looked at
    # line by line.
    for start in range(0, len(ordered), _BLOCK):
        block = ordered[start : start + _BLOCK]
        if not _CANONICAL_BLOCK.fullmatch("\n".join(block) + "\n"):
            return sorted({fixed for fixed in map(_canonical, unique) if fixed})
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


def write_ntriples_gz(lines: Iterable[str], path: Path) -> int:
    """Write lines (already in line order) as gzipped N-Triples; return how many were written.

    The gzip header carries mtime 0 and no file name, so equal lines give equal bytes.
    """
    with NTriplesGzWriter(path) as out:
        for line in lines:
            out.write(line)
    return out.count


class NTriplesGzWriter:
    """``write_ntriples_gz`` one line at a time (a context manager); ``reset()`` starts the
    file again, empty."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._batch: list[str] = []
        self._open()

    def _open(self) -> None:
        self._raw = open(self.path, "wb")
        self._stream = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0,
                                     compresslevel=GZIP_LEVEL)

    def write(self, line: str) -> None:
        self._batch.append(line)
        if len(self._batch) >= 65536:
            self.count += _flush(self._stream, self._batch)

    def reset(self) -> None:
        self._close()
        self.count = 0
        self._batch.clear()
        self._open()

    def _close(self) -> None:
        try:
            self.count += _flush(self._stream, self._batch)
            self._stream.close()
        finally:
            self._raw.close()

    def __enter__(self) -> NTriplesGzWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()


def _flush(stream: BinaryIO, batch: list[str]) -> int:
    if not batch:
        return 0
    stream.write(("\n".join(batch) + "\n").encode("utf-8"))
    n = len(batch)
    batch.clear()
    return n


def read_ntriples_gz(path: Path) -> Iterator[str]:
    """The lines of a gzipped N-Triples file written by write_ntriples_gz."""
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as stream:
        for line in stream:
            line = line.rstrip("\n")
            if line:
                yield line
