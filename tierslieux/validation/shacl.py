"""The bundled SHACL shapes, compiled to plain checks that validate one subject at a time.

``reference.validate_graph`` runs pyshacl on one rdflib graph holding the ontology and the whole
release: about a kilobyte of memory and a few hundred microseconds per triple, which a wiki of
tens of thousands of pages cannot afford. The shapes of ``shapes.ttl`` only ever look at a focus
node's own triples, at the types of the values of ``sh:class`` constraints, and at the class
hierarchy of the ontology. So the build validates a release as a stream: the triples of one
subject are contiguous in a sorted dump, the ``sh:class`` checks are resolved page by page where
the values are minted (see ``local_class_failures`` and ``tierslieux.runner.build``), and the
few values no page could type are looked up at the end of the stream.

``compile_shapes`` (shapes.py) accepts the subset of SHACL Core the shapes use and raises ``Unsupported``
for anything else, so that a shapes file this module does not understand is validated with
pyshacl instead, never half-checked:

- node shapes with ``sh:targetClass`` (instances of subclasses included, the hierarchy taken
  from the ontology), ``sh:targetSubjectsOf`` and ``sh:targetNode``, made of ``sh:property``
  shapes; property shapes with targets of their own;
- property shapes whose ``sh:path`` is one IRI, with ``sh:minCount``, ``sh:maxCount``,
  ``sh:hasValue``, ``sh:uniqueLang``, ``sh:datatype``, ``sh:class``, ``sh:nodeKind``,
  ``sh:pattern`` (no ``sh:flags``), ``sh:minLength``, ``sh:maxLength``, ``sh:minInclusive``,
  ``sh:maxInclusive``, ``sh:minExclusive``, ``sh:maxExclusive``, ``sh:or`` of shapes made of
  value constraints, ``sh:severity`` and ``sh:message``;
- data with blank nodes (``_:label`` as written; results name them by label, as rdflib does).

``shacl_stream.validate_data_graph`` checks any rdflib graph this way; ``tests/test_shacl_w3c.py`` runs the
W3C SHACL Core suite through it and through pyshacl.

Each constraint is decided the way pyshacl 0.40 decides it (the literal checks use rdflib
literals, as pyshacl does), and the results are ``report.Violation`` records: the tests
compare this module with ``validate_graph`` on the sample and on broken variants of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rdflib import RDF, RDFS, Graph, URIRef

from tierslieux.model.rdf import RDF_TYPE, unescape
from tierslieux.validation.shapes import (
    NodeShape,
    PropertyShape,
    Unsupported,
    compile_shapes,
    graph_lines,
    identity,
    value_string,
    value_test,
)

#: rdf:type as the predicate of a line
_RDF_TYPE_TOKEN = f"<{RDF_TYPE}>"

#: (subject IRI, predicate IRI, object as an N-Triples term): the triple order of ntriples.py
Triple = tuple[str, str, str]



@dataclass(frozen=True)
class Result:
    """One validation result before the pages of its focus node are known."""

    severity: str
    focus: str
    path: str
    message: str
    value: str


# --------------------------------------------------------------------------- checking


class ShapeChecker:
    """Compiled shapes plus the class hierarchy of the ontology."""

    def __init__(self, shapes: Graph, ontology: Graph, *, messages: bool = True) -> None:
        try:
            self.node_shapes = compile_shapes(shapes, messages=messages)
        except (TypeError, ValueError, AttributeError, re.error) as exc:
            # A malformed parameter (sh:minCount "x", a bad sh:pattern): pyshacl says why.
            raise Unsupported(f"shapes this module cannot read: {exc}") from None
        for s, o in ontology.subject_objects(RDFS.subClassOf):
            if not isinstance(s, URIRef) or not isinstance(o, URIRef):
                raise Unsupported("a class hierarchy with blank nodes")
        parents: dict[str, set[str]] = {}
        for s, o in ontology.subject_objects(RDFS.subClassOf):
            parents.setdefault(str(s), set()).add(str(o))
        self._parents = parents
        self._supers: dict[str, frozenset[str]] = {}
        self._by_type: dict[str, tuple[NodeShape, ...]] = {}
        self._by_token: dict[str, tuple[NodeShape, ...]] = {}
        self._plans: dict[tuple, tuple[PropertyShape, ...]] = {}
        #: (types, targeted predicates, targeted node, severities) -> compiled plan
        self._type_plans: dict[tuple, tuple[tuple, ...]] = {}
        self._runs: dict[PropertyShape, Callable[..., None]] = {}
        self._by_predicate: dict[str, list[NodeShape]] = {}
        #: sh:targetNode focus nodes (IRI, or ``_:label``) -> their shapes
        self.by_node: dict[str, list[NodeShape]] = {}
        for shape in self.node_shapes:
            for predicate in shape.target_subjects_of:
                self._by_predicate.setdefault(predicate, []).append(shape)
            for target in shape.target_nodes:
                self.by_node.setdefault(target, []).append(shape)
        self._target_predicates = tuple(sorted(self._by_predicate))
        #: predicate -> classes its values must have (sh:class of any property shape)
        self.class_predicates: dict[str, tuple[str, ...]] = {}
        self._class_tokens: dict[str, tuple[str, ...]] | None = None
        for shape in self.node_shapes:
            for prop in shape.properties:
                classes = [c.arg for c in prop.checks if c.kind == "class"]
                if classes:
                    known = self.class_predicates.get(prop.path, ())
                    self.class_predicates[prop.path] = tuple(sorted(set(known) | set(classes)))
        #: IRI -> its rdf:type values in the ontology
        self.ontology_types: dict[str, frozenset[str]] = {}
        types: dict[str, set[str]] = {}
        for s, o in ontology.subject_objects(RDF.type):
            if isinstance(s, URIRef) and isinstance(o, URIRef):
                types.setdefault(str(s), set()).add(str(o))
        self.ontology_types = {k: frozenset(v) for k, v in types.items()}

    # ------------------------------------------------------------------ classes
    def supers(self, cls: str) -> frozenset[str]:
        """``cls`` and every class it is an rdfs:subClassOf, transitively."""
        found = self._supers.get(cls)
        if found is None:
            seen = {cls}
            todo = [cls]
            while todo:
                for parent in self._parents.get(todo.pop(), ()):
                    if parent not in seen:
                        seen.add(parent)
                        todo.append(parent)
            found = self._supers[cls] = frozenset(seen)
        return found

    def is_instance(self, types: Iterable[str], cls: str) -> bool:
        return any(cls in self.supers(t) for t in types)

    def shapes_for_type(self, cls: str) -> tuple[NodeShape, ...]:
        found = self._by_type.get(cls)
        if found is None:
            supers = self.supers(cls)
            found = self._by_type[cls] = tuple(
                s for s in self.node_shapes if supers.intersection(s.target_classes))
        return found

    # ------------------------------------------------------------------ pages
    def local_class_failures(self, lines: Iterable[str]) -> set[tuple[str, str]]:
        """(value IRI, class) pairs of ``sh:class`` checks that the triples of one page (with
        the ontology) do not satisfy: the value is typed elsewhere, or nowhere.

        A value a page types with the class satisfies the check in the whole release too
        (more triples can only add types), so only these pairs are looked up again later.
        """
        types: dict[str, list[str]] = {}
        wanted: set[tuple[str, str]] = set()
        class_tokens = self._class_tokens
        if class_tokens is None:  # the predicates as their line tokens: no slicing per line
            class_tokens = self._class_tokens = {
                f"<{p}>": classes for p, classes in self.class_predicates.items()}
        type_token = _RDF_TYPE_TOKEN
        for line in lines:
            subject, predicate, rest = line.split(" ", 2)
            if predicate == type_token and rest[0] == "<":
                key = subject[1:-1] if subject[0] == "<" else subject
                types.setdefault(key, []).append(rest[1:rest.index(">")])
            classes = class_tokens.get(predicate)
            if classes and rest[0] == "<":
                value = rest[1:rest.index(">")]
                for cls in classes:
                    wanted.add((value, cls))
        failures = set()
        supers = self.supers
        ontology_types = self.ontology_types
        for value, cls in wanted:
            if any(cls in supers(t) for t in types.get(value, ())):
                continue
            if not any(cls in supers(t) for t in ontology_types.get(value, ())):
                failures.add((value, cls))
        return failures

    # ------------------------------------------------------------------ subjects
    def check_subject(self, subject: str, pairs: list[tuple[str, str]],
                      class_ok: Callable[[str, str], bool | None],
                      severities: frozenset[str] | None = None,
                      ) -> tuple[list[Result], list[tuple[Result, str, str]]]:
        """Results for one focus node from all its triples ``(predicate, object)``.

        ``class_ok(value, cls)`` says whether an IRI value is an instance of ``cls``, or None
        when that is not known yet; such checks come back as pending ``(result, value, cls)``.
        """
        return self.check_values(subject, values_of(pairs), class_ok, severities)

    def check_values(self, subject: str, values: dict[str, list[str]],
                     class_ok: Callable[[str, str], bool | None],
                     severities: frozenset[str] | None = None,
                     ) -> tuple[list[Result], list[tuple[Result, str, str]]]:
        """``check_subject`` of a subject's triples as ``values_of`` gives them."""
        results: list[Result] = []
        pending: list[tuple[Result, str, str]] = []
        if "\\" in subject:
            subject = unescape(subject)
        typed = values.get(RDF_TYPE)
        types = tuple(typed) if typed else ()
        if self._by_predicate or self.by_node:
            key: tuple = (types, tuple(p for p in self._target_predicates if p in values),
                          subject if subject in self.by_node else None, severities)
        else:  # the bundled shapes: only sh:targetClass, so the types decide the plan
            key = (types, severities)
        plan = self._type_plans.get(key)
        if plan is None:
            plan = self._type_plans[key] = self._subject_plan(subject, types, values,
                                                              severities)
        for path, severity, message, missing, run in plan:
            tokens = values.get(path)
            if tokens is None:  # no value: only sh:minCount and sh:hasValue can fail
                for _ in range(missing):
                    results.append(Result(severity, subject, path, message, ""))
            else:
                run(subject, tokens, class_ok, results, pending)
        return results, pending

    def _subject_plan(self, subject: str, types: tuple[str, ...], values: dict[str, Any],
                      severities: frozenset[str] | None) -> tuple[tuple, ...]:
        """The compiled property checks of a focus node: (path, severity, message, results
        when it has no value, the check of its values)."""
        shapes: set[NodeShape] = set()
        for token in types:
            shapes.update(self._shapes_for_token(token))
        for predicate in values:
            targeted = self._by_predicate.get(predicate)
            if targeted:
                shapes.update(targeted)
        shapes.update(self.by_node.get(subject, ()))
        return tuple((prop.path, prop.severity, prop.message,
                      (1 if prop.min_count else 0) + len(prop.has_value), self._run(prop))
                     for prop in self._plan(frozenset(shapes), severities))

    def __getstate__(self) -> dict[str, Any]:
        """What a pickle holds (a checker goes to a cluster's workers): the compiled plans and
        property runs are closures, made again where the checker is used."""
        state = self.__dict__.copy()
        state["_runs"], state["_type_plans"] = {}, {}
        return state

    def _run(self, prop: PropertyShape) -> Callable[..., None]:
        found = self._runs.get(prop)
        if found is None:
            found = self._runs[prop] = compile_property(prop)
        return found

    def _shapes_for_token(self, token: str) -> tuple[NodeShape, ...]:
        """The node shapes that target the class of an rdf:type object token."""
        found = self._by_token.get(token)
        if found is None:
            found = self._by_token[token] = (
                self.shapes_for_type(unescape(token[1:-1])) if token[0] == "<" else ())
        return found

    def _plan(self, shapes: frozenset[NodeShape], severities: frozenset[str] | None
              ) -> tuple[PropertyShape, ...]:
        """The property shapes a focus node of ``shapes`` is checked against, shape by shape
        (a property shape of two node shapes is checked twice, as pyshacl does)."""
        key = (shapes, severities)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = tuple(
                prop for shape in shapes for prop in shape.properties
                if severities is None or prop.severity in severities)
        return plan


def values_of(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """A subject's ``(predicate, object)`` pairs as predicate -> its objects."""
    values: dict[str, list[str]] = {}
    for predicate, token in pairs:
        found = values.get(predicate)
        if found is None:
            values[predicate] = [token]
        else:
            found.append(token)
    return values


def compile_property(prop: PropertyShape) -> Callable[..., None]:
    """The check of a property shape on a focus node's values (at least one):
    ``run(focus, tokens, class_ok, results, pending)`` appends its results and its pending
    ``sh:class`` checks, as pyshacl decides each constraint."""
    severity, path, message = prop.severity, prop.path, prop.message
    min_count, max_count, unique_lang = prop.min_count, prop.max_count, prop.unique_lang
    has_value = prop.has_value
    #: (class, None) for sh:class, (None, test of one value) for the others, in order
    steps = tuple((check.arg, None) if check.kind == "class" else (None, value_test(check))
                  for check in prop.checks)

    def run(focus: str, tokens: list[str], class_ok: Callable[[str, str], bool | None],
            results: list[Result], pending: list[tuple[Result, str, str]]) -> None:
        if len(tokens) > 1:
            distinct: dict[Any, str] = {}
            for token in tokens:
                distinct.setdefault(identity(token), token)
            tokens = list(distinct.values())
        count = len(tokens)
        if min_count is not None and count < min_count:
            results.append(Result(severity, focus, path, message, ""))
        if max_count is not None and count > max_count:
            results.append(Result(severity, focus, path, message, ""))
        if unique_lang:
            languages: dict[str, int] = {}
            for token in tokens:
                if token[-1] not in '">' and token[0] == '"':  # "…"@lang
                    language = token[token.rindex('"') + 2:].lower()
                    languages[language] = languages.get(language, 0) + 1
            for language in sorted(languages):
                if languages[language] > 1:
                    results.append(Result(severity, focus, path, message, ""))
        if has_value:
            identities = {identity(t) for t in tokens}
            for wanted in has_value:
                if wanted not in identities:
                    results.append(Result(severity, focus, path, message, ""))
        for cls, test in steps:
            if test is not None:
                for token in tokens:
                    if not test(token):
                        results.append(Result(severity, focus, path, message,
                                              value_string(token)))
                continue
            for token in tokens:
                if token[0] != "<" and not token.startswith("_:"):
                    results.append(Result(severity, focus, path, message,
                                          value_string(token)))
                    continue
                value = unescape(token[1:-1]) if token[0] == "<" else token
                ok = class_ok(value, cls)
                if ok is None:
                    pending.append((Result(severity, focus, path, message,
                                           value_string(token)), value, cls))
                elif not ok:
                    results.append(Result(severity, focus, path, message,
                                          value_string(token)))

    return run


# --------------------------------------------------------------------------- entry points


@lru_cache(maxsize=1)
def default_checker() -> ShapeChecker:
    """The bundled shapes and ontology, compiled (raises Unsupported if they cannot be)."""
    from tierslieux.ontology import load_shapes, ontology_graph

    return ShapeChecker(load_shapes(), ontology_graph())


@lru_cache(maxsize=1)
def ontology_lines() -> tuple[str, ...]:
    """The ontology as sorted N-Triples lines: the data graph pyshacl validates holds it."""
    from tierslieux.ontology import ontology_graph

    return graph_lines(ontology_graph())


#: what moved to shacl_stream.py (the validation of a whole release), still importable from here
_MOVED = frozenset({"validate_triples", "subject_types", "validate_lines", "validate_data_graph",
                    "validate_pages"})


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        from tierslieux.validation import shacl_stream

        return getattr(shacl_stream, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
