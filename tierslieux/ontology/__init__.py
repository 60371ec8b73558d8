"""The model as data: ontology, SHACL shapes, JSON-LD context and the declarative mapping.

The files are package data, read through :mod:`importlib.resources` so that they are found
in an editable checkout, a wheel install or a zip alike. ``namespace.py`` (the closed
``TL`` namespace) and ``context.jsonld`` are generated from ``ontology.ttl`` by
``python -m tierslieux.ontology.generate``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from rdflib import Graph

if TYPE_CHECKING:  # importlib.resources.abc is 3.11+, importlib.abc works on 3.10
    from importlib.abc import Traversable

ONTOLOGY_IRI = "https://w3id.org/tierslieux/ontology"
ONTOLOGY_NS = ONTOLOGY_IRI + "#"

ONTOLOGY_FILE = "ontology.ttl"
SHAPES_FILE = "shapes.ttl"
CONTEXT_FILE = "context.jsonld"
MAPPING_FILE = "mapping.yaml"

#: the prefixes every tierslieux RDF file binds
PREFIXES: dict[str, str] = {
    "tl": ONTOLOGY_NS,
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "prov": "http://www.w3.org/ns/prov#",
    "org": "http://www.w3.org/ns/org#",
    "schema": "http://schema.org/",
    "pair": "http://virtual-assembly.org/ontologies/pair#",
    "sh": "http://www.w3.org/ns/shacl#",
}


def resource(name: str) -> Traversable:
    """A file of this package (``ontology.ttl``, ``shapes.ttl``, ``context.jsonld``,
    ``mapping.yaml``), as a Traversable that works in every kind of install."""
    return resources.files(__name__).joinpath(name)


def read_text(name: str) -> str:
    return resource(name).read_text(encoding="utf-8")


def ontology_path() -> Traversable:
    return resource(ONTOLOGY_FILE)


def shapes_path() -> Traversable:
    return resource(SHAPES_FILE)


def context_path() -> Traversable:
    return resource(CONTEXT_FILE)


def mapping_path() -> Traversable:
    return resource(MAPPING_FILE)


def bind_prefixes(graph: Graph) -> Graph:
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True, replace=True)
    return graph


@lru_cache(maxsize=1)
def _ontology_nt() -> str:
    graph = Graph().parse(data=read_text(ONTOLOGY_FILE), format="turtle")
    return graph.serialize(format="nt")


def load_ontology() -> Graph:
    """A fresh graph holding the ontology (parsed once, copied per call)."""
    return bind_prefixes(Graph().parse(data=_ontology_nt(), format="nt"))


@lru_cache(maxsize=1)
def ontology_graph() -> Graph:
    """The ontology, one graph for the whole process, *to read only* (``load_ontology`` gives
    a graph of one's own): a build reads it in four places, and rdflib takes a tenth of a second
    to parse it each time; the workers forked after the first call inherit it."""
    return load_ontology()


def load_shapes() -> Graph:
    return bind_prefixes(Graph().parse(data=read_text(SHAPES_FILE), format="turtle"))


def load_context() -> dict:
    import json

    return json.loads(read_text(CONTEXT_FILE))


def load_mapping(path=None):  # noqa: ANN001, ANN201 - re-exported, see mapping.load_mapping
    """The mapping in ``path``, or the bundled ``mapping.yaml`` (see
    :func:`tierslieux.ontology.mapping.load_mapping`)."""
    from tierslieux.ontology.mapping import load_mapping as _load_mapping

    return _load_mapping(path)
