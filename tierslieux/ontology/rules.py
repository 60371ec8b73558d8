"""The rules of ``mapping.yaml`` as frozen dataclasses, and the look-ups the map stage makes.

``ontology/mapping.py`` reads the file into them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from rdflib import OWL, RDF, RDFS, SKOS, Graph, URIRef

from tierslieux.model.clean import fold
from tierslieux.ontology import ONTOLOGY_NS

CONTEXT_KEYS = ("statement_kind", "level", "partnership", "audience")



@dataclass(frozen=True)
class EntityRule:
    kind: str
    cls: URIRef
    #: IRI pattern relative to the data base, with {key}, {rootkey}, {slug}
    iri: str
    #: "title": the record gets its root page title as tl:name
    name_from: str | None = None


@dataclass(frozen=True)
class ParamRule:
    name: str
    aliases: tuple[str, ...] = ()
    property: URIRef | None = None
    kind: str = "literal"
    cleaner: str = "text"
    separator: str = ""
    required: bool = False
    scheme: URIRef | None = None
    unknown: str = "keep"
    entity: str | None = None
    #: for kind "closure": (role, property) for status / since / note
    properties: tuple[tuple[str, URIRef], ...] = ()
    #: extra value -> concept pairs for kind "concept" (folded value)
    values: tuple[tuple[str, URIRef], ...] = ()

    def role(self, name: str) -> URIRef | None:
        return dict(self.properties).get(name)


@dataclass(frozen=True)
class TemplateRule:
    name: str
    aliases: tuple[str, ...] = ()
    describes: str | None = None
    page_type: URIRef | None = None
    page_status: URIRef | None = None
    params: tuple[ParamRule, ...] = ()
    #: (property, value IRI) set on the entity when no parameter set the property
    defaults: tuple[tuple[URIRef, URIRef], ...] = ()
    #: the parameter (its rule's name) that names the entity: its value gives the entity's
    #: tl:name, label and {slug}, so that one page can hold the records of several entities;
    #: None (or the parameter left empty): the entity is named after the page
    named_by: str | None = None
    #: folded name or alias -> its parameter's rule
    param_index: dict[str, ParamRule] = field(default_factory=dict, repr=False, compare=False)

    def param(self, name: str) -> ParamRule | None:
        return self.param_index.get(fold(name))


@dataclass(frozen=True)
class IgnoredTemplate:
    name: str
    aliases: tuple[str, ...] = ()
    describes: str | None = None
    page_type: URIRef | None = None
    page_status: URIRef | None = None


@dataclass(frozen=True)
class CategoryRule:
    name: str
    aliases: tuple[str, ...] = ()
    describes: str | None = None
    page_type: URIRef | None = None
    page_status: URIRef | None = None
    set: tuple[tuple[URIRef, URIRef], ...] = ()


@dataclass(frozen=True)
class NamespaceRule:
    number: int
    page_type: URIRef


@dataclass(frozen=True)
class Meaning:
    """What a heading or an item prefix says about the list items it governs."""

    statement_kind: URIRef | None = None
    level: URIRef | None = None
    partnership: URIRef | None = None
    audience: URIRef | None = None

    def over(self, outer: Meaning) -> Meaning:
        """This meaning, completed by ``outer`` where it says nothing."""
        return Meaning(*(getattr(self, k) or getattr(outer, k) for k in CONTEXT_KEYS))

    def __bool__(self) -> bool:
        return any(getattr(self, k) for k in CONTEXT_KEYS)


@dataclass(frozen=True)
class HeadingRule:
    heading: str
    aliases: tuple[str, ...] = ()
    meaning: Meaning = Meaning()
    subheadings: tuple[HeadingRule, ...] = ()

    @cached_property  # every section of every page looks the rules up by these keys
    def keys(self) -> tuple[str, ...]:
        return tuple(fold(n) for n in (self.heading, *self.aliases))


@dataclass(frozen=True)
class PrefixRule:
    prefix: str
    aliases: tuple[str, ...] = ()
    meaning: Meaning = Meaning()


@dataclass(frozen=True)
class TextRule:
    describes: str
    sections: tuple[str, ...]
    find: str
    properties: tuple[tuple[str, URIRef], ...]

    def role(self, name: str) -> URIRef | None:
        return dict(self.properties).get(name)


@dataclass(frozen=True)
class SubpageRule:
    pattern: str
    namespaces: tuple[int, ...] = (0,)

    def root(self, namespace: int, title: str) -> str | None:
        if namespace not in self.namespaces:
            return None
        match = re.match(self.pattern, title)
        return match.group("root") if match else None


@dataclass(frozen=True)
class PropertyInfo:
    iri: URIRef
    is_object: bool
    #: the single datatype of a datatype property (xsd:string, rdf:langString, xsd:integer…),
    #: None when the ontology gives several
    datatype: URIRef | None


@dataclass(frozen=True)
class SmwRules:
    """The ``smw_properties`` section: Semantic MediaWiki property names onto the ontology,
    as for template parameters (a ParamRule each: kind, cleaner, separator…)."""

    #: the entity kind the page's own annotations describe; None: the page itself
    describes: str | None = None
    properties: tuple[ParamRule, ...] = ()
    #: folded name or alias -> its rule
    index: dict[str, ParamRule] = field(default_factory=dict, repr=False, compare=False)

    def rule(self, name: str) -> ParamRule | None:
        return self.index.get(fold(name))


@dataclass(frozen=True)
class Mapping:
    """The whole mapping, with the ontology facts the map stage needs."""

    source: str
    entities: tuple[EntityRule, ...]
    templates: tuple[TemplateRule, ...]
    ignored_templates: tuple[IgnoredTemplate, ...]
    categories: tuple[CategoryRule, ...]
    namespaces: tuple[NamespaceRule, ...]
    headings: tuple[HeadingRule, ...]
    item_prefixes: tuple[PrefixRule, ...]
    text_rules: tuple[TextRule, ...]
    subpages: SubpageRule | None
    redirect_page_type: URIRef | None
    properties: dict[str, PropertyInfo] = field(repr=False, compare=False)
    #: scheme IRI -> folded label -> concept IRI
    concept_labels: dict[URIRef, dict[str, URIRef]] = field(repr=False, compare=False)
    #: scheme IRI -> the tl: class of its concepts (tl:Theme for tl:Themes)
    scheme_classes: dict[URIRef, URIRef] = field(repr=False, compare=False)
    #: folded name or alias -> its rule (template, category, item prefix)
    template_index: dict[str, TemplateRule | IgnoredTemplate] = field(
        default_factory=dict, repr=False, compare=False)
    category_index: dict[str, CategoryRule] = field(
        default_factory=dict, repr=False, compare=False)
    prefix_index: dict[str, PrefixRule] = field(default_factory=dict, repr=False, compare=False)
    #: Semantic MediaWiki properties (``smw_properties``)
    smw: SmwRules = field(default_factory=SmwRules)
    #: what inline templates show (``inline_templates``, over the bundled set)
    inline_templates: Any = field(default=None, compare=False)

    # ------------------------------------------------------------------ look-ups
    def entity(self, kind: str) -> EntityRule:
        for rule in self.entities:
            if rule.kind == kind:
                return rule
        raise KeyError(kind)

    def template(self, name: str) -> TemplateRule | IgnoredTemplate | None:
        return self.template_index.get(fold(name))

    def category(self, name: str) -> CategoryRule | None:
        return self.category_index.get(fold(name))

    def namespace(self, number: int) -> NamespaceRule | None:
        for rule in self.namespaces:
            if rule.number == number:
                return rule
        return None

    def heading(self, heading: str, ancestors: Sequence[str] = ()) -> HeadingRule | None:
        """The rule for a heading whose enclosing headings are ``ancestors`` (outermost
        first). Rules nested under an ancestor's rule win over top-level rules."""
        key = fold(heading)
        if not key:
            return None
        scopes: list[tuple[HeadingRule, ...]] = []
        level: tuple[HeadingRule, ...] = self.headings
        for ancestor in ancestors:
            parent = _find_heading(level, fold(ancestor)) or _find_heading(
                self.headings, fold(ancestor))
            level = parent.subheadings if parent else ()
            if level:
                scopes.append(level)
        for scope in reversed(scopes):
            found = _find_heading(scope, key)
            if found:
                return found
        return _find_heading(self.headings, key)

    def prefix(self, text: str) -> PrefixRule | None:
        """The rule for a list item written ``<prefix> : …``."""
        head, sep, _ = text.partition(":")
        return self.prefix_index.get(fold(head)) if sep else None

    def concept(self, scheme: URIRef, value: str, extra: Iterable[tuple[str, URIRef]] = ()
                ) -> URIRef | None:
        key = fold(value)
        return dict(extra).get(key) or self.concept_labels.get(scheme, {}).get(key)

    def property_info(self, prop: URIRef) -> PropertyInfo:
        return self.properties[str(prop)]


def _find_heading(rules: Iterable[HeadingRule], key: str) -> HeadingRule | None:
    for rule in rules:
        if key in rule.keys:
            return rule
    return None


# --------------------------------------------------------------------------- ontology facts


def ontology_facts(graph: Graph) -> tuple[dict[str, PropertyInfo],
                                         dict[URIRef, dict[str, URIRef]],
                                         dict[URIRef, URIRef]]:
    """What the mapping needs of the ontology: its properties, the concepts of each scheme by
    folded label, the tl: class of each scheme's concepts."""
    properties: dict[str, PropertyInfo] = {}
    for rdf_type in (OWL.ObjectProperty, OWL.DatatypeProperty, RDF.Property):
        for prop in graph.subjects(RDF.type, rdf_type):
            if not str(prop).startswith(ONTOLOGY_NS) or str(prop) in properties:
                continue
            ranges = list(graph.objects(prop, RDFS.range))
            is_object = (prop, RDF.type, OWL.ObjectProperty) in graph
            datatype = ranges[0] if (len(ranges) == 1 and not is_object) else None
            properties[str(prop)] = PropertyInfo(URIRef(prop), is_object, datatype)
    labels: dict[URIRef, dict[str, URIRef]] = {}
    classes: dict[URIRef, URIRef] = {}
    for concept in sorted(graph.subjects(RDF.type, SKOS.Concept)):
        for scheme in graph.objects(concept, SKOS.inScheme):
            index = labels.setdefault(URIRef(scheme), {})
            for predicate in (SKOS.prefLabel, SKOS.altLabel, RDFS.label):
                for label in graph.objects(concept, predicate):
                    index.setdefault(fold(str(label)), URIRef(concept))
            for cls in graph.objects(concept, RDF.type):
                if str(cls).startswith(ONTOLOGY_NS):
                    classes.setdefault(URIRef(scheme), URIRef(cls))
    return properties, labels, classes
