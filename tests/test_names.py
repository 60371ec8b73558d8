"""One entity per real thing: persons and networks written several ways on a page are one
entity with one label and the other spellings as skos:altLabel; pages name the networks they
cite (pipeline/names.py, tl:mentions)."""

from __future__ import annotations

from rdflib import RDFS, SKOS, Graph, Literal, URIRef

from tierslieux.ontology.mapping import load_mapping
from tierslieux.ontology.namespace import TL
from tierslieux.model.rdf import DEFAULT_BASE_IRI
from tierslieux.pipeline.map import Mapper
from tierslieux.pipeline.names import rank
from tierslieux.pipeline.parse import parse_page
from tierslieux.model.records import PageRevision, SiteInfo, StoredPage

D = DEFAULT_BASE_IRI


def _graph(text: str, title: str = "Un lieu") -> Graph:
    site = SiteInfo("Movilab", "https://movilab.org/wiki/$1", "https://movilab.org/index.php")
    rev = PageRevision(page_id=1, namespace=0, title=title, rev_id=7, parent_id=None,
                       timestamp="2024-01-01T00:00:00Z", sha1=None, contributor=None, text=text)
    mapped = Mapper(load_mapping(), site).map_page(
        parse_page(StoredPage(rev, key=title.replace(" ", "_"))))
    graph = Graph()
    graph.parse(data="\n".join(mapped.triples) + "\n", format="nt")
    return graph


def test_a_person_written_two_ways_has_one_label() -> None:
    graph = _graph("{{Tiers-lieu|contributeurs=ophélie Deyrolle|référent=ophélie deyrolle}}")
    person = URIRef(D + "person/ophelie-deyrolle")
    assert set(graph.objects(person, RDFS.label)) == {Literal("ophélie Deyrolle")}
    assert set(graph.objects(person, SKOS.altLabel)) == {Literal("ophélie deyrolle")}


def test_a_network_written_with_and_without_accents() -> None:
    graph = _graph("{{Tiers-lieu|réseaux=Réseau des Tiers-Lieux, reseau des tiers-lieux}}")
    network = URIRef(D + "network/reseau-des-tiers-lieux")
    assert set(graph.objects(network, TL.name)) == {Literal("Réseau des Tiers-Lieux")}
    assert set(graph.objects(network, RDFS.label)) == {Literal("Réseau des Tiers-Lieux")}
    assert set(graph.objects(network, SKOS.altLabel)) == {Literal("reseau des tiers-lieux")}
    assert set(graph.subjects(TL.mentions, network)) == {URIRef(D + "page/Un_lieu")}


def test_the_best_written_variant_comes_first() -> None:
    variants = ["ophélie deyrolle", "Ophelie Deyrolle", "Ophélie Deyrolle", "OPHÉLIE DEYROLLE"]
    assert sorted(variants, key=rank) == [
        "Ophélie Deyrolle", "Ophelie Deyrolle", "OPHÉLIE DEYROLLE", "ophélie deyrolle"]
