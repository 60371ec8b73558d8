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

import re
from collections.abc import Iterable, Mapping
from typing import TextIO

from tierslieux.exports.ntriples import RDF_TYPE, Triple

#: prefixes every Turtle file of a release declares (a JSON-LD context may add more)
CORE_PREFIXES: dict[str, str] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dcterms": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "org": "http://www.w3.org/ns/org#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "pair": "http://virtual-assembly.org/ontologies/pair#",
    "prov": "http://www.w3.org/ns/prov#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "schema": "http://schema.org/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "tl": "https://w3id.org/tierslieux/ontology#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

# A conservative PN_LOCAL: letters, digits, "_", "-", and "." inside. Anything else keeps the
# full <IRI>, so no escaping rule of Turtle is ever needed.
_LOCAL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")
_PREFIX_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")
_CACHE_LIMIT = 200_000


class IriCompactor:
    """Shortens IRIs to ``prefix:local`` where the namespace is declared and the local part is
    a plain name; remembers its answers."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        bad = [name for name in prefixes if not _PREFIX_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"not a Turtle prefix name: {bad[0]!r}")
        self.prefixes = dict(sorted(prefixes.items()))
        self._by_namespace = {ns: name for name, ns in sorted(self.prefixes.items(), reverse=True)}
        self._namespaces = tuple(sorted(set(self.prefixes.values())))
        self._cache: dict[str, str] = {}

    def term(self, iri: str) -> str:
        """The Turtle form of an IRI given without its brackets."""
        if not iri.startswith(self._namespaces):
            return f"<{iri}>"
        cached = self._cache.get(iri)
        if cached is not None:
            return cached
        result = f"<{iri}>"
        cut = max(iri.rfind("#"), iri.rfind("/"))
        if cut > 0:
            name = self._by_namespace.get(iri[: cut + 1])
            local = iri[cut + 1 :]
            if name is not None and _LOCAL.fullmatch(local):
                result = f"{name}:{local}"
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[iri] = result
        return result

    def object(self, token: str) -> str:
        """The Turtle form of an object given in N-Triples."""
        if token[0] == "<":
            return self.term(token[1:-1])
        if token[-1] == ">":  # a typed literal: "…"^^<datatype>
            cut = token.rindex("^^<")
            return token[:cut + 2] + self.term(token[cut + 3 : -1])
        return token

    def header(self) -> str:
        lines = [f"@prefix {name}: <{ns}> ." for name, ns in self.prefixes.items()]
        return "\n".join(lines) + "\n\n"


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
