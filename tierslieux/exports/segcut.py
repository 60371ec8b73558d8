"""The cut of a release's triples into segments: one stream per order of the dumps.

The Turtle and JSON-LD dumps are in triple order, the N-Triples dump in line order
(``model/lines.py``). The two orders differ only between a subject X and an extension of it
whose next character sorts before the ``>`` that closes X in a line (``<a> `` against
``<a-b> ``, ``<a/b> ``, ``<a#b> ``, ``<a1> ``; not ``<a_b> `` nor ``<ab> ``): in line order X
comes after that whole family. So ``cut`` reads the triples once, in triple order, and gives
two interleaved streams of segments, each a run of whole subjects contiguous in its own order:

- **subject segments** (``SUBJECTS``): the triples as they come; Turtle blocks, JSON-LD nodes
  and the graph statistics are rendered from them;
- **line segments** (``LINES``): the subjects in line order, each with its lines sorted; a
  segment is one gzip member of ``tierslieux.nt.gz``. Line order is made from triple order with
  a stack of the subjects held back: a subject is held while the following ones extend it with
  a character below ``>``, so only a chain of prefixes (a few subjects) is ever held.

In both streams a subject starts a new segment when its blake2b hash is a multiple of
``SEGMENT_SUBJECTS`` (content-defined: a new subject only splits the segment it falls in, a
removed one only merges two), or, once a segment holds ``SEGMENT_TRIPLES`` triples, a multiple
of a sixteenth of it: segments stay small whatever the wiki's IRIs look like, and a cut still
depends only on the content near it. A segment is named by the SHA-256 of its lines (sorted,
UTF-8, each ending with a newline).

``cut`` is the reference: a release whose lines are in files or lists is cut by
``keptcut.cut_bytes`` from their bytes instead (same segments, and those of the last build
recognised by their bytes); ``cut`` cuts the others (lines filtered on the fly) and is what
``test_keptcut.py`` compares the byte cut with.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import groupby
from operator import itemgetter

from tierslieux.model.rdf import Triple

#: one subject in this many starts a segment. On the sample (and the wikis made of its pages)
#: a subject has about 9.5 triples, so a segment holds about 1,800 triples (150-400 KB of
#: Turtle and JSON-LD): few enough that ten changed pages re-render a small share of a
#: 2,000-page release, many enough that the per-segment costs (a cache entry, a gzip member,
#: two small parse-backs) stay well below the per-triple ones
SEGMENT_SUBJECTS = 192
#: past this many triples a segment ends at the next subject whose hash is a multiple of
#: ``SEGMENT_SUBJECTS // 16``: the bound on a segment's size (and on the memory of the
#: segments in flight) that the hash rule alone only gives on average
SEGMENT_TRIPLES = 8_000

SUBJECTS, LINES = "subjects", "lines"


@dataclass(frozen=True)
class Segment:
    """A run of whole subjects of one stream."""

    kind: str
    #: its N-Triples lines: sorted, UTF-8, each ending with a newline
    lines: bytes
    #: how many triples (lines) it holds
    count: int
    #: its triples in triple order (subject segments; empty for line segments)
    triples: Sequence[Triple] = ()

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.lines).hexdigest()


def subject_hash(subject: str) -> int:
    return int.from_bytes(hashlib.blake2b(subject.encode("utf-8"), digest_size=8).digest(),
                          "big")


def _joined(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def segment_lines(triples: Sequence[Triple]) -> bytes:
    """The N-Triples lines of a run of triples in line order (UTF-8, each ending with a
    newline)."""
    return _joined(sorted(f"<{s}> <{p}> {o} ." for s, p, o in triples))


class _Stream:
    """One stream's segment being filled."""

    def __init__(self, every: int, limit: int) -> None:
        self.every = every
        self.small = max(1, every // 16)
        self.limit = limit
        self.lines: list[str] = []
        self.triples: list[Triple] = []

    def starts(self, digest: int) -> bool:
        """Whether a subject with this hash starts a new segment."""
        if not self.lines:
            return False
        return digest % self.every == 0 or (len(self.lines) >= self.limit
                                            and digest % self.small == 0)

    def take(self, kind: str) -> Segment:
        lines, triples = self.lines, self.triples
        self.lines, self.triples = [], []
        if kind == SUBJECTS:
            lines.sort()  # the subjects' lines are sorted; only prefix families move
        return Segment(kind, _joined(lines), len(lines), triples)


def cut(triples: Iterable[Triple], every: int | None = None, limit: int | None = None
        ) -> Iterator[Segment]:
    """The triples (in triple order) as the two streams of segments, interleaved: each
    stream's segments come in its own order (see the module's text)."""
    every = every or SEGMENT_SUBJECTS
    limit = limit or SEGMENT_TRIPLES
    subjects, lines = _Stream(every, limit), _Stream(every, limit)
    #: the subjects held back from line order, each a proper prefix of the next
    held: list[tuple[str, int, list[str]]] = []
    for subject, group in groupby(triples, key=itemgetter(0)):
        own = list(group)
        own_lines = sorted([f"<{subject}> <{p}> {o} ." for _, p, o in own])
        digest = subject_hash(subject)
        if subjects.starts(digest):
            yield subjects.take(SUBJECTS)
        subjects.triples.extend(own)
        subjects.lines.extend(own_lines)
        while held and not (subject.startswith(held[-1][0])
                            and subject[len(held[-1][0])] < ">"):
            _, first, waiting = held.pop()
            if lines.starts(first):
                yield lines.take(LINES)
            lines.lines.extend(waiting)
        held.append((subject, digest, own_lines))
    if subjects.lines:
        yield subjects.take(SUBJECTS)
    while held:
        _, first, waiting = held.pop()
        if lines.starts(first):
            yield lines.take(LINES)
        lines.lines.extend(waiting)
    if lines.lines:
        yield lines.take(LINES)
