"""The compiled shapes (tierslieux.validation.shacl) give the report pyshacl gives.

The build validates a release subject by subject, with each page's ``sh:class`` checks resolved
where the page mints its values; ``validate.validate_graph`` runs pyshacl on one graph. Both
must agree, result for result, on the sample and on broken variants of it, including triples
that only make sense with another page (a value typed elsewhere, an entity two pages describe).
"""

from __future__ import annotations

import pytest
from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV

from test_map import (  # noqa: F401 - session fixtures shared with the map tests
    mapper,
    mapping,
    sample,
    sample_mapped,
    sample_site,
)
from tierslieux.ontology.namespace import TL
from tierslieux.model.rdf import DEFAULT_BASE_IRI, nt_line
from tierslieux.model.records import MappedPage
from tierslieux.validation.shacl import (
    ShapeChecker,
    Unsupported,
    compile_shapes,
    validate_lines,
    validate_pages,
)
from tierslieux.validation.reference import validate_graph

BASE = DEFAULT_BASE_IRI
WIP = URIRef(BASE + "place/Le_WIP")
MYNE = URIRef(BASE + "place/La_Myne")
WIP_PAGE = URIRef(BASE + "page/Le_WIP")
SECTION = URIRef(BASE + "page/Le_WIP/section/le-lieu")
OTHER = URIRef(BASE + "place/Ailleurs")
INTEGER = XSD.integer

#: name -> (triples to remove, triples to add in a page of their own)
MUTATIONS = {
    "broken postcode": ([(WIP, TL.postalCode, None)], [(WIP, TL.postalCode, Literal("14 46O"))]),
    "no name": ([(MYNE, TL.name, None)], []),
    "level of the wrong class": ([], [(SECTION, TL.concernsLevel, TL["theme-autre"])]),
    "website as text": ([], [(WIP, TL.website, Literal("https://www.le-wip.com/"))]),
    "open with a closing date": ([(WIP, TL.status, None)], [(WIP, TL.status, TL["status-open"])]),
    "section without provenance": ([(SECTION, PROV.wasDerivedFrom, None)], []),
    "two titles": ([], [(WIP_PAGE, TL.title, Literal("Autre titre"))]),
    "order as text": ([(SECTION, TL.order, None)], [(SECTION, TL.order, Literal("1"))]),
    "level out of range": ([(SECTION, TL.level, None)],
                           [(SECTION, TL.level, Literal(9, datatype=INTEGER))]),
    "ill-typed integer": ([(SECTION, TL.order, None)],
                          [(SECTION, TL.order, Literal("abc", datatype=INTEGER))]),
    "one number spelt twice": ([(SECTION, TL.level, None)],
                               [(SECTION, TL.level, Literal("02", datatype=INTEGER,
                                                            normalize=False)),
                                (SECTION, TL.level, Literal("2", datatype=INTEGER))]),
    "label as an IRI": ([(WIP, RDFS.label, None)], [(WIP, RDFS.label, TL.Theme)]),
    "label as a number": ([(WIP, RDFS.label, None)], [(WIP, RDFS.label, Literal(3))]),
    "language-tagged name": ([(WIP, TL.name, None)], [(WIP, TL.name, Literal("Le WIP", lang="fr"))]),
    "typed string is a string": ([(WIP, TL.email, None)],
                                 [(WIP, TL.email, Literal("a@b.fr", datatype=XSD.string))]),
    "bad e-mail and phone": ([], [(WIP, TL.email, Literal("nope")),
                                  (WIP, TL.phone, Literal("02 52"))]),
    "date instead of dateTime": ([(WIP_PAGE, DCTERMS.modified, None)],
                                 [(WIP_PAGE, DCTERMS.modified,
                                   Literal("2020-01-01", datatype=XSD.date))]),
    "address as text": ([(WIP_PAGE, TL.pageAddress, None)],
                        [(WIP_PAGE, TL.pageAddress, Literal("https://movilab.org/wiki/Le_WIP"))]),
    "empty title": ([(WIP_PAGE, TL.title, None)], [(WIP_PAGE, TL.title, Literal(""))]),
    "item pointing to a section": ([], [(SECTION, TL.hasItem, SECTION)]),
    "value typed on another page": ([], [
        (WIP, TL.memberOf, URIRef(BASE + "network/ailleurs")),
        (URIRef(BASE + "network/ailleurs"), RDF.type, TL.Network),
        (URIRef(BASE + "network/ailleurs"), RDFS.label, Literal("Ailleurs")),
        (URIRef(BASE + "network/ailleurs"), TL.name, Literal("Ailleurs")),
        (URIRef(BASE + "network/ailleurs"), PROV.wasDerivedFrom,
         URIRef("https://movilab.org/index.php?oldid=1")),
    ]),
    "value typed nowhere": ([], [(WIP, TL.memberOf, URIRef(BASE + "network/nulle-part"))]),
    "a place that is also a network": ([], [(WIP, RDF.type, TL.Network)]),
    "a record described by two pages": ([], [
        (OTHER, RDF.type, TL.ThirdPlace), (OTHER, TL.name, Literal("Ailleurs")),
        (OTHER, TL.name, Literal("Ailleurs bis")), (OTHER, RDFS.label, Literal("Ailleurs")),
    ]),
    "an ontology concept used as a subject": ([], [(TL["theme-autre"], TL.name, Literal("x"))]),
    "negative order": ([(SECTION, TL.order, None)],
                       [(SECTION, TL.order, Literal(-1))]),
}


def pages_after(sample_mapped: dict[str, MappedPage], remove, add) -> list[list[str]]:
    """The sample's pages with ``remove`` taken out of every page and ``add`` as a new page."""
    pages = []
    for mapped in sample_mapped.values():
        graph = Graph().parse(data="\n".join(mapped.triples) + "\n", format="nt")
        for pattern in remove:
            graph.remove(pattern)
        pages.append(sorted(nt_line(t) for t in graph))
    pages.append(sorted(nt_line(t) for t in add))
    return pages


def graph_of_pages(pages: list[list[str]]) -> Graph:
    lines = sorted({line for page in pages for line in page})
    return Graph().parse(data="\n".join(lines) + "\n", format="nt")


def test_the_sample_gives_the_same_report(sample_mapped: dict[str, MappedPage]) -> None:
    pages = [list(m.triples) for m in sample_mapped.values()]
    expected = validate_graph(graph_of_pages(pages))
    assert expected.warnings  # the sample has soft problems: the comparison means something
    assert validate_pages(pages) == expected
    assert validate_lines(lambda: iter(sorted({line for page in pages for line in page}))
                          ) == expected


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_broken_variants_give_the_same_report(sample_mapped: dict[str, MappedPage],
                                              name: str) -> None:
    remove, add = MUTATIONS[name]
    pages = pages_after(sample_mapped, remove, add)
    expected = validate_graph(graph_of_pages(pages))
    got = validate_pages(pages)
    assert got.violations == expected.violations
    assert got.conforms == expected.conforms
    # a published release is checked from its sorted dump, every sh:class decided from the
    # subjects' types (tierslieux validate)
    lines = sorted({line for page in pages for line in page})
    from_dump = validate_lines(lambda: iter(lines))
    assert from_dump.violations == expected.violations
    assert from_dump.conforms == expected.conforms


def test_only_violations_when_asked(sample_mapped: dict[str, MappedPage]) -> None:
    remove, add = MUTATIONS["broken postcode"]
    pages = pages_after(sample_mapped, remove, add)
    report = validate_pages(pages, severities=frozenset({"violation"}))
    assert [v.path for v in report.violations] == [str(TL.postalCode)]
    assert report.violations == validate_graph(graph_of_pages(pages)).errors


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


# ------------------------------------------------------------------ blank nodes

BLANK_DATA = """
<https://x.example/bob> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://x.example/Person> .
<https://x.example/bob> <https://x.example/knows> _:alice .
_:alice <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://x.example/Person> .
_:alice <https://x.example/name> "Alice" .
_:alic <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://x.example/Person> .
_:alic <https://x.example/knows> _:nobody .
"""
BLANK_SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix x: <https://x.example/> .
x:S a sh:NodeShape ; sh:targetClass x:Person ;
  sh:property [ sh:path x:name ; sh:minCount 1 ; sh:message "a person has a name" ] ,
              [ sh:path x:knows ; sh:class x:Person ; sh:message "knows a person" ] ,
              [ sh:path x:knows ; sh:nodeKind sh:IRI ; sh:message "knows by IRI" ] .
"""


def test_blank_nodes_keep_their_labels_and_agree_with_pyshacl() -> None:
    """``_:alice`` and ``_:alic`` are two nodes (labels were once cut to ``:alic``)."""
    from pyshacl import validate

    from tierslieux.validation.shacl import validate_data_graph

    data = Graph().parse(data=BLANK_DATA, format="nt")
    shapes = Graph().parse(data=BLANK_SHAPES, format="turtle")
    compiled = validate_data_graph(data, shapes)
    found = sorted((v.focus, v.message, v.value) for v in compiled.violations)
    _, report, _ = validate(data, shacl_graph=shapes, inference="none")
    expected = sorted(
        (str(report.value(r, SH_FOCUS)), str(report.value(r, SH_MESSAGE)),
         str(report.value(r, SH_VALUE) or ""))
        for r in report.subjects(RDF.type, URIRef("http://www.w3.org/ns/shacl#ValidationResult")))
    assert found == expected and len(found) == 5
    # bob has no name and knows alice by a blank node; "alic" has no name and knows a node
    # of no type; alice conforms
    assert [m for f, m, _ in found if f == "https://x.example/bob"] == [
        "a person has a name", "knows by IRI"]


SH_FOCUS = URIRef("http://www.w3.org/ns/shacl#focusNode")
SH_MESSAGE = URIRef("http://www.w3.org/ns/shacl#resultMessage")
SH_VALUE = URIRef("http://www.w3.org/ns/shacl#value")


def test_a_dump_with_blank_nodes_is_validated_not_crashed() -> None:
    """What ``tierslieux validate`` streams: sorted N-Triples lines with blank nodes, whose
    labels are kept whole (``_:alice`` and ``_:alic`` were once both cut to ``:alic``)."""
    lines = sorted([
        f"<{WIP}> <{RDF.type}> <{TL.ThirdPlace}> .",
        f"<{WIP}> <{TL.name}> \"Le WIP\" .",
        f"<{WIP}> <{TL.memberOf}> _:alice .",
        f"<{WIP}> <{TL.memberOf}> _:alic .",
        f"_:alice <{RDF.type}> <{TL.Network}> .",
        f"_:alice <{TL.name}> \"Alice\" .",
        f"_:alic <{TL.name}> \"Alic\" .",
    ])
    report = validate_lines(lambda: iter(lines))
    assert not report.conforms
    member_of = [v for v in report.violations if v.path == str(TL.memberOf)]
    assert [v.value for v in member_of] == ["alic"]  # alice is a network, alic is not
    assert {v.focus for v in report.violations} == {str(WIP), "alice"}
