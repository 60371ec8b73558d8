"""The validation of a whole release with the compiled shapes (shacl.py): a stream of subjects.

The triples of one subject are contiguous in triple order, so ``validate_triples`` checks a
release subject by subject with ``ShapeChecker.check_subject``, holding only what some
``sh:class`` check still waits for; the pages of the few focus nodes with results are found in
more passes. ``validate_lines`` reads a published dump, ``validate_pages`` the lines of some
pages as the build validates them, ``validate_data_graph`` any rdflib graph (the W3C suite).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rdflib import Graph

from tierslieux.model.lines import subject_groups
from tierslieux.model.rdf import RDF_TYPE, parse_object, unescape
from tierslieux.validation.report import ValidationReport, Violation
from tierslieux.validation.shacl import (
    Result,
    ShapeChecker,
    Triple,
    default_checker,
    ontology_lines,
    values_of,
)
from tierslieux.validation.shacl_cache import GroupResults, ShaclCache, group_digest, groups
from tierslieux.validation.shapes import (
    RDFS_SUBCLASS,
    SEVERITY_ORDER,
    Unsupported,
    graph_lines,
    node_string,
    value_string,
)


def validate_triples(checker: ShapeChecker, triples: Callable[[], Iterable[Triple]],
                     unresolved: set[tuple[str, str]] | frozenset = frozenset(),
                     severities: frozenset[str] | None = None,
                     types: dict[str, frozenset[str]] | None = None,
                     cache: ShaclCache | None = None,
                     keyed: Callable[[], Iterable[tuple[str, Callable[[], list]]]] | None = None,
                     ) -> ValidationReport:
    """Validate a release given as triples in triple order (the data and the ontology).

    ``triples`` is called once, and a second time only when some results need the titles of
    their pages. ``unresolved`` are the ``(value, class)`` pairs some page could not decide
    (``local_class_failures``); every other ``sh:class`` check is satisfied. With ``types``
    (the rdf:types of every subject, see ``subject_types``) every ``sh:class`` check is
    decided from them instead. With ``cache`` (and no ``types``), the results of each group
    of subjects that did not change are taken from it (shacl_cache.py): the same report;
    ``keyed`` then gives the same triples as groups named by their bytes
    (``shacl_groups.key_groups``), split only for the groups the cache misses.
    """
    wanted_values = {value for value, _ in unresolved}
    global_types: dict[str, set[str]] = {}

    def class_ok(value: str, cls: str) -> bool | None:
        if types is not None:
            return checker.is_instance(types.get(value, ()), cls)
        return None if (value, cls) in unresolved else True

    results: list[Result] = []
    pending: list[tuple[Result, str, str]] = []
    unseen = set(checker.by_node)  # sh:targetNode foci: checked even without any triple
    if cache is not None and types is None:
        named = keyed() if keyed is not None else (
            (group_digest(group), lambda group=group: group) for group in groups(triples()))
        for digest, load in named:
            cache.used.add(digest)
            found_group = cache.get(digest)
            if found_group is None or not found_group.still_valid(class_ok):
                found_group = _check_group(checker, load(), class_ok, severities)
                cache.put(digest, found_group)
                cache.checked += 1
            else:
                cache.reused += 1
            results.extend(Result(*r) for r in found_group.results)
            pending.extend((Result(*r[:5]), r[5], r[6]) for r in found_group.pending)
            for subject, found_types in found_group.types:
                if subject in wanted_values:
                    global_types[subject] = set(found_types)
            unseen.difference_update(found_group.nodes)
        cache.prune()
    else:
        for subject, pairs in subject_groups(triples()):
            if subject in wanted_values:
                global_types[subject] = {
                    unescape(o[1:-1]) for p, o in pairs if p == RDF_TYPE and o[0] == "<"}
            if unseen:
                unseen.discard(unescape(subject))
            found, waiting = checker.check_subject(subject, pairs, class_ok, severities)
            results.extend(found)
            pending.extend(waiting)
    for subject in sorted(unseen):
        found, waiting = checker.check_subject(subject, [], class_ok, severities)
        results.extend(found)
        pending.extend(waiting)
    for result, value, cls in pending:
        if not checker.is_instance(global_types.get(value, ()), cls):
            results.append(result)
    pages = _pages(results, triples) if results else {}
    violations = [
        Violation(severity=r.severity, focus=node_string(r.focus), path=r.path,
                  message=r.message,
                  value=r.value, pages=pages[r.focus][0], addresses=pages[r.focus][1])
        for r in results
    ]
    violations.sort(key=lambda v: (SEVERITY_ORDER[v.severity], v.pages, v.focus, v.path, v.message,
                                   v.value))
    return ValidationReport(
        conforms=not any(v.severity == "violation" for v in violations),
        violations=tuple(violations),
    )


def _check_group(checker: ShapeChecker, group: list[tuple[str, list]], class_ok: Any,
                 severities: frozenset[str] | None) -> GroupResults:
    """Check a group of subjects, noting every ``class_ok`` question and its answer."""
    asked: dict[tuple[str, str], bool | None] = {}

    def asking(value: str, cls: str) -> bool | None:
        answer = asked[(value, cls)] = class_ok(value, cls)
        return answer

    results: list[tuple[str, ...]] = []
    pending: list[tuple[str, ...]] = []
    typed: list[tuple[str, tuple[str, ...]]] = []
    nodes: list[str] = []
    by_node = checker.by_node
    for subject, pairs in group:
        values = values_of(pairs)
        type_tokens = values.get(RDF_TYPE)
        if type_tokens:
            found_types = sorted({unescape(o[1:-1]) for o in type_tokens if o[0] == "<"})
            if found_types:
                typed.append((subject, tuple(found_types)))
        if by_node:
            plain = unescape(subject)
            if plain in by_node:
                nodes.append(plain)
        found, waiting = checker.check_values(subject, values, asking, severities)
        if found:
            results.extend(_fields(r) for r in found)
        if waiting:
            pending.extend(_fields(r) + (value, cls) for r, value, cls in waiting)
    return GroupResults(tuple(results), tuple(pending),
                        tuple((v, c, a) for (v, c), a in sorted(asked.items(),
                                                                 key=lambda item: item[0])),
                        tuple(typed), tuple(nodes))


def _fields(result: Result) -> tuple[str, ...]:
    return (result.severity, result.focus, result.path, result.message, result.value)


_WAS_DERIVED_FROM = "http://www.w3.org/ns/prov#wasDerivedFrom"
_TL = "https://w3id.org/tierslieux/ontology#"


def _pages(results: list[Result], triples: Callable[[], Iterable[Triple]]
           ) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """The titles and addresses of the pages each focus node comes from, as validate.py's
    ``_pages_of`` finds them: two more passes over the triples, for the few focus nodes."""
    foci = {r.focus for r in results}
    revisions: dict[str, set[str]] = {f: set() for f in foci}
    pages_of: dict[str, set[str]] = {f: set() for f in foci}
    wiki_page, revision_class = f"<{_TL}WikiPage>", f"<{_TL}Revision>"
    for subject, pairs in subject_groups(triples()):
        if subject not in foci:
            continue
        kinds = {o for p, o in pairs if p == RDF_TYPE}
        if wiki_page in kinds:
            pages_of[subject].add(subject)
        for p, o in pairs:
            if p == _WAS_DERIVED_FROM and o[0] == "<":
                revisions[subject].add(unescape(o[1:-1]))
        if revision_class in kinds:
            revisions[subject].add(subject)
    wanted_revisions = set().union(*revisions.values())
    of_page: dict[str, set[str]] = {}
    info: dict[str, tuple[str, str]] = {}
    for subject, pairs in subject_groups(triples()):
        if subject in wanted_revisions:
            of_page[subject] = {unescape(o[1:-1]) for p, o in pairs
                                if p == _TL + "ofPage" and o[0] == "<"}
    wanted_pages = set().union(*pages_of.values(), *of_page.values())
    for subject, pairs in subject_groups(triples()):
        if subject in wanted_pages:
            title = next((parse_object(o).value for p, o in sorted(pairs)
                          if p == _TL + "title"), "")
            address = next((value_string(o) for p, o in sorted(pairs)
                            if p == _TL + "pageAddress"), "")
            info[subject] = (title, address)
    out = {}
    for focus in foci:
        pages = set(pages_of[focus])
        for revision in revisions[focus]:
            pages |= of_page.get(revision, set())
        titles = sorted({info.get(p, ("", ""))[0] or p for p in pages})
        addresses = sorted({info.get(p, ("", ""))[1] for p in pages} - {""})
        out[focus] = (tuple(titles), tuple(addresses))
    return out


def subject_types(triples: Iterable[Triple]) -> dict[str, frozenset[str]]:
    """The rdf:types of each typed subject (IRIs unescaped); equal sets are shared, so that
    this costs little more than the subjects' IRIs."""
    shared: dict[frozenset[str], frozenset[str]] = {}
    types: dict[str, frozenset[str]] = {}
    for subject, pairs in subject_groups(triples):
        found = frozenset(unescape(o[1:-1]) for p, o in pairs if p == RDF_TYPE and o[0] == "<")
        if found:
            types[unescape(subject) if "\\" in subject else subject] = shared.setdefault(
                found, found)
    return types


def validate_lines(lines: Callable[[], Iterable[str]],
                   severities: frozenset[str] | None = None, *,
                   shapes: Graph | None = None, ontology: Graph | None = None
                   ) -> ValidationReport:
    """Validate a release given as its N-Triples lines, distinct and sorted (``lines()`` is
    called a few times: the dump of a published release, read again each time), with the
    ontology, in a few streaming passes: the subjects' types, then subject by subject. Memory
    holds the types of the subjects, not the triples. Raises Unsupported like
    ``default_checker``, and for lines that are not sorted or that define classes (the
    compiled hierarchy is the ontology's): the caller then runs pyshacl.

    ``shapes`` and ``ontology`` (graphs) replace the bundled ones, e.g. those published in a
    release folder."""
    import heapq

    from tierslieux.model.rdf import split_line

    if shapes is None and ontology is None:
        checker, ontology_nt = default_checker(), ontology_lines()
    else:
        from tierslieux.ontology import load_ontology, load_shapes

        ontology = load_ontology() if ontology is None else ontology
        checker = ShapeChecker(load_shapes() if shapes is None else shapes, ontology)
        ontology_nt = graph_lines(ontology)

    def data() -> Iterator[str]:
        previous = ""
        for line in lines():
            if line < previous:
                raise Unsupported("a dump whose lines are not sorted")
            if f"> <{RDFS_SUBCLASS}> " in line:  # the hierarchy comes from the ontology alone
                raise Unsupported("data that defines classes (rdfs:subClassOf)")
            previous = line
            yield line

    def triples() -> Iterator[Triple]:
        previous = None
        for line in heapq.merge(data(), ontology_nt):
            if line != previous:
                previous = line
                yield split_line(line)

    return validate_triples(checker, triples, severities=severities,
                            types=subject_types(triples()))


def validate_data_graph(data: Graph, shapes: Graph, *, messages: bool = True
                        ) -> ValidationReport:
    """Validate an rdflib graph, blank nodes included, with the compiled ``shapes``; the class
    hierarchy is the data graph's own (rdfs:subClassOf, as SHACL defines sh:class and
    sh:targetClass). Raises Unsupported for shapes or data this module does not check: run
    pyshacl then. ``messages``: see ``compile_shapes``."""
    from tierslieux.model.lines import triple_order

    checker = ShapeChecker(shapes, data, messages=messages)
    ordered = triple_order(sorted(graph_lines(data, blank_nodes=True)))
    return validate_triples(checker, lambda: ordered, types=subject_types(ordered))


def validate_pages(pages: Iterable[Iterable[str]],
                   severities: frozenset[str] | None = None) -> ValidationReport:
    """Validate the N-Triples lines of some pages (with the ontology) the way the build does,
    in memory: each page resolves its ``sh:class`` checks, then the union is checked subject
    by subject. Gives the report ``validate.validate_graph`` gives for the union."""
    from tierslieux.model.lines import triple_order

    checker = default_checker()
    everything: set[str] = set(ontology_lines())
    unresolved = set(checker.local_class_failures(ontology_lines()))
    for lines in pages:
        lines = list(lines)
        unresolved |= checker.local_class_failures(lines)
        everything.update(lines)
    ordered = triple_order(sorted(everything))
    return validate_triples(checker, lambda: ordered, unresolved, severities)
