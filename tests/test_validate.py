"""SHACL validation of mapped output (tierslieux.validation.reference)."""

from __future__ import annotations

from rdflib import Graph, Literal, URIRef

from storedpage import graph_of, stored_page
from tierslieux.ontology.namespace import TL
from tierslieux.model.rdf import DEFAULT_BASE_IRI
from tierslieux.pipeline.map import Mapper
from tierslieux.pipeline.parse import parse_page
from tierslieux.validation.reference import validate_graph

WIP = URIRef(DEFAULT_BASE_IRI + "place/Le_WIP")
MYNE = URIRef(DEFAULT_BASE_IRI + "place/La_Myne")


def copy(graph: Graph) -> Graph:
    out = Graph()
    for triple in graph:
        out.add(triple)
    return out


def test_the_sample_conforms(sample_graph: Graph) -> None:
    report = validate_graph(sample_graph)
    assert report.conforms
    assert report.errors == ()
    # soft rules only: the old-format places do not say their town
    assert {(v.severity, v.path.rsplit("#", 1)[-1], v.pages) for v in report.warnings} == {
        ("warning", "town", ("Au Comptoir Numérique",)),
        ("warning", "town", ("La Myne", "La Myne/2")),
    }


def test_a_broken_postcode_blocks_with_a_clear_report(sample_graph: Graph) -> None:
    graph = copy(sample_graph)
    graph.remove((WIP, TL.postalCode, None))
    graph.add((WIP, TL.postalCode, Literal("14 46O")))
    report = validate_graph(graph)
    assert not report.conforms
    (error,) = report.errors
    assert error.focus == str(WIP)
    assert error.path == str(TL.postalCode)
    assert error.value == "14 46O"
    assert error.pages == ("Le WIP",)
    assert error.addresses == ("https://movilab.org/wiki/Le_WIP",)
    line = error.describe()
    assert line.startswith("violation: Le WIP: postalCode:") and "14 46O" in line
    assert "five digits" in report.text()


def test_a_missing_required_field_blocks(sample_graph: Graph) -> None:
    graph = copy(sample_graph)
    graph.remove((MYNE, TL.name, None))
    report = validate_graph(graph)
    assert not report.conforms
    (error,) = report.errors
    assert error.path == str(TL.name)
    assert error.pages == ("La Myne", "La Myne/2")
    assert "needs a tl:name" in error.message


def test_wrong_kinds_of_values_are_violations(sample_graph: Graph) -> None:
    graph = copy(sample_graph)
    section = URIRef(DEFAULT_BASE_IRI + "page/Développer_des_Tiers_Lieux_dans_les_collectivités"
                     "/section/europe")
    graph.add((section, TL.concernsLevel, TL["theme-autre"]))
    graph.add((WIP, TL.website, Literal("https://www.le-wip.com/")))
    report = validate_graph(graph)
    assert {(v.path.rsplit("#", 1)[-1], v.value) for v in report.errors} == {
        ("concernsLevel", str(TL["theme-autre"])),
        ("website", "https://www.le-wip.com/"),
    }


def test_warnings_do_not_block(sample_graph: Graph) -> None:
    graph = copy(sample_graph)
    graph.remove((WIP, TL.status, None))
    graph.add((WIP, TL.status, TL["status-open"]))
    report = validate_graph(graph)
    assert report.conforms
    assert any(v.severity == "warning" and "status is not closed" in v.message
               for v in report.warnings)


def test_rejected_values_never_reach_the_graph(mapper: Mapper) -> None:
    """A page with a broken field: the cleaner reports it, the published graph stays valid."""
    mapped = mapper.map_page(parse_page(stored_page(
        "{{Tiers-lieu|code postal=1446|courriel=nope|ville=Caen}}", title="Lieu cassé")))
    assert {i.field for i in mapped.issues if i.severity == "warning"} == {
        "param:Tiers-lieu/code postal", "param:Tiers-lieu/courriel"}
    report = validate_graph(graph_of(mapped))
    assert report.conforms, report.text()


def test_odd_structure_conforms_with_warnings(mapper: Mapper) -> None:
    mapped = mapper.map_page(parse_page(stored_page(
        "== Enjeux ==\n*\n* un enjeu\n==  ==\n{{Inconnu|x=1}}\n", title="Étrange")))
    report = validate_graph(graph_of(mapped))
    assert report.conforms, report.text()
    assert any("empty list item" in v.message for v in report.warnings)
