"""The compiled shapes (tierslieux.validation.shacl): what they refuse, what they resolve page
by page, severities.

That they give the report pyshacl gives, result for result, on the sample and on broken
variants of it (a value typed elsewhere, an entity two pages describe, blank nodes, the official
geography…), is shown over the case files of ``tests/cases/shacl/`` by
``tests/test_validation_cases.py``.
"""

from __future__ import annotations

import pytest
from rdflib import RDF, Graph, URIRef

from golden import CASES, Case
from test_validation_cases import graph_of, pages_of
from tierslieux.model.rdf import DEFAULT_BASE_IRI, nt_line
from tierslieux.model.records import MappedPage
from tierslieux.ontology.namespace import TL
from tierslieux.validation.engine import validate_graph
from tierslieux.validation.shacl import ShapeChecker, Unsupported, compile_shapes
from tierslieux.validation.shacl_stream import validate_lines, validate_pages

BASE = DEFAULT_BASE_IRI
WIP = URIRef(BASE + "place/Le_WIP")


def test_only_violations_when_asked(sample_mapped: dict[str, MappedPage]) -> None:
    case = Case("shacl", "broken_postcode", CASES / "shacl" / "broken_postcode")
    pages = pages_of(case, sample_mapped)
    report = validate_pages(pages, severities=frozenset({"violation"}))
    assert [v.path for v in report.violations] == [str(TL.postalCode)]
    assert report.violations == validate_graph(graph_of(sorted(
        {line for page in pages for line in page})), engine="pyshacl").errors


@pytest.mark.parametrize("shape", [
    "ex:S a sh:NodeShape ; sh:targetObjectsOf ex:a ; sh:property [ sh:path ex:p ; "
    "sh:minCount 1 ; sh:message 'm' ] .",
    "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ( ex:p ex:q ) ; "
    "sh:minCount 1 ; sh:message 'm' ] .",
    "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
    "sh:node ex:T ; sh:message 'm' ] .",
    "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:minCount 1 ] .",
])
def test_shapes_it_cannot_run_are_refused(shape: str) -> None:
    graph = Graph().parse(data="@prefix sh: <http://www.w3.org/ns/shacl#> . "
                               "@prefix ex: <http://example.org/> . " + shape, format="turtle")
    with pytest.raises(Unsupported):
        compile_shapes(graph)


def test_local_class_failures_name_only_what_the_page_cannot_type() -> None:
    from tierslieux.ontology import load_ontology, load_shapes

    checker = ShapeChecker(load_shapes(), load_ontology())
    lines = sorted(nt_line(t) for t in [
        (WIP, TL.memberOf, URIRef(BASE + "network/a")),
        (URIRef(BASE + "network/a"), RDF.type, TL.Network),
        (WIP, TL.memberOf, URIRef(BASE + "network/b")),
        (WIP, TL.theme, TL["theme-autre"]),  # typed by the ontology
    ])
    assert checker.local_class_failures(lines) == {(BASE + "network/b", str(TL.Network))}


@pytest.mark.parametrize("lines", [
    ["<https://x.example/b> <https://x.example/p> \"1\" .",
     "<https://x.example/a> <https://x.example/p> \"1\" ."],
    ["<https://x.example/A> <http://www.w3.org/2000/01/rdf-schema#subClassOf> "
     "<https://w3id.org/tierslieux/ontology#ThirdPlace> ."],
])
def test_dumps_the_compiled_shapes_cannot_decide_go_to_pyshacl(lines: list[str]) -> None:
    with pytest.raises(Unsupported):
        validate_lines(lambda: iter(lines))


def test_a_checker_that_has_checked_pickles_and_checks_the_same(
        sample_mapped: dict[str, MappedPage]) -> None:
    """A checker goes to a cluster's workers by pickle after it has compiled plans (closures,
    which pickle cannot hold): what it holds then checks as before."""
    import pickle

    from tierslieux.validation.shacl import default_checker

    checker = default_checker()
    case = Case("shacl", "broken_postcode", CASES / "shacl" / "broken_postcode")
    pages = pages_of(case, sample_mapped)
    before = validate_pages(pages)     # fills the checker's compiled plans
    assert checker._type_plans and checker._runs
    again = pickle.loads(pickle.dumps(checker))
    assert not again._type_plans and not again._runs
    from tierslieux.model.lines import subject_groups, triple_order

    subject_pairs = dict(subject_groups(triple_order(sorted(
        {line for page in pages for line in page}))))

    def known(value: str, cls: str) -> bool:
        return True

    found = []
    for subject, pairs in subject_pairs.items():
        results = again.check_subject(subject, pairs, known)
        assert results == checker.check_subject(subject, pairs, known)
        found.extend(result.path for result in results[0])
    assert str(TL.postalCode) in found   # the broken case's violation, from the copy too
    assert str(TL.postalCode) in [v.path for v in before.violations]


_LITERALS = [
    ("0", "integer"), ("1", "integer"), ("-3", "integer"), ("07", "integer"), ("6", "integer"),
    ("abc", "integer"), ("1.5", "decimal"), ("1.0", "decimal"), ("2", "int"),
    ("1e3", "double"), ("NaN", "double"), ("1.5", "float"), ("true", "boolean"),
    ("2024-01-31", "date"), ("2024-02-01", "date"), ("2024-13-01", "date"),
    ("2024-01-31T10:00:00", "dateTime"), ("2024-01-31T10:00:00Z", "dateTime"),
    ("2024-01-31T09:00:00-01:00", "dateTime"), ("10:00:00", "time"), ("09:30:00", "time"),
    ("abc", "string"), ("abd", "string"), ("", "string"), ("P1D", "duration"),
]


def test_compare_literal_is_pyshacls() -> None:
    """The copy of pyshacl's literal comparison (range constraints) gives its answers, or
    raises where it raises, on pairs of literals of the datatypes a wiki's values take."""
    from pyshacl.rdfutil.compare import compare_literal as pyshacl_compare
    from rdflib import XSD, Literal

    from tierslieux.validation.shapes import compare_literal

    literals = [Literal(text, datatype=XSD[kind]) for text, kind in _LITERALS] \
        + [Literal("abc"), Literal("abc", lang="fr")]
    answers = set()
    for first in literals:
        for second in literals:
            outcomes = []
            for compare in (compare_literal, pyshacl_compare):
                try:
                    outcomes.append(compare(first, second))
                except Exception as exc:  # noqa: BLE001 - the same error is the same answer
                    outcomes.append(type(exc).__name__)
            assert outcomes[0] == outcomes[1], (first, second)
            answers.add(outcomes[0])
    assert {-1, 0, 1, "TypeError"} <= answers
