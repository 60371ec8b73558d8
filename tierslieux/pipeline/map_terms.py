"""The terms of the map stage: plain strings, no rdflib object on the hot path.

A statement the map stage builds is a tuple of three ``str``: the subject and predicate IRIs
as the plain text of the IRI, the object either an IRI (plain text) or a literal as its
N-Triples token (``"…"``, ``"…"@fr``, ``"…"^^<…>``; no IRI starts with ``"``). Such tuples
hash and compare in C, and ``model.rdf.term_line`` writes their line with the bytes
``model.rdf.nt_line`` writes for the same rdflib terms (tested).

The namespaces here (``TL``, ``RDF``…) give the plain ``str`` of a name; the rdflib
namespace checks the name once (``TL`` is closed: a typo raises AttributeError). Terms the
ontology's rules hand over (rdflib ``URIRef``/``Literal``) are turned into fast terms by
``as_term`` when they are added. Note that an rdflib ``URIRef`` never equals a ``str``:
compare a rule's IRI with these constants through ``str`` (``plain``).
"""

from __future__ import annotations

from typing import Any

from rdflib import RDF as _RDF
from rdflib import RDFS as _RDFS
from rdflib import SKOS as _SKOS
from rdflib import XSD as _XSD
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS as _DCTERMS
from rdflib.namespace import FOAF as _FOAF
from rdflib.namespace import PROV as _PROV

from tierslieux.model.rdf import int_token, nt_term, text_token
from tierslieux.ontology.namespace import TL as _TL


class StrNamespace:
    """``NS.name`` and ``NS["name"]`` as plain ``str``, looked up in the rdflib namespace
    once per name."""

    def __init__(self, namespace: Any) -> None:
        self._namespace = namespace
        self._items: dict[str, str] = {}

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        value = str(getattr(self._namespace, name))
        setattr(self, name, value)  # the next lookup is a plain attribute
        return value

    def __getitem__(self, name: str) -> str:
        value = self._items.get(name)
        if value is None:
            value = self._items[name] = str(self._namespace[name])
        return value


TL = StrNamespace(_TL)
RDF = StrNamespace(_RDF)
RDFS = StrNamespace(_RDFS)
SKOS = StrNamespace(_SKOS)
XSD = StrNamespace(_XSD)
DCTERMS = StrNamespace(_DCTERMS)
FOAF = StrNamespace(_FOAF)
PROV = StrNamespace(_PROV)


def plain(term: Any) -> str | None:
    """The plain ``str`` of an IRI (rdflib's or not); None stays None."""
    return None if term is None else str.__str__(term)


def as_term(term: Any) -> str:
    """A fast term of any term: a ``str`` as it is, an rdflib IRI as its plain text, an
    rdflib literal as its N-Triples token."""
    kind = type(term)
    if kind is str:
        return term
    if kind is URIRef:
        return str.__str__(term)
    if kind is Literal or isinstance(term, Literal):
        return nt_term(term)
    if isinstance(term, URIRef):
        return str.__str__(term)
    raise TypeError(f"not an RDF term: {type(term).__name__}")


def is_literal(term: str) -> bool:
    """True for a literal token (a fast term that is no IRI)."""
    return term[:1] == '"'


def lexical(term: str) -> str:
    """The lexical form of a literal token (escapes decoded)."""
    from tierslieux.model.rdf import parse_object

    return parse_object(term).value


__all__ = ["TL", "RDF", "RDFS", "SKOS", "XSD", "DCTERMS", "FOAF", "PROV", "StrNamespace",
           "as_term", "int_token", "is_literal", "lexical", "plain", "text_token"]
