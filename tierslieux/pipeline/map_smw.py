"""The map stage, Semantic MediaWiki markup: annotations, subobjects, queries.

* An annotation whose property the mapping's ``smw_properties`` names is set like a template
  parameter (same kinds, cleaners, separators), on the page's record of the section's
  ``describes`` kind, or on the page itself (SMW annotates pages); one in a subobject is
  set on the subobject.
* Any other annotation is published generically, as a ``tl:Annotation``: its property name,
  its value as written, the property page it comes from, what it annotates. It is also
  reported as an ``info`` issue, as unmapped template parameters are.
* A subobject is an entity of its own, ``tl:Subobject``, on an IRI made of its page's and its
  key (its name, or a digest of its content when anonymous), linked to its page.
* A query is a ``tl:Query`` with its condition and printouts, not evaluated.
* A property page (namespace 102) is a ``tl:SemanticProperty`` with its declared type; its
  allowed values are a SKOS concept scheme (a tree when they are written as paths).
* An unmapped annotation whose property declares a type (``Mapper(smw_types=…)``, read from
  the property pages of the store) also gets its value typed (``tl:typedValue``): a Page value
  the IRI of that page, a date, a number, a URL… A value its type refuses is reported.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from tierslieux.model.clean import fold
from tierslieux.model.iri import key_path, slugify
from tierslieux.model.rdf import int_token
from tierslieux.model.records import Annotation
from tierslieux.pipeline.map_terms import SKOS, TL
from tierslieux.pipeline.map_values import map_param
from tierslieux.pipeline.smw_types import (
    PROPERTY_NAMESPACE,
    is_declaration,
    read_property,
    tree_path,
    type_value,
)

if TYPE_CHECKING:
    from tierslieux.pipeline.map import PageJob, Record

__all__ = ["map_smw", "PROPERTY_NAMESPACE"]

_PROPERTY_PREFIX = {"fr": "Propriété", "en": "Property", "de": "Attribut"}


def map_smw(job: PageJob) -> None:
    """Publish the page's annotations, subobjects and queries."""
    parsed = job.parsed
    if not (parsed.annotations or parsed.subobjects or parsed.queries):
        return
    declaring = job.rev.namespace == PROPERTY_NAMESPACE
    if declaring:
        map_property_page(job)
    rules = job.mapping.smw
    subject: Record
    if rules.describes:
        subject = job.record(rules.describes)
    else:
        subject = _Subject(job.page_iri)  # type: ignore[assignment]
    counter = _Counter()
    for annotation in parsed.annotations:
        if declaring and is_declaration(annotation.property):
            continue
        _annotate(job, subject, annotation, counter)
    used: set[str] = set()
    for sub in parsed.subobjects:
        iri = f"{job.page_iri}/subobject/{_slug(sub.key, used)}"
        label = sub.name or f"{job.title} ({sub.key})"
        job.entity(iri, TL.Subobject, job.lit(label))
        job.add(iri, TL.subobjectOf, job.page_iri)
        job.add(iri, TL.subobjectName, job.lit(sub.key))
        target = _Subject(iri)
        for annotation in sub.annotations:
            _annotate(job, target, annotation, counter)  # type: ignore[arg-type]
    for number, query in enumerate(parsed.queries, 1):
        iri = f"{job.page_iri}/query/{number}"
        job.entity(iri, TL.Query, job.lit(f"#{query.function}: {query.query}"[:200]))
        job.add(iri, TL.queryText, job.lit(query.query))
        job.add(iri, TL.inPage, job.page_iri)
        job.add(iri, TL.order, int_token(number))
        for printout in query.printouts:
            job.add(iri, TL.printout, job.lit(printout))


class _Subject:
    """What an annotation sets when it is not a record: the page or a subobject (the
    attributes map_param reads and writes on a Record)."""

    def __init__(self, iri: str) -> None:
        self.iri = iri
        self.kind = ""
        self.name = ""
        self.set_by_param: set[str] = set()
        self.set_any: set[str] = set()
        self.defaults: list = []


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


def _slug(key: str, used: set[str]) -> str:
    """The IRI segment of a subobject key: its slug (``_`` and the digest for an anonymous
    one), with a digest of the key when another subobject of the page has that slug."""
    slug = "_" + key[1:] if key.startswith("_") else (slugify(key) or "_")
    if slug in used:
        slug += "-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
    used.add(slug)
    return slug


def property_page(job: PageJob, name: str) -> str:
    """The IRI of the property page of ``name`` (namespace 102, in the wiki's language)."""
    local = dict(job.m.site.namespaces).get(PROPERTY_NAMESPACE) or \
        _PROPERTY_PREFIX.get(job.m.lang, "Property")
    return job.iris.page_iri(f"{local}:{name}".replace(" ", "_"))


def property_iri(job: PageJob, name: str) -> str:
    return f"{job.m.base}property/{key_path(name.replace(' ', '_'))}"


def map_property_page(job: PageJob) -> None:
    """The property a property page declares, its type and its allowed-value tree."""
    decl = read_property(job.parsed)
    if not decl.name:
        return
    iri = property_iri(job, decl.name)
    job.entity(iri, TL.SemanticProperty, job.lit(decl.name))
    job.add(iri, TL.name, job.lit(decl.name))
    job.add(job.page_iri, TL.describes, iri)
    if decl.type:
        job.add(iri, TL.declaredType, job.lit(decl.type))
    elif decl.unknown_type:
        job.issue("warning", f"smw:{decl.name}", decl.unknown_type, "",
                  "a type Semantic MediaWiki does not know: the property's values stay text")
    if not decl.allowed:
        return
    scheme = f"{iri}/values"
    job.entity(scheme, SKOS.ConceptScheme, job.text(f"Valeurs de {decl.name}"))
    job.add(scheme, SKOS.prefLabel, job.text(f"Valeurs de {decl.name}"))
    job.add(iri, TL.allowedValues, scheme)
    made: set[tuple[str, ...]] = set()
    for value in decl.allowed:
        path = tree_path(value)
        for depth in range(1, len(path) + 1):
            _concept(job, iri, scheme, path[:depth], made)


def _concept(job: PageJob, prop: str, scheme: str, path: tuple[str, ...],
             made: set[tuple[str, ...]]) -> str:
    concept = f"{prop}/value/{slugify(' / '.join(path)) or '_'}"
    if path in made:
        return concept
    made.add(path)
    job.entity(concept, SKOS.Concept, job.text(path[-1]))
    job.add(concept, SKOS.prefLabel, job.text(path[-1]))
    job.add(concept, SKOS.inScheme, scheme)
    if len(path) > 1:
        parent = f"{prop}/value/{slugify(' / '.join(path[:-1])) or '_'}"
        job.add(concept, SKOS.broader, parent)
        job.add(parent, SKOS.narrower, concept)
    else:
        job.add(concept, SKOS.topConceptOf, scheme)
        job.add(scheme, SKOS.hasTopConcept, concept)
    return concept


def _annotate(job: PageJob, subject: Record, annotation: Annotation, counter: _Counter) -> None:
    field_ = f"smw:{annotation.property}"
    rule = job.mapping.smw.rule(annotation.property)
    if rule is not None and map_param(job, subject, rule, annotation.value, field_):
        return
    if rule is None:
        job.issue("info", field_, annotation.value, "annotation",
                  "no rule for this SMW property: kept as a tl:Annotation")
    iri = f"{job.page_iri}/annotation/{counter.next()}"
    job.entity(iri, TL.Annotation, job.lit(f"{annotation.property} : {annotation.value}"[:200]))
    job.add(iri, TL.propertyName, job.lit(annotation.property))
    job.add(iri, TL.annotationValue, job.lit(annotation.value))
    job.add(iri, TL.propertyPage, property_page(job, annotation.property))
    job.add(iri, TL.annotates, subject.iri)
    job.add(iri, TL.inPage, job.page_iri)
    kind = job.m.smw_types.get(fold(annotation.property), "")
    if not kind:
        return
    node, refused = type_value(kind, annotation.value,
                               lambda title: job.link_iri(title, "link"))
    if node is None:
        job.issue("warning", field_, annotation.value, "",
                  f"{refused}, as the property's type {kind} wants: kept as text")
        return
    job.add(iri, TL.typedValue, node)
    if kind == "Page":
        job.add(job.page_iri, TL.linksTo, node)
