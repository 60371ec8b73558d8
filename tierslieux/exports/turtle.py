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

from collections.abc import Iterable, Mapping
from typing import TextIO

from tierslieux.model.rdf import RDF_TYPE, IriCompactor, Triple

#: the per-token caches of write_turtle are emptied when they reach this size
_CACHE_LIMIT = 200_000



def write_turtle(triples: Iterable[Triple], out: TextIO, prefixes: Mapping[str, str]) -> int:
    """Write triples (in triple order, without duplicates) as Turtle; return how many."""
    compactor = IriCompactor(prefixes)
    term = compactor.term
    typed = compactor.object
    out.write(compactor.header())
    # Per-token caches of the Turtle forms of predicates and object IRIs: this loop is the
    # hot path of a release (about a microsecond per triple).
    predicates: dict[str, str] = {}
    objects: dict[str, str] = {}
    chunk: list[str] = []
    count = 0
    subject = predicate = None
    types: list[str] = []
    body: list[str] = []
    append = body.append
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
                    out.write("".join(chunk))
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
    out.write("".join(chunk))
    return count


def _subject_block(chunk: list[str], subject: str, types: list[str], body: list[str]) -> None:
    """Append one subject: ``a`` and its types first, then the other predicates."""
    if chunk:
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
