"""The SHACL shapes compiled to plain checks (the compiler of the streaming engine, shacl.py).

``compile_shapes`` accepts the subset of SHACL Core the shapes use (see shacl.py) and raises
``Unsupported`` for anything else; the term helpers decide a value the way pyshacl 0.40 does,
with rdflib literals.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH

from tierslieux.model.rdf import parse_object, unescape
from tierslieux.validation.report import SEVERITIES

RDFS_SUBCLASS = str(RDFS.subClassOf)
_SH = str(SH)
IRI_KINDS = {_SH + "IRI", _SH + "IRIOrLiteral", _SH + "BlankNodeOrIRI"}
LITERAL_KINDS = {_SH + "Literal", _SH + "BlankNodeOrLiteral", _SH + "IRIOrLiteral"}
BNODE_KINDS = {_SH + "BlankNode", _SH + "BlankNodeOrLiteral", _SH + "BlankNodeOrIRI"}
_XSD_STRING = str(XSD.string)
_LANG_STRING = str(RDF.langString)
_RDFS_LITERAL = str(RDFS.Literal)
_RDFS_DATATYPE = str(RDFS.Datatype)
SEVERITY_ORDER = {"violation": 0, "warning": 1, "info": 2}

#: value constraints (on each value node) and count constraints (on the set of values)
_VALUE_PARAMS = {
    SH.datatype, SH["class"], SH.nodeKind, SH.pattern, SH.minLength, SH.maxLength,
    SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive, SH["or"],
}
_COUNT_PARAMS = {SH.minCount, SH.maxCount, SH.hasValue, SH.uniqueLang}
_PROPERTY_KEYS = _VALUE_PARAMS | _COUNT_PARAMS | {
    SH.path, SH.severity, SH.message, SH.name, SH.description, SH.order, SH.group, RDF.type,
    RDFS.label, RDFS.comment,
}
_TARGET_KEYS = {SH.targetClass, SH.targetSubjectsOf, SH.targetNode}
_NODE_KEYS = _TARGET_KEYS | {
    SH.property, SH.severity, SH.message, RDF.type,
    RDFS.label, RDFS.comment, SH.name, SH.description,
}
_NESTED_KEYS = (_VALUE_PARAMS - {SH["class"], SH["or"]}) | {RDF.type, SH.message}


class Unsupported(Exception):
    """The shapes use a part of SHACL this module does not compile."""


@dataclass(frozen=True)
class Check:
    """One value constraint: ``kind`` is the SHACL parameter's local name."""

    kind: str
    arg: Any


@dataclass(frozen=True, eq=False)
class PropertyShape:
    key: str
    path: str
    severity: str
    message: str
    min_count: int | None
    max_count: int | None
    has_value: tuple[str, ...]
    checks: tuple[Check, ...]
    #: sh:uniqueLang true
    unique_lang: bool = False


@dataclass(frozen=True, eq=False)
class NodeShape:
    key: str
    target_classes: tuple[str, ...]
    target_subjects_of: tuple[str, ...]
    properties: tuple[PropertyShape, ...]
    #: sh:targetNode, as subjects are written in triple order (IRI, or ``_:label``)
    target_nodes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- terms


@lru_cache(maxsize=200_000)
def _typed(token: str) -> Literal:
    """The rdflib literal of a typed literal token (what rdflib's N-Triples parser makes)."""
    term = parse_object(token)
    return Literal(term.value, datatype=term.datatype)


def _rdflib_term(token: str) -> URIRef | Literal | BNode:
    if token[0] == "<":
        return URIRef(unescape(token[1:-1]))
    if token.startswith("_:"):
        return BNode(token[2:])
    if token[-1] == ">":
        return _typed(token)
    term = parse_object(token)
    return Literal(term.value, lang=term.language or None)


def identity(token: str) -> Any:
    """Equal for two tokens rdflib reads as one node."""
    first = token[0]
    if first == "<":
        return token if "\\" not in token else "<" + unescape(token[1:-1]) + ">"
    if first == "_":  # a blank node: its whole label
        return ("b", token)
    last = token[-1]
    if last == '"':
        return ("p", unescape(token[1:-1]))
    if last == ">":
        literal = _typed(token)
        return ("t", str(literal), str(literal.datatype))
    end = token.rindex('"')
    return ("l", unescape(token[1:end]), token[end + 2:].lower())


def value_string(token: str) -> str:
    """``str()`` of the rdflib term: what validate_graph reports as a result's value."""
    if token[0] == "<":
        return unescape(token[1:-1])
    if token.startswith("_:"):
        return token[2:]  # str() of an rdflib BNode: its label
    if token[-1] == ">":
        literal = _typed(token)
        if getattr(literal, "ill_typed", None):  # rdflib may rewrite it: keep it as written
            return parse_object(token).value
        return str(literal)
    return parse_object(token).value


def node_string(subject: str) -> str:
    """A subject as ``triple_order`` gives it (IRI unbracketed, ``_:label``), as str() of
    its rdflib term."""
    return subject[2:] if subject.startswith("_:") else subject


def datatype_ok(token: str, rule: str) -> bool:
    """pyshacl's DatatypeConstraintComponent on one value."""
    if token[0] == "<" or token.startswith("_:"):
        return False
    last = token[-1]
    if last == '"':  # plain literal: no datatype, no language
        return rule in (_RDFS_LITERAL, _XSD_STRING)
    if last != ">":  # language-tagged: rdflib gives it no datatype
        return rule in (_RDFS_LITERAL, _LANG_STRING)
    return _typed_datatype_ok(token, rule)


@lru_cache(maxsize=100_000)
def _typed_datatype_ok(token: str, rule: str) -> bool:
    literal = _typed(token)
    if str(literal.datatype) == rule:
        if getattr(literal, "ill_typed", None) is True:
            return False
        expected = _PYTHON_TYPES.get(rule)
        return True if expected is None else isinstance(literal.value, expected)
    return rule in (_RDFS_LITERAL, _RDFS_DATATYPE)


#: what pyshacl's _assert_actual_datatype expects of the Python value of a literal
_PYTHON_TYPES: dict[str, Any] = {
    _XSD_STRING: (str, bytes), _LANG_STRING: (str, bytes), str(XSD.integer): int,
    str(XSD.float): float, str(XSD.decimal): Decimal, str(XSD.boolean): bool,
    str(XSD.date): datetime.date, str(XSD.time): datetime.time,
    str(XSD.dateTime): datetime.datetime,
}


def string_of(token: str) -> str:
    """pyshacl's value_node_to_string (sh:pattern, sh:minLength)."""
    if token[0] == "<":
        return unescape(token[1:-1])
    if token[-1] != ">":
        return parse_object(token).value
    literal = _typed(token)
    if literal.value is not None and str(literal.datatype) in (_XSD_STRING, _LANG_STRING):
        return str(literal.value)
    return str(literal)


#: (pyshacl.rdfutil.compare: values of these compared as Python values)
_COMPARED_AS_VALUES = (datetime.datetime, datetime.time)


def compare_literal(first: Literal, second: Literal) -> int:
    """pyshacl 0.40's ``rdfutil.compare.compare_literal`` (Apache-2.0), its lines as they are:
    importing pyshacl for it would cost each worker of a build a quarter of a second
    (``test_compare_literal_is_pyshacls`` compares the two)."""
    if first.eq(second):
        return 0
    if first.value.__class__ in _COMPARED_AS_VALUES:
        if first.value == second.value:
            return 0
        elif first.value > second.value:
            return 1
    elif first > second:
        return 1
    return -1


@lru_cache(maxsize=100_000)
def compare_ok(token: str, kind: str, bound: Literal) -> bool:
    """pyshacl's value range constraints on one value."""
    if token[0] == "<" or token.startswith("_:"):
        return False
    value = _rdflib_term(token)
    value_is_string = isinstance(value.value, str)
    bound_is_string = isinstance(bound.value, str)
    if value_is_string != bound_is_string:
        return False
    try:
        cmp = compare_literal(value, bound)
    except (TypeError, NotImplementedError):
        return False
    return {
        "minInclusive": cmp >= 0, "maxInclusive": cmp <= 0,
        "minExclusive": cmp > 0, "maxExclusive": cmp < 0,
    }[kind]


# --------------------------------------------------------------------------- compiling


def _one(graph: Graph, node: Any, param: URIRef) -> Any:
    values = list(graph.objects(node, param))
    if len(values) > 1:
        raise Unsupported(f"{node} has several {param}")
    return values[0] if values else None


def _value_checks(graph: Graph, node: Any, allowed: set) -> list[Check]:
    checks: list[Check] = []
    for param, kind in (
        (SH.datatype, "datatype"), (SH["class"], "class"), (SH.nodeKind, "nodeKind"),
        (SH.pattern, "pattern"), (SH.minLength, "minLength"), (SH.maxLength, "maxLength"),
        (SH.minInclusive, "minInclusive"), (SH.maxInclusive, "maxInclusive"),
        (SH.minExclusive, "minExclusive"), (SH.maxExclusive, "maxExclusive"),
    ):
        for value in graph.objects(node, param):
            if param not in allowed:
                raise Unsupported(f"{param} inside sh:or")
            if kind == "pattern":
                if (node, SH.flags, None) in graph:
                    raise Unsupported("sh:flags")
                text = str(value.value) if value.value is not None and len(value.value) > 1 \
                    else str(value)
                checks.append(Check(kind, re.compile(text)))
            elif kind in ("minLength", "maxLength"):
                checks.append(Check(kind, int(value.value)))
            elif kind.endswith(("Inclusive", "Exclusive")):
                if not isinstance(value, Literal):
                    raise Unsupported(f"{param} with a non-literal bound")
                checks.append(Check(kind, value))
            else:
                if not isinstance(value, URIRef):
                    raise Unsupported(f"{param} {value}")
                checks.append(Check(kind, str(value)))
    return checks


def or_check(graph: Graph, node: Any) -> list[Check]:
    checks = []
    for head in graph.objects(node, SH["or"]):
        alternatives = []
        for member in Collection(graph, head):
            extra = {p for p in graph.predicates(member)} - _NESTED_KEYS
            if extra:
                raise Unsupported(f"sh:or member with {sorted(map(str, extra))}")
            alternatives.append(tuple(_value_checks(graph, member, _NESTED_KEYS)))
        checks.append(Check("or", tuple(alternatives)))
    return checks


def _severity(graph: Graph, node: Any) -> str:
    value = _one(graph, node, SH.severity)
    if value is None:
        return "violation"
    if value not in SEVERITIES:
        raise Unsupported(f"severity {value}")
    return SEVERITIES[value]


def _property(graph: Graph, node: Any, messages: bool = True, *,
              targets: bool = False) -> PropertyShape:
    extra = set(graph.predicates(node)) - _PROPERTY_KEYS - (_TARGET_KEYS if targets else set())
    if extra:
        raise Unsupported(f"property shape with {sorted(map(str, extra))}")
    path = _one(graph, node, SH.path)
    if not isinstance(path, URIRef):
        raise Unsupported("a path that is not one IRI")
    written = sorted(str(m) for m in graph.objects(node, SH.message))
    if not written and messages:
        # pyshacl would write a message of its own, which this module does not imitate
        raise Unsupported(f"property shape on {path} without sh:message")
    min_count = _one(graph, node, SH.minCount)
    max_count = _one(graph, node, SH.maxCount)
    has_value = tuple(
        identity(_token(v)) for v in graph.objects(node, SH.hasValue)
    )
    checks = _value_checks(graph, node, _VALUE_PARAMS) + or_check(graph, node)
    unique = _one(graph, node, SH.uniqueLang)
    # Only "true"^^xsd:boolean turns it on (the W3C suite's uniqueLang-002)
    unique_lang = (isinstance(unique, Literal) and unique.datatype == XSD.boolean
                   and str(unique) == "true")
    return PropertyShape(
        key=_token(node), path=str(path), severity=_severity(graph, node),
        message=written[0] if written else "",
        min_count=None if min_count is None else int(min_count.value),
        max_count=None if max_count is None else int(max_count.value),
        has_value=has_value, checks=tuple(checks), unique_lang=unique_lang,
    )


def _token(node: Any) -> str:
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, BNode):
        return f"_:{node}"
    from tierslieux.model.rdf import nt_term

    return nt_term(node)


def compile_shapes(shapes: Graph, *, messages: bool = True) -> tuple[NodeShape, ...]:
    """The node shapes of ``shapes``; raises Unsupported when this module cannot run them.

    A property shape with targets of its own becomes a node shape holding just itself. With
    ``messages`` (the default) every property shape must have an ``sh:message``, so that the
    results read as pyshacl's; without, a result of a shape without one has message "".
    """
    for construct in (SH.targetObjectsOf, SH.node, SH.qualifiedValueShape,
                      SH.sparql, SH.closed, SH["not"], SH["and"], SH.xone, SH.deactivated,
                      SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals,
                      SH.languageIn, SH["in"], SH.flags):
        if (None, construct, None) in shapes:
            raise Unsupported(f"{construct}")
    node_shapes = []
    candidates = set(shapes.subjects(RDF.type, SH.NodeShape))
    for target in _TARGET_KEYS:
        candidates |= set(shapes.subjects(target, None))
    for node in candidates:
        if (node, RDF.type, RDFS.Class) in shapes or (node, RDF.type, URIRef(
                "http://www.w3.org/2002/07/owl#Class")) in shapes:
            raise Unsupported("implicit class targets")
        if (node, SH.path, None) in shapes:  # a property shape with its own targets
            if (node, SH.property, None) in shapes:
                raise Unsupported("a shape with both sh:path and sh:property")
            properties: tuple[PropertyShape, ...] = (
                _property(shapes, node, messages, targets=True),)
        else:
            extra = set(shapes.predicates(node)) - _NODE_KEYS
            if extra:
                raise Unsupported(f"node shape with {sorted(map(str, extra))}")
            properties = tuple(sorted(
                (_property(shapes, p, messages) for p in shapes.objects(node, SH.property)),
                key=lambda p: (p.path, p.key)))
        nodes = []
        for target in shapes.objects(node, SH.targetNode):
            if isinstance(target, Literal):
                raise Unsupported("a literal sh:targetNode")
            nodes.append(str(target) if isinstance(target, URIRef) else f"_:{target}")
        node_shapes.append(NodeShape(
            key=_token(node),
            target_classes=tuple(sorted(str(c) for c in shapes.objects(node, SH.targetClass))),
            target_subjects_of=tuple(sorted(
                str(p) for p in shapes.objects(node, SH.targetSubjectsOf))),
            properties=properties,
            target_nodes=tuple(sorted(nodes)),
        ))
    return tuple(sorted(node_shapes, key=lambda s: s.key))


# --------------------------------------------------------------------------- values


def value_ok(token: str, check: Check) -> bool:
    """Whether the value ``token`` (an N-Triples term) passes the value constraint."""
    kind = check.kind
    if kind == "datatype":
        return datatype_ok(token, check.arg)
    if kind == "nodeKind":
        if token[0] == "<":
            return check.arg in IRI_KINDS
        if token.startswith("_:"):
            return check.arg in BNODE_KINDS
        return check.arg in LITERAL_KINDS
    if kind == "pattern":
        if token.startswith("_:"):
            return False
        text = string_of(token)
        return bool(check.arg.match(text) or check.arg.search(text))
    if kind == "minLength":
        return check.arg == 0 or (not token.startswith("_:")
                                  and len(string_of(token)) >= check.arg)
    if kind == "maxLength":
        return not token.startswith("_:") and len(string_of(token)) <= check.arg
    if kind in ("minInclusive", "maxInclusive", "minExclusive", "maxExclusive"):
        return compare_ok(token, kind, check.arg)
    if kind == "or":
        return any(all(value_ok(token, c) for c in alternative) for alternative in check.arg)
    if kind == "class":  # inside sh:or: not compiled (see or_check)
        raise Unsupported("sh:class inside sh:or")
    raise Unsupported(kind)


def value_test(check: Check) -> Callable[[str], bool]:
    """``value_ok`` of one value constraint as a function of the token alone, the common
    constraints decided with what they need taken out once (``sh:datatype``,
    ``sh:nodeKind``)."""
    kind, arg = check.kind, check.arg
    if kind == "datatype":
        plain = arg in (_RDFS_LITERAL, _XSD_STRING)
        tagged = arg in (_RDFS_LITERAL, _LANG_STRING)

        def datatype(token: str) -> bool:  # datatype_ok
            if token[0] == "<" or token.startswith("_:"):
                return False
            last = token[-1]
            if last == '"':
                return plain
            if last != ">":
                return tagged
            return _typed_datatype_ok(token, arg)

        return datatype
    if kind == "nodeKind":
        iri, blank, literal = arg in IRI_KINDS, arg in BNODE_KINDS, arg in LITERAL_KINDS

        def node_kind(token: str) -> bool:
            if token[0] == "<":
                return iri
            return blank if token.startswith("_:") else literal

        return node_kind
    if kind == "or":
        alternatives = tuple(tuple(value_test(c) for c in alternative) for alternative in arg)

        def either(token: str) -> bool:
            for alternative in alternatives:
                for test in alternative:
                    if not test(token):
                        break
                else:
                    return True
            return False

        return either
    if kind in ("minInclusive", "maxInclusive", "minExclusive", "maxExclusive"):
        return lru_cache(maxsize=4096)(lambda token: compare_ok(token, kind, arg))
    if kind == "class":  # inside sh:or: not compiled (see or_check)
        raise Unsupported("sh:class inside sh:or")
    return lambda token: value_ok(token, check)


def graph_lines(graph: Graph, *, blank_nodes: bool = False) -> tuple[str, ...]:
    """A graph as sorted N-Triples lines. Blank nodes keep their rdflib labels
    (``_:label``) with ``blank_nodes``, else raise Unsupported (an ontology whose blank
    nodes would mix with the data's)."""
    from tierslieux.model.rdf import nt_term

    def term(node: Any) -> str:
        if isinstance(node, BNode):
            if not blank_nodes:
                raise Unsupported("an ontology with blank nodes")
            label = str(node)
            if not _BNODE_LABEL.fullmatch(label):
                raise Unsupported(f"a blank node label N-Triples cannot write: {label!r}")
            return f"_:{label}"
        if isinstance(node, Literal) and getattr(node, "ill_typed", None) and not getattr(
                Literal(str(node), datatype=node.datatype), "ill_typed", None):
            # rdflib rewrote an ill-typed lexical form ("none"^^xsd:boolean -> "false"):
            # written back, it would be a different, well-typed literal
            raise Unsupported(f"an ill-typed literal rdflib has rewritten ({node!r})")
        try:
            return nt_term(node)
        except ValueError as exc:  # an IRI that is not one (relative, spaces)
            raise Unsupported(str(exc)) from None

    return tuple(sorted({f"{term(s)} {term(p)} {term(o)} ." for s, p, o in graph}))


_BNODE_LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?<!\.)")
