"""N-Triples lines: the form in which the map stage hands triples to the exports.

The exports never load an RDF library to write: they work on the N-Triples lines themselves.
This module checks and splits those lines, orders them, decodes the escapes of their terms,
and writes the sorted, gzipped N-Triples dump.

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
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tierslieux.errors import ValidationError

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

#: gzip level of every ``.nt.gz`` file; with mtime 0 and no file name the bytes depend only on
#: the content (and on the zlib version).
GZIP_LEVEL = 6

_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"
_IRI = rf"<(?:[^\x00-\x20<>\"{{}}|^`\\]|{_UCHAR})*>"
_LITERAL = (
    rf"\"(?:[^\"\\\n\r]|\\[tbnrf\"'\\]|{_UCHAR})*\""
    rf"(?:@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*|\^\^{_IRI})?"
)
#: a whole N-Triples statement without blank nodes (the contract of MappedPage.triples)
_STATEMENT = re.compile(
    rf"[ \t]*({_IRI})[ \t]*({_IRI})[ \t]*({_IRI}|{_LITERAL})[ \t]*\.[ \t]*(?:#.*)?"
)
#: lines in the one-space form ``<s> <p> o .``, each followed by a newline
_CANONICAL_BLOCK = re.compile(r'(?:<[^ \n<>"]*> <[^ \n<>"]*> [<"][^\n]*[^ \n] \.\n)*')
_BLOCK = 100_000
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S)
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}

#: (subject IRI, predicate IRI, object as an N-Triples term)
Triple = tuple[str, str, str]


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


def split_line(line: str) -> Triple:
    """``<s> <p> o .`` -> (s, p, o) with the brackets of s and p removed."""
    subject, predicate, rest = line.split(" ", 2)
    # a blank node subject (data validated from elsewhere) keeps its "_:" label whole
    return subject[1:-1] if subject[0] == "<" else subject, predicate[1:-1], rest[:-2]


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


def unescape(text: str) -> str:
    """Decode the ``\\uXXXX``, ``\\UXXXXXXXX`` and ``\\n``-style escapes of an N-Triples term."""
    if "\\" not in text:
        return text

    def _one(match: re.Match[str]) -> str:
        if match.group(3) is not None:
            return _ECHAR.get(match.group(3), match.group(0))
        return chr(int(match.group(1) or match.group(2), 16))

    return _ESCAPE.sub(_one, text)


@dataclass(frozen=True)
class Term:
    """An object term decoded: an IRI, or a literal with its language or datatype."""

    #: "iri" or "literal"
    kind: str
    #: the IRI or the literal's lexical form, escapes decoded
    value: str
    #: language tag as written (tags compare case-insensitively), "" if none
    language: str = ""
    #: datatype IRI ("" for a language-tagged literal, xsd:string for a plain one)
    datatype: str = ""


def parse_object(token: str) -> Term:
    """Decode an object as written in canonical N-Triples."""
    if token[0] == "<":
        return Term("iri", unescape(token[1:-1]))
    end = token.rindex('"')
    value = unescape(token[1:end])
    suffix = token[end + 1 :]
    if suffix.startswith("@"):
        return Term("literal", value, language=suffix[1:])
    if suffix.startswith("^^"):
        return Term("literal", value, datatype=unescape(suffix[3:-1]))
    return Term("literal", value, datatype=XSD_STRING)


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
