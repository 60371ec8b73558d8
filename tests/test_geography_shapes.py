"""The SHACL shapes of the official geography (shapes.ttl, "the official geography"): broken
variants of the sample's collectivities are refused, by the compiled shapes and by pyshacl
alike — an INSEE code of the wrong form, two levels, a level of another kind, a parent of the
wrong class, a commune without a département."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef

from test_map import (  # noqa: F401 - session fixtures shared with the map tests
    mapper,
    mapping,
    sample,
    sample_mapped,
    sample_site,
)
from test_shacl import graph_of_pages, pages_after
from tierslieux.ontology.namespace import TL
from tierslieux.model.rdf import DEFAULT_BASE_IRI
from tierslieux.validation.shacl import validate_pages
from tierslieux.validation.reference import validate_graph

C = DEFAULT_BASE_IRI + "collectivity/"
COLOMBELLES, EPCI = URIRef(C + "commune/14167"), URIRef(C + "epci/200065597")
CALVADOS, NORMANDIE = URIRef(C + "departement/14"), URIRef(C + "region/28")
WIP = URIRef(DEFAULT_BASE_IRI + "place/Le_WIP")

#: name -> (triples to remove, triples to add, a word of the expected message)
MUTATIONS = {
    "commune code of four digits": ([(COLOMBELLES, TL.inseeCode, None)],
                                    [(COLOMBELLES, TL.inseeCode, Literal("1416"))],
                                    "INSEE code of five characters"),
    "two levels": ([], [(COLOMBELLES, TL.level, TL["level-quartier"])], "exactly one tl:level"),
    "a commune at the level of a région": ([(COLOMBELLES, TL.level, None)],
                                           [(COLOMBELLES, TL.level, TL["level-region"])],
                                           "tl:level-commune"),
    "an EPCI at the level of a commune": ([(EPCI, TL.level, None)],
                                          [(EPCI, TL.level, TL["level-commune"])],
                                          "tl:level-epci or one of its narrower"),
    "a département in a commune": ([(CALVADOS, TL.inRegion, None)],
                                   [(CALVADOS, TL.inRegion, COLOMBELLES)], "tl:Region"),
    "a commune without its département": ([(COLOMBELLES, TL.inDepartement, None)], [],
                                          "exactly one tl:Departement"),
    "a place whose EPCI is a région": ([(WIP, TL.inEpci, None)], [(WIP, TL.inEpci, NORMANDIE)],
                                       "tl:Epci"),
    "an EPCI with an INSEE code": ([], [(EPCI, TL.inseeCode, Literal("14167"))],
                                   "its code is its SIREN"),
    "a région code of one digit": ([(NORMANDIE, TL.inseeCode, None)],
                                   [(NORMANDIE, TL.inseeCode, Literal("8"))], "région has one"),
    "two official names": ([], [(NORMANDIE, TL.officialName, Literal("Basse-Normandie"))],
                           "exactly one tl:officialName"),
}


def test_the_sample_conforms(sample_mapped) -> None:  # noqa: F811
    pages = [list(m.triples) for m in sample_mapped.values()]
    report = validate_pages(pages)
    assert report.conforms, report.violations


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_broken_geography_is_refused(sample_mapped, name: str) -> None:  # noqa: F811
    remove, add, word = MUTATIONS[name]
    pages = pages_after(sample_mapped, remove, add)
    expected = validate_graph(graph_of_pages(pages))
    got = validate_pages(pages)
    assert not got.conforms
    assert got.violations == expected.violations
    assert any(word in v.message for v in got.violations), got.violations
