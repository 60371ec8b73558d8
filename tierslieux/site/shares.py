"""Which share of a site written side by side writes each entity's documents, and what it reads.

A big site is written in shares, one per worker (exports/release.py): each share's pass makes
the whole index (pages.py) and writes the documents of its own entities. When the triples are
a merged file (``runs.TripleOrder``), a share owns the subjects of one stretch of it
(pipeline/stretches.py) and reads only that stretch for its second pass; otherwise it owns the
entities whose name hashes to it (``share_of``) and reads every triple. ``join_site``
(``__init__.py``) makes the site's summary and record from the shares'.

One pass writes the documents of two IRIs that get one name (one spelt with percent-escapes)
one after the other, the last in triple order replacing the first: shares that own them apart
write only the last (``shadowed``), so that the files are those one pass leaves.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import unquote

from tierslieux.model.rdf import Triple

#: what a share does with an entity: write its documents, leave them to another share, or
#: count them without writing them (another IRI's documents, later, have its name)
WRITE, OTHER, REPLACED = "write", "other", "replaced"


def share_of(name: str, shares: int) -> int:
    """The share (0 to ``shares`` - 1) of the entity ``name`` (its path under ``site/``) when
    shares are cut by names."""
    return zlib.crc32(name.encode("utf-8")) % shares if shares > 1 else 0


def shadowed(rests: Mapping[str, str]) -> frozenset[str]:
    """The documented subjects (``rests``: subject -> rest, in triple order) whose documents
    those of a later IRI with the same name replace."""
    encoded = {unquote(rest) for rest in rests.values() if "%" in rest}
    if not encoded:
        return frozenset()
    last: dict[str, str] = {}
    hidden = set()
    for subject, rest in rests.items():
        name = unquote(rest) if "%" in rest else rest
        if name in encoded:
            if name in last:
                hidden.add(last[name])
            last[name] = subject
    return frozenset(hidden)


def share_plan(triples: Iterable[Triple], rests: Mapping[str, str], share: tuple[int, int]
               ) -> tuple[Iterable[Triple], Callable[[str, str], str]]:
    """What the second pass of share ``(k, n)`` reads, and what it does with an entity
    ``(subject, name)``: WRITE, OTHER or REPLACED."""
    number, shares = share
    if shares <= 1:
        return triples, lambda subject, name: WRITE
    part = getattr(triples, "part", None)
    stretch = part(number, shares) if part is not None else None
    if stretch is None:
        return triples, lambda subject, name: WRITE if share_of(name, shares) == number \
            else OTHER
    hidden = shadowed(rests)
    return stretch, lambda subject, name: REPLACED if subject in hidden else WRITE
