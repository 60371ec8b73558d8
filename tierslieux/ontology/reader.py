"""Typed access to the YAML tree of ``mapping.yaml``, with errors that name file and key.

Typed access to the YAML tree of ``mapping.yaml``; every error names the file and the key
path (``mapping.yaml: templates[0].params[3].property: 'postCode' is not a term of the
ontology``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rdflib import URIRef

from tierslieux.errors import MappingError
from tierslieux.ontology.namespace import TL
from tierslieux.ontology.rules import PropertyInfo

__all__ = ["Reader"]


class Reader:
    """Typed access to the YAML tree; every error names the file and the key path."""

    def __init__(self, source: str, properties: dict[str, PropertyInfo],
                 schemes: dict[URIRef, dict[str, URIRef]]) -> None:
        self.source = source
        self.properties = properties
        self.schemes = schemes

    def fail(self, where: str, message: str) -> MappingError:
        return MappingError(f"{self.source}: {where}: {message}")

    def mapping(self, node: Any, where: str, allowed: Iterable[str],
                required: Iterable[str] = ()) -> dict[str, Any]:
        if not isinstance(node, dict):
            raise self.fail(where, f"expected a mapping of keys, got {type(node).__name__}")
        unknown = sorted(set(map(str, node)) - set(allowed))
        if unknown:
            raise self.fail(f"{where}.{unknown[0]}",
                            f"unknown key (expected one of: {', '.join(sorted(allowed))})")
        for key in required:
            if node.get(key) in (None, ""):
                raise self.fail(f"{where}.{key}", "missing")
        return node

    def items(self, node: Any, where: str) -> list[Any]:
        if node is None:
            return []
        if not isinstance(node, list):
            raise self.fail(where, f"expected a list, got {type(node).__name__}")
        return node

    def text(self, node: Any, where: str) -> str:
        if isinstance(node, bool) or not isinstance(node, (str, int, float)):
            raise self.fail(where, "expected a text value")
        return str(node).strip()

    def names(self, node: Any, where: str) -> tuple[str, ...]:
        if node is None:
            return ()
        if isinstance(node, str):
            return (node.strip(),)
        return tuple(self.text(v, f"{where}[{i}]") for i, v in enumerate(self.items(node, where)))

    def term(self, node: Any, where: str) -> URIRef:
        name = self.text(node, where)
        if name not in TL:
            raise self.fail(where, f"{name!r} is not a term of the ontology (tl:)")
        return TL[name]

    def prop(self, node: Any, where: str) -> URIRef:
        iri = self.term(node, where)
        if str(iri) not in self.properties:
            raise self.fail(where, f"{self.text(node, where)!r} is not a property of the ontology")
        return iri

    def concept(self, node: Any, where: str, scheme: str | None = None) -> URIRef:
        iri = self.term(node, where)
        in_schemes = [s for s, index in self.schemes.items() if iri in index.values()]
        if not in_schemes:
            raise self.fail(where, f"{self.text(node, where)!r} is not a concept of the ontology")
        if scheme is not None and TL[scheme] not in in_schemes:
            raise self.fail(where, f"{self.text(node, where)!r} is not in the scheme tl:{scheme}")
        return iri

    def scheme(self, node: Any, where: str) -> URIRef:
        iri = self.term(node, where)
        if iri not in self.schemes:
            raise self.fail(where, f"{self.text(node, where)!r} is not a concept scheme")
        return iri

    def flag(self, node: Any, where: str) -> bool:
        if node is None:
            return False
        if not isinstance(node, bool):
            raise self.fail(where, "expected true or false")
        return node
