"""A streaming Turtle writer over triples in triple order (see ntriples.py).

It never builds a graph: every term of canonical N-Triples is also valid Turtle, so literals
and IRIs are copied as they are and only IRIs whose local part is a plain name are shortened
to ``prefix:name``. Layout, for a subject::

    <https://w3id.org/tierslieux/movilab/place/Le_WIP>
        a tl:ThirdPlace ;
        rdfs:label "Le WIP"@fr ;
        tl:theme tl:theme-fablab ,
            tl:theme-tiers-lieu .

Subjects come in IRI order, separated by one empty line; ``a`` (rdf:type) first, then the
other predicates in IRI order; objects in the order of their N-Triples form. The prefixes
are declared at the top, sorted by name, whether they are used or not, so that the writer
needs one pass only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TextIO

from tierslieux.model.rdf import RDF_TYPE, IriCompactor, Triple

#: the per-token caches of write_turtle are emptied when they reach this size
_CACHE_LIMIT = 200_000


def write_turtle(triples: Iterable[Triple], out: TextIO, prefixes: Mapping[str, str]) -> int:
    """Write triples (in triple order, without duplicates) as Turtle; return how many."""
    renderer = TurtleBlocks(prefixes)
    out.write(renderer.header())
    first = True
    for text in renderer.chunks(triples):
        out.write(text[1:] if first else text)  # no empty line between header and first block
        first = False
    return renderer.count


class TurtleBlocks:
    """The subject blocks of ``write_turtle``, each preceded by the empty line that separates
    it from the previous one: the file is the header, then the blocks of every subject with
    the very first newline left out. A segment of the release (segments.py) is rendered with
    ``render``, and the file is the concatenation of the segments' texts."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        self.compactor = IriCompactor(prefixes)
        # Per-token caches of the Turtle forms of predicates and object IRIs: this loop is the
        # hot path of a release (about a microsecond per triple).
        self._predicates: dict[str, str] = {}
        self._objects: dict[str, str] = {}
        self.count = 0

    def header(self) -> str:
        return self.compactor.header()

    def render(self, triples: Iterable[Triple]) -> str:
        return "".join(self.chunks(triples))

    def chunks(self, triples: Iterable[Triple]) -> Iterator[str]:
        """The blocks of ``triples`` (whole subjects), a few thousand subjects a string."""
        term = self.compactor.term
        typed = self.compactor.object
        predicates = self._predicates
        objects = self._objects
        chunk: list[str] = []
        subject = predicate = None
        types: list[str] = []
        body: list[str] = []
        append = body.append
        count = 0
        for s, p, o in triples:
            first = o[0]
            if first == "<":
                ot = objects.get(o)
                if ot is None:
                    if len(objects) >= _CACHE_LIMIT:
                        objects.clear()
                    ot = objects[o] = term(o[1:-1])
            elif o[-1] == ">":
                ot = typed(o)
            else:
                ot = o
            if s != subject:
                if subject is not None:
                    _subject_block(chunk, term(subject), types, body)
                    types.clear()
                    body.clear()
                    if len(chunk) > 20_000:
                        yield "".join(chunk)
                        chunk.clear()
                subject = s
                predicate = None
            if p == RDF_TYPE:
                types.append(ot)
            elif p == predicate:
                append(f" ,\n        {ot}")
            else:
                pt = predicates.get(p) or predicates.setdefault(p, term(p))
                append(f" ;\n    {pt} {ot}" if body else f"{pt} {ot}")
                predicate = p
            count += 1
        if subject is not None:
            _subject_block(chunk, term(subject), types, body)
        self.count += count
        if chunk:
            yield "".join(chunk)


def _subject_block(chunk: list[str], subject: str, types: list[str], body: list[str]) -> None:
    """Append one subject, after an empty line: ``a`` and its types first, then the other
    predicates."""
    chunk.append("\n")
    chunk.append(subject)
    if types:
        chunk.append("\n    a ")
        chunk.append(" ,\n        ".join(types))
        if body:
            chunk.append(" ;\n    ")
    elif body:
        chunk.append("\n    ")
    chunk.extend(body)
    chunk.append(" .\n")
