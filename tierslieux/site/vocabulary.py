"""The labels the site shows for the ontology's terms, in French and English.

The labels the site shows: the ontology's classes, properties and concepts, in French with
the English label beside, read once from ``ontology.ttl``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from rdflib import OWL, RDF, RDFS, SKOS, Graph, Literal, URIRef

TL = "https://w3id.org/tierslieux/ontology#"
ONTOLOGY_IRI = "https://w3id.org/tierslieux/ontology"

#: the kinds of terms, in the order of the ontology page
KINDS = (
    ("class", "Classes", "Classes"),
    ("property", "Propriétés", "Properties"),
    ("scheme", "Vocabulaires", "Concept schemes"),
    ("concept", "Concepts", "Concepts"),
)
#: well-known terms of other vocabularies that entity pages show, with French and English labels
COMMON_LABELS: dict[str, tuple[str, str]] = {
    str(RDF.type): ("type", "type"),
    str(RDFS.label): ("libellé", "label"),
    str(RDFS.comment): ("commentaire", "comment"),
    str(SKOS.prefLabel): ("libellé préféré", "preferred label"),
    str(SKOS.inScheme): ("vocabulaire", "in scheme"),
    "http://www.w3.org/ns/prov#wasDerivedFrom": ("dérivé de (révision)", "derived from (revision)"),
    "http://www.w3.org/ns/prov#wasAttributedTo": ("attribué à", "attributed to"),
    "http://xmlns.com/foaf/0.1/page": ("page du wiki", "wiki page"),
    "http://purl.org/dc/terms/created": ("créé le", "created"),
    "http://purl.org/dc/terms/modified": ("modifié le", "modified"),
    "http://purl.org/dc/terms/contributor": ("contributeur", "contributor"),
    "http://purl.org/dc/terms/source": ("source", "source"),
    "http://purl.org/dc/terms/isPartOf": ("fait partie de", "is part of"),
}


@dataclass(frozen=True)
class TermDoc:
    """One term of the ontology, as its page documents it."""

    iri: str
    kind: str
    label_fr: str
    label_en: str
    comment_fr: str = ""
    comment_en: str = ""
    #: (relation label, IRI) pairs: super-classes, domains, ranges, scheme…
    links: tuple[tuple[str, str], ...] = ()

    @property
    def anchor(self) -> str:
        return self.iri.rsplit("#", 1)[-1]


@dataclass(frozen=True)
class Vocabulary:
    """Labels by IRI, and the documented terms of the ontology."""

    labels: Mapping[str, tuple[str, str]]
    terms: tuple[TermDoc, ...]
    title_fr: str = ""
    title_en: str = ""
    comment_fr: str = ""
    comment_en: str = ""
    version: str = ""

    def label(self, iri: str) -> tuple[str, str]:
        """(French, English) label of a term, or its local name twice."""
        found = self.labels.get(iri)
        if found:
            return found
        local = iri.rstrip("/#").rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        return local, local


def _text(graph: Graph, node: URIRef, predicate: URIRef, lang: str) -> str:
    best = ""
    for value in sorted(graph.objects(node, predicate), key=str):
        if isinstance(value, Literal):
            if value.language == lang:
                return str(value)
            if not best and value.language is None:
                best = str(value)
    return best


_RELATIONS = (
    (RDFS.subClassOf, "sous-classe de"),
    (RDFS.subPropertyOf, "sous-propriété de"),
    (RDFS.domain, "domaine"),
    (URIRef("http://schema.org/domainIncludes"), "domaine (inclut)"),
    (RDFS.range, "portée"),
    (URIRef("http://schema.org/rangeIncludes"), "portée (inclut)"),
    (SKOS.inScheme, "vocabulaire"),
    (SKOS.broader, "plus général"),
    (OWL.equivalentClass, "classe équivalente"),
    (SKOS.closeMatch, "proche de"),
    (SKOS.exactMatch, "identique à"),
)


def load_vocabulary(data: bytes | None = None) -> Vocabulary:
    """The vocabulary of ``ontology.ttl`` (the package's own when ``data`` is None)."""
    if data is None:
        data = resources.files("tierslieux.ontology").joinpath("ontology.ttl").read_bytes()
    graph = Graph()
    graph.parse(data=data, format="turtle")
    labels: dict[str, tuple[str, str]] = dict(COMMON_LABELS)
    terms = []
    kinds = {
        OWL.Class: "class", RDFS.Class: "class", OWL.ObjectProperty: "property",
        OWL.DatatypeProperty: "property", RDF.Property: "property",
        OWL.AnnotationProperty: "property", SKOS.ConceptScheme: "scheme", SKOS.Concept: "concept",
    }
    seen: set[str] = set()
    for cls, kind in kinds.items():
        for node in graph.subjects(RDF.type, cls):
            if not isinstance(node, URIRef) or not str(node).startswith(TL) or str(node) in seen:
                continue
            seen.add(str(node))
            fr = (_text(graph, node, RDFS.label, "fr") or _text(graph, node, SKOS.prefLabel, "fr")
                  or str(node)[len(TL):])
            en = (_text(graph, node, RDFS.label, "en") or _text(graph, node, SKOS.prefLabel, "en")
                  or fr)
            links = tuple(sorted(
                (name, str(target)) for predicate, name in _RELATIONS
                for target in graph.objects(node, predicate) if isinstance(target, URIRef)))
            labels[str(node)] = (fr, en)
            terms.append(TermDoc(str(node), kind, fr, en,
                                 _text(graph, node, RDFS.comment, "fr")
                                 or _text(graph, node, SKOS.definition, "fr"),
                                 _text(graph, node, RDFS.comment, "en")
                                 or _text(graph, node, SKOS.definition, "en"), links))
    onto = URIRef(ONTOLOGY_IRI)
    order = {kind: number for number, (kind, _, _) in enumerate(KINDS)}
    return Vocabulary(
        labels=labels,
        terms=tuple(sorted(terms, key=lambda t: (order[t.kind], t.iri))),
        title_fr=_text(graph, onto, RDFS.label, "fr"), title_en=_text(graph, onto, RDFS.label, "en"),
        comment_fr=_text(graph, onto, RDFS.comment, "fr"),
        comment_en=_text(graph, onto, RDFS.comment, "en"),
        version=str(graph.value(onto, OWL.versionInfo) or ""),
    )
