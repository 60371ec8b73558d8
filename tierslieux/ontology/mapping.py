"""Read ``mapping.yaml`` into the frozen rules of ``ontology/rules.py``, checked.

The rules are checked against the ontology; one function per section of the file.

Every error names the file and the key (``mapping.yaml: templates[0].params[3].property:
'postCode' is not a term of the ontology``), so that a domain expert editing the file can
fix it without reading Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from rdflib import Graph, URIRef

from tierslieux.errors import MappingError
from tierslieux.ontology import MAPPING_FILE, ontology_graph, read_text
from tierslieux.model import yamltext
from tierslieux.model.clean import CLEANERS, fold
from tierslieux.ontology.reader import Reader as _Reader
from tierslieux.ontology.shown import bundled_shown, read_shown
from tierslieux.ontology.rules import (
    CONTEXT_KEYS,
    CategoryRule,
    EntityRule,
    HeadingRule,
    IgnoredTemplate,
    Mapping,
    Meaning,
    NamespaceRule,
    ParamRule,
    PrefixRule,
    SmwRules,
    SubpageRule,
    TemplateRule,
    TextRule,
    ontology_facts,
)

PARAM_KINDS = ("literal", "iri", "concept", "entity", "closure")
CLOSURE_ROLES = ("status", "since", "note")
#: the concept scheme each context key points into
CONTEXT_SCHEMES = {
    "statement_kind": "StatementKinds",
    "level": "CollectivityLevels",
    "partnership": "PartnershipTypes",
    "audience": "Audiences",
}


# --------------------------------------------------------------------------- reading YAML


def _entities(r: _Reader, node: Any) -> tuple[EntityRule, ...]:
    node = r.mapping(node or {}, "entities", allowed=_any_key(node))
    rules = []
    for kind, spec in node.items():
        where = f"entities.{kind}"
        spec = r.mapping(spec, where, allowed=("class", "iri", "name"), required=("class", "iri"))
        cls = r.term(spec["class"], f"{where}.class")
        iri = r.text(spec["iri"], f"{where}.iri")
        placeholders = set(re.findall(r"{(\w*)}", iri))
        if not placeholders or placeholders - {"key", "rootkey", "slug"}:
            raise r.fail(f"{where}.iri", "use {key}, {rootkey} or {slug} (and only them)")
        name_from = spec.get("name")
        if name_from not in (None, "title"):
            raise r.fail(f"{where}.name", "only 'title' is supported")
        rules.append(EntityRule(str(kind), cls, iri, name_from))
    return tuple(rules)


def _any_key(node: Any) -> tuple[str, ...]:
    return tuple(map(str, node)) if isinstance(node, dict) else ()


def _param(r: _Reader, node: Any, where: str, entity_kinds: set[str]) -> ParamRule:
    spec = r.mapping(node, where, required=("name",), allowed=(
        "name", "aliases", "property", "kind", "cleaner", "separator", "required", "scheme",
        "unknown", "entity", "properties", "values"))
    kind = r.text(spec.get("kind", "literal"), f"{where}.kind")
    if kind not in PARAM_KINDS:
        raise r.fail(f"{where}.kind", f"{kind!r} is not one of {', '.join(PARAM_KINDS)}")
    default_cleaner = {"iri": "url", "closure": "closure"}.get(kind, "text")
    cleaner = r.text(spec.get("cleaner", default_cleaner), f"{where}.cleaner")
    if cleaner not in CLEANERS:
        raise r.fail(f"{where}.cleaner", f"{cleaner!r} is not one of {', '.join(sorted(CLEANERS))}")
    prop = None
    properties: tuple[tuple[str, URIRef], ...] = ()
    if kind == "closure":
        roles = r.mapping(spec.get("properties"), f"{where}.properties",
                          allowed=CLOSURE_ROLES, required=("status",))
        properties = tuple((role, r.prop(roles[role], f"{where}.properties.{role}"))
                           for role in CLOSURE_ROLES if role in roles)
        if cleaner != "closure":
            raise r.fail(f"{where}.cleaner", "kind closure needs the closure cleaner")
    else:
        if "property" not in spec:
            raise r.fail(f"{where}.property", "missing")
        prop = r.prop(spec["property"], f"{where}.property")
        info = r.properties[str(prop)]
        if kind == "literal" and info.is_object:
            raise r.fail(f"{where}.property", f"tl:{spec['property']} links to resources: "
                                              "set kind to iri, concept or entity")
        if kind != "literal" and not info.is_object and info.datatype is not None:
            raise r.fail(f"{where}.kind", f"tl:{spec['property']} takes literal values: "
                                          "use kind literal")
    scheme = None
    values: tuple[tuple[str, URIRef], ...] = ()
    unknown = r.text(spec.get("unknown", "keep"), f"{where}.unknown")
    if unknown not in ("keep", "mint"):
        raise r.fail(f"{where}.unknown", "expected keep or mint")
    if kind == "concept":
        if "scheme" not in spec:
            raise r.fail(f"{where}.scheme", "missing (kind concept needs a concept scheme)")
        scheme = r.scheme(spec["scheme"], f"{where}.scheme")
        extra = r.mapping(spec.get("values") or {}, f"{where}.values",
                          allowed=_any_key(spec.get("values")))
        values = tuple((fold(str(k)), r.concept(v, f"{where}.values.{k}", str(spec["scheme"])))
                       for k, v in extra.items())
    entity = None
    if kind == "entity":
        entity = r.text(spec.get("entity", ""), f"{where}.entity")
        if entity not in entity_kinds:
            raise r.fail(f"{where}.entity", f"{entity!r} is not one of the entities: "
                                            f"{', '.join(sorted(entity_kinds))}")
    return ParamRule(
        name=r.text(spec["name"], f"{where}.name"),
        aliases=r.names(spec.get("aliases"), f"{where}.aliases"),
        property=prop, kind=kind, cleaner=cleaner,
        separator=r.text(spec.get("separator", ""), f"{where}.separator") if spec.get(
            "separator") else "",
        required=r.flag(spec.get("required"), f"{where}.required"),
        scheme=scheme, unknown=unknown, entity=entity, properties=properties, values=values,
    )


def _effects(r: _Reader, spec: dict[str, Any], where: str, entity_kinds: set[str]
             ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.get("page_type") is not None:
        out["page_type"] = r.concept(spec["page_type"], f"{where}.page_type", "PageTypes")
    if spec.get("page_status") is not None:
        out["page_status"] = r.concept(spec["page_status"], f"{where}.page_status", "PageStatuses")
    if spec.get("describes") is not None:
        kind = r.text(spec["describes"], f"{where}.describes")
        if kind not in entity_kinds:
            raise r.fail(f"{where}.describes", f"{kind!r} is not one of the entities: "
                                               f"{', '.join(sorted(entity_kinds))}")
        out["describes"] = kind
    return out


def _pairs(r: _Reader, node: Any, where: str) -> tuple[tuple[URIRef, URIRef], ...]:
    node = r.mapping(node or {}, where, allowed=_any_key(node))
    pairs = []
    for name, value in node.items():
        prop = r.prop(name, f"{where}.{name}")
        if not r.properties[str(prop)].is_object:
            raise r.fail(f"{where}.{name}", "only properties that link to concepts can be set")
        pairs.append((prop, r.concept(value, f"{where}.{name}")))
    return tuple(pairs)


def _meaning(r: _Reader, spec: dict[str, Any], where: str) -> Meaning:
    return Meaning(**{
        key: r.concept(spec[key], f"{where}.{key}", CONTEXT_SCHEMES[key])
        for key in CONTEXT_KEYS if spec.get(key) is not None
    })


def _headings(r: _Reader, node: Any, where: str) -> tuple[HeadingRule, ...]:
    rules = []
    seen: dict[str, str] = {}
    for i, spec in enumerate(r.items(node, where)):
        here = f"{where}[{i}]"
        spec = r.mapping(spec, here, required=("heading",),
                         allowed=("heading", "aliases", "subheadings", *CONTEXT_KEYS))
        rule = HeadingRule(
            heading=r.text(spec["heading"], f"{here}.heading"),
            aliases=r.names(spec.get("aliases"), f"{here}.aliases"),
            meaning=_meaning(r, spec, here),
            subheadings=_headings(r, spec.get("subheadings"), f"{here}.subheadings"),
        )
        if not rule.meaning and not rule.subheadings:
            raise r.fail(here, "a heading rule needs a meaning "
                               f"({', '.join(CONTEXT_KEYS)}) or subheadings")
        for key in rule.keys:
            if key in seen and seen[key] != here:
                raise r.fail(here, f"{key!r} is already used by {seen[key]}")
            seen[key] = here
        rules.append(rule)
    return tuple(rules)


def _index(r: _Reader, rules: Iterable[Any], where: str, attr: str = "name") -> dict[str, Any]:
    index: dict[str, Any] = {}
    for rule in rules:
        for name in (getattr(rule, attr), *rule.aliases):
            key = fold(name)
            if not key:
                raise r.fail(where, f"the name {name!r} is empty once folded")
            if key in index and index[key] is not rule:
                raise r.fail(where, f"{name!r} names both {getattr(index[key], attr)!r} "
                                    f"and {getattr(rule, attr)!r}")
            index[key] = rule
    return index


TOP_KEYS = ("version", "entities", "templates", "ignored_templates", "categories", "namespaces",
            "redirect_page_type", "subpages", "headings", "item_prefixes", "text_rules",
            "smw_properties", "inline_templates")


def parse_mapping(text: str, source: str = MAPPING_FILE, ontology: Graph | None = None
                  ) -> Mapping:
    """Build a :class:`Mapping` from YAML text (``source`` names it in error messages)."""
    try:
        tree = yamltext.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise MappingError(f"{source}: {where}: not valid YAML ({problem})") from None
    properties, labels, classes = ontology_facts(ontology if ontology is not None
                                                  else ontology_graph())
    r = _Reader(source, properties, labels)
    tree = r.mapping(tree, "(top)", allowed=TOP_KEYS, required=("entities",))
    if tree.get("version", 1) != 1:
        raise r.fail("version", "this tierslieux reads mapping version 1")

    # the sections in the order their errors are reported
    entities = _entities(r, tree["entities"])
    templates = _templates(r, tree.get("templates"), entities)
    ignored = _ignored_templates(r, tree.get("ignored_templates"), entities)
    categories = _categories(r, tree.get("categories"), entities)
    namespaces = _namespaces(r, tree.get("namespaces"))
    subpages = _subpages(r, tree.get("subpages"))
    prefixes = _item_prefixes(r, tree.get("item_prefixes"))
    text_rules = _text_rules(r, tree.get("text_rules"), entities)
    smw = _smw_properties(r, tree.get("smw_properties"), entities)
    shown = bundled_shown().merged(read_shown(tree.get("inline_templates"), source))
    redirect = tree.get("redirect_page_type")
    return Mapping(
        source=source,
        entities=entities,
        templates=templates,
        ignored_templates=ignored,
        categories=categories,
        namespaces=namespaces,
        headings=_headings(r, tree.get("headings"), "headings"),
        item_prefixes=prefixes,
        text_rules=text_rules,
        subpages=subpages,
        redirect_page_type=(r.concept(redirect, "redirect_page_type", "PageTypes")
                            if redirect is not None else None),
        properties=properties,
        concept_labels=labels,
        scheme_classes=classes,
        template_index=_index(r, [*templates, *ignored], "templates / ignored_templates"),
        category_index=_index(r, categories, "categories"),
        prefix_index=_index(r, prefixes, "item_prefixes", "prefix"),
        smw=smw,
        inline_templates=shown,
    )


def _templates(r: _Reader, node: Any, entities: tuple[EntityRule, ...]
               ) -> tuple[TemplateRule, ...]:
    kinds = {e.kind for e in entities}
    templates = []
    for i, spec in enumerate(r.items(node, "templates")):
        where = f"templates[{i}]"
        spec = r.mapping(spec, where, required=("name",), allowed=(
            "name", "aliases", "describes", "page_type", "page_status", "params", "defaults",
            "named_by"))
        params = tuple(_param(r, p, f"{where}.params[{j}]", kinds)
                       for j, p in enumerate(r.items(spec.get("params"), f"{where}.params")))
        named_by = None
        if spec.get("named_by") is not None:
            named_by = r.text(spec["named_by"], f"{where}.named_by")
        rule = TemplateRule(
            name=r.text(spec["name"], f"{where}.name"),
            aliases=r.names(spec.get("aliases"), f"{where}.aliases"),
            params=params, defaults=_pairs(r, spec.get("defaults"), f"{where}.defaults"),
            named_by=named_by, param_index=_index(r, params, f"{where}.params"),
            **_effects(r, spec, where, kinds),
        )
        if params and rule.describes is None:
            raise r.fail(f"{where}.describes", "a template with params must say which entity "
                                               "it describes")
        if named_by is not None:
            if rule.describes is None:
                raise r.fail(f"{where}.named_by", "needs 'describes' (which entity it names)")
            if named_by not in [p.name for p in params]:
                raise r.fail(f"{where}.named_by", f"{named_by!r} is not the name of one of "
                                                  "the template's params")
            if "{slug}" not in next(e.iri for e in entities if e.kind == rule.describes):
                raise r.fail(f"{where}.named_by", f"the IRIs of entity {rule.describes!r} "
                                                  "must use {slug} to be named by a parameter")
        templates.append(rule)
    return tuple(templates)


def _ignored_templates(r: _Reader, node: Any, entities: tuple[EntityRule, ...]
                       ) -> tuple[IgnoredTemplate, ...]:
    kinds = {e.kind for e in entities}
    ignored = []
    for i, spec in enumerate(r.items(node, "ignored_templates")):
        where = f"ignored_templates[{i}]"
        spec = r.mapping(spec, where, required=("name",), allowed=(
            "name", "aliases", "describes", "page_type", "page_status"))
        ignored.append(IgnoredTemplate(
            name=r.text(spec["name"], f"{where}.name"),
            aliases=r.names(spec.get("aliases"), f"{where}.aliases"),
            **_effects(r, spec, where, kinds)))
    return tuple(ignored)


def _categories(r: _Reader, node: Any, entities: tuple[EntityRule, ...]
                ) -> tuple[CategoryRule, ...]:
    kinds = {e.kind for e in entities}
    categories = []
    for i, spec in enumerate(r.items(node, "categories")):
        where = f"categories[{i}]"
        spec = r.mapping(spec, where, required=("name",), allowed=(
            "name", "aliases", "describes", "page_type", "page_status", "set"))
        effects = _effects(r, spec, where, kinds)
        rule = CategoryRule(name=r.text(spec["name"], f"{where}.name"),
                            aliases=r.names(spec.get("aliases"), f"{where}.aliases"),
                            set=_pairs(r, spec.get("set"), f"{where}.set"), **effects)
        if rule.set and rule.describes is None:
            raise r.fail(f"{where}.set", "'set' needs 'describes' (which entity gets the values)")
        categories.append(rule)
    return tuple(categories)


def _namespaces(r: _Reader, node: Any) -> tuple[NamespaceRule, ...]:
    namespaces = []
    for i, spec in enumerate(r.items(node, "namespaces")):
        where = f"namespaces[{i}]"
        spec = r.mapping(spec, where, required=("number", "page_type"),
                         allowed=("number", "page_type"))
        if isinstance(spec["number"], bool) or not isinstance(spec["number"], int):
            raise r.fail(f"{where}.number", "expected a namespace number")
        namespaces.append(NamespaceRule(
            spec["number"], r.concept(spec["page_type"], f"{where}.page_type", "PageTypes")))
    return tuple(namespaces)


def _subpages(r: _Reader, node: Any) -> SubpageRule | None:
    if node is None:
        return None
    spec = r.mapping(node, "subpages", required=("pattern",), allowed=("pattern", "namespaces"))
    pattern = r.text(spec["pattern"], "subpages.pattern")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise r.fail("subpages.pattern", f"not a valid regular expression ({exc})") from None
    if "root" not in compiled.groupindex:
        raise r.fail("subpages.pattern", "needs a named group (?P<root>...)")
    numbers = r.items(spec.get("namespaces", [0]), "subpages.namespaces")
    if any(isinstance(n, bool) or not isinstance(n, int) for n in numbers):
        raise r.fail("subpages.namespaces", "expected a list of namespace numbers")
    return SubpageRule(pattern, tuple(numbers))


def _item_prefixes(r: _Reader, node: Any) -> tuple[PrefixRule, ...]:
    prefixes = []
    for i, spec in enumerate(r.items(node, "item_prefixes")):
        where = f"item_prefixes[{i}]"
        spec = r.mapping(spec, where, required=("prefix",),
                         allowed=("prefix", "aliases", *CONTEXT_KEYS))
        meaning = _meaning(r, spec, where)
        if not meaning:
            raise r.fail(where, f"an item prefix needs a meaning ({', '.join(CONTEXT_KEYS)})")
        prefixes.append(PrefixRule(r.text(spec["prefix"], f"{where}.prefix"),
                                   r.names(spec.get("aliases"), f"{where}.aliases"), meaning))
    return tuple(prefixes)


def _text_rules(r: _Reader, node: Any, entities: tuple[EntityRule, ...]
                ) -> tuple[TextRule, ...]:
    kinds = {e.kind for e in entities}
    text_rules = []
    for i, spec in enumerate(r.items(node, "text_rules")):
        where = f"text_rules[{i}]"
        spec = r.mapping(spec, where, required=("describes", "find", "properties"),
                         allowed=("describes", "sections", "find", "properties"))
        if spec["find"] != "closure":
            raise r.fail(f"{where}.find", "only 'closure' is supported")
        describes = _effects(r, {"describes": spec["describes"]}, where, kinds)["describes"]
        roles = r.mapping(spec["properties"], f"{where}.properties", allowed=CLOSURE_ROLES,
                          required=("status",))
        text_rules.append(TextRule(
            describes=describes,
            sections=tuple(fold(s) for s in r.names(spec.get("sections", ["lead"]),
                                                      f"{where}.sections")),
            find="closure",
            properties=tuple((role, r.prop(roles[role], f"{where}.properties.{role}"))
                             for role in CLOSURE_ROLES if role in roles)))
    return tuple(text_rules)


def _smw_properties(r: _Reader, node: Any, entities: tuple[EntityRule, ...]) -> SmwRules:
    """Semantic MediaWiki property names onto the ontology, one parameter rule each."""
    if node is None:
        return SmwRules()
    spec = r.mapping(node, "smw_properties", allowed=("describes", "properties"))
    kinds = {e.kind for e in entities}
    describes = spec.get("describes")
    if describes is not None:
        describes = r.text(describes, "smw_properties.describes")
        if describes not in kinds:
            raise r.fail("smw_properties.describes",
                         f"{describes!r} is not one of the entities: {', '.join(sorted(kinds))}")
    rules = tuple(_param(r, item, f"smw_properties.properties[{i}]", kinds)
                  for i, item in enumerate(r.items(spec.get("properties"),
                                                   "smw_properties.properties")))
    for i, rule in enumerate(rules):
        if rule.kind == "closure":
            raise r.fail(f"smw_properties.properties[{i}].kind",
                         "a closure is read from a template parameter, not an annotation")
    return SmwRules(describes=describes, properties=rules,
                    index=_index(r, rules, "smw_properties.properties"))


def load_mapping(path: str | Path | None = None) -> Mapping:
    """The mapping in ``path``, or the bundled ``mapping.yaml``."""
    if path is None:
        return parse_mapping(read_text(MAPPING_FILE), MAPPING_FILE)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return parse_mapping(text, str(path))
