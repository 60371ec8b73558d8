"""The map stage and the mapping data (tierslieux.pipeline.map, tierslieux.ontology.mapping).

Most tests map the bundled sample wiki through the real parse stage and ask SPARQL questions
of the output; a few build ParsedPage records by hand for quirks the sample does not have.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF, RDFS, Graph, Literal, URIRef

from storedpage import MOVILAB, graph_of, stored_page
from tierslieux.errors import MappingError
from tierslieux.ontology import read_text
from tierslieux.ontology.mapping import load_mapping
from tierslieux.ontology.rules import Mapping
from tierslieux.ontology.namespace import TL
from tierslieux.model.iri import iri_path, page_address, slugify
from tierslieux.model.rdf import DEFAULT_BASE_IRI, nt_line
from tierslieux.pipeline.map import Mapper
from tierslieux.pipeline.parse import parse_page
from tierslieux.model.records import (
    ListItem,
    MappedPage,
    ParsedPage,
    Section,
    SiteInfo,
    StoredPage,
    Template,
    WikiLink,
)

SEED = "Développer des Tiers Lieux dans les collectivités"
PREFIXES = """
PREFIX tl: <https://w3id.org/tierslieux/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
"""
STATEMENT_HEADINGS = {
    "Enjeux": ("kind-enjeu", 4),
    "Facteurs": ("kind-facteur", 4),
    "Opportunités": ("kind-opportunite", 4),
    "Objectifs": ("kind-objectif", 4),
    "Moyens d'actions": ("kind-moyen-action", 2),
    "Principaux freins": ("kind-frein", 3),
    "Principaux avantages": ("kind-avantage", 1),
}
LEVELS = ("level-europe", "level-etat", "level-region", "level-parc", "level-departement",
          "level-epci", "level-commune", "level-quartier")
PARTNERSHIPS = ("partnership-prestation", "partnership-subvention",
                "partnership-mission-interet-general", "partnership-delegation-service-public",
                "partnership-modele-economique")


# --------------------------------------------------------------------------- helpers


def ask(graph: Graph, query: str) -> list[tuple]:
    return [tuple(row) for row in graph.query(PREFIXES + query)]


def values(graph: Graph, query: str) -> set:
    return {row[0] for row in ask(graph, query)}


def mapping_with(tmp_path: Path, old: str, new: str) -> Mapping:
    """A copy of the bundled mapping.yaml with one edit, loaded from a file."""
    text = read_text("mapping.yaml")
    assert old in text, old
    path = tmp_path / "mapping.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return load_mapping(path)


# --------------------------------------------------------------------------- the seed page


def test_seed_page_items_are_statements_typed_by_kind(
        sample: dict[str, StoredPage], sample_graph: Graph) -> None:
    parsed = parse_page(sample[SEED])
    for heading, (kind, count) in STATEMENT_HEADINGS.items():
        sections = [s for s in parsed.sections if s.heading == heading]
        assert len(sections) == 1, heading
        expected = {Literal(i.text, lang="fr") for i in sections[0].items if i.text}
        assert len(expected) == count, heading
        found = values(sample_graph, f"""
            SELECT ?text WHERE {{
              ?page tl:title "{SEED}" ; tl:hasSection ?s .
              ?s tl:heading "{heading}"@fr ; tl:hasItem ?i .
              ?i a tl:Statement , tl:ListItem ; tl:statementKind tl:{kind} ; tl:text ?text .
            }}""")
        assert found == expected, heading
    freins = values(sample_graph, """
        SELECT ?text WHERE { ?i tl:statementKind tl:kind-frein ; tl:text ?text }""")
    assert Literal("Un Tiers-Lieu = 1 bâtiment et du design... > ça ne marche pas.",
                   lang="fr") in freins
    # items of other sections are not statements
    headings = ", ".join(f'"{h}"' for h in STATEMENT_HEADINGS)
    others = values(sample_graph, f"""
        SELECT ?i WHERE {{ ?page tl:title "{SEED}" ; tl:hasSection ?s . ?s tl:hasItem ?i .
                           ?i a tl:Statement . ?s tl:heading ?h .
                           FILTER(STR(?h) NOT IN ({headings})) }}""")
    assert others == set()


def test_seed_page_links_to_all_levels_and_partnership_types(sample_graph: Graph) -> None:
    levels = values(sample_graph, f"""
        SELECT ?l WHERE {{ ?page tl:title "{SEED}" ; tl:concernsLevel ?l }}""")
    assert levels == {TL[name] for name in LEVELS}
    partnerships = values(sample_graph, f"""
        SELECT ?p WHERE {{ ?page tl:title "{SEED}" ; tl:partnershipType ?p }}""")
    assert partnerships == {TL[name] for name in PARTNERSHIPS}
    # each level comes from its own section, and the section's items carry it too
    rows = ask(sample_graph, f"""
        SELECT ?h ?l WHERE {{ ?page tl:title "{SEED}" ; tl:hasSection ?s .
                              ?s tl:heading ?h ; tl:concernsLevel ?l }}""")
    assert {(str(h), l) for h, l in rows} == {
        ("Europe", TL["level-europe"]), ("État", TL["level-etat"]),
        ("Région", TL["level-region"]), ("Parc", TL["level-parc"]),
        ("Département", TL["level-departement"]), ("Agglomération & EPCI", TL["level-epci"]),
        ("Ville", TL["level-commune"]), ("Quartier", TL["level-quartier"])}
    quartier = values(sample_graph, """
        SELECT ?t WHERE { ?i tl:concernsLevel tl:level-quartier ; a tl:ListItem ; tl:text ?t }""")
    assert Literal("Comités de quartier", lang="fr") in quartier and len(quartier) == 4


def test_seed_page_audiences_from_item_prefixes(sample_graph: Graph) -> None:
    rows = ask(sample_graph, f"""
        SELECT ?a ?t WHERE {{ ?page tl:title "{SEED}" ; tl:hasSection ?s .
                              ?s tl:hasItem ?i . ?i tl:audience ?a ; tl:text ?t }}""")
    assert {(a, str(t).split(" :")[0]) for a, t in rows} == {
        (TL["audience-public"], "Public"), (TL["audience-prive"], "Privé"),
        (TL["audience-personnel"], "Personnel")}


def test_every_heading_and_item_of_the_seed_page_is_kept_in_order(
        sample: dict[str, StoredPage], sample_graph: Graph) -> None:
    parsed = parse_page(sample[SEED])
    sections = ask(sample_graph, f"""
        SELECT ?o ?h ?l WHERE {{ ?page tl:title "{SEED}" ; tl:hasSection ?s .
                                 ?s tl:order ?o ; tl:level ?l .
                                 OPTIONAL {{ ?s tl:heading ?h }} }}""")
    assert sorted((o.toPython(), str(h or ""), lv.toPython()) for o, h, lv in sections) == [
        (s.index, s.heading, s.level) for s in parsed.sections]
    items = ask(sample_graph, f"""
        SELECT ?so ?io ?t WHERE {{ ?page tl:title "{SEED}" ; tl:hasSection ?s .
                                   ?s tl:order ?so ; tl:hasItem ?i .
                                   ?i tl:order ?io ; tl:text ?t }}""")
    assert sorted((so.toPython(), io.toPython(), str(t)) for so, io, t in items) == sorted(
        (s.index, i.index + 1, i.text) for s in parsed.sections for i in s.items if i.text)


# --------------------------------------------------------------------------- third places


def test_le_wip_is_a_third_place_with_every_field(sample_graph: Graph) -> None:
    place = URIRef(DEFAULT_BASE_IRI + "place/Le_WIP")
    g = sample_graph
    assert (place, RDF.type, TL.ThirdPlace) in g
    assert g.value(place, TL.name) == Literal("Le WIP")
    assert g.value(place, TL.shortName) == Literal("Le Wip")
    assert g.value(place, TL.streetAddress) == Literal("Rue des Ateliers")
    assert g.value(place, TL.postalCode) == Literal("14460")
    assert g.value(place, TL.town) == Literal("Colombelles")
    assert g.value(place, TL.website) == URIRef("https://www.le-wip.com/")
    assert g.value(place, TL.email) == Literal("bonjour@le-wip.com")
    assert g.value(place, TL.phone) == Literal("+33 2 52 56 98 07")
    assert set(g.objects(place, TL.theme)) == {
        TL["theme-gouvernance"], TL["theme-animation"], TL["theme-economique"],
        TL["theme-autre"]}
    networks = set(g.objects(place, TL.memberOf))
    assert networks == {URIRef(DEFAULT_BASE_IRI + "network/france-tiers-lieux"),
                        URIRef(DEFAULT_BASE_IRI + "network/tilios")}
    for network in networks:
        assert (network, RDF.type, TL.Network) in g
    assert {str(g.value(n, TL.name)) for n in networks} == {"France Tiers Lieux", "Tilios"}
    person = URIRef(DEFAULT_BASE_IRI + "person/ophelie-deyrolle")
    assert set(g.objects(place, TL.contributor)) == {person}
    assert set(g.objects(place, TL.referent)) == {person}
    assert (person, RDF.type, TL.Person) in g
    assert str(g.value(place, TL.description)).startswith("les lieux infinis")
    assert g.value(place, TL.description).language == "fr"
    # closed since July 2023
    assert set(g.objects(place, TL.status)) == {TL["status-closed"]}
    assert g.value(place, TL.closedSince) == Literal("2023-07", datatype=URIRef(
        "http://www.w3.org/2001/XMLSchema#gYearMonth"))
    assert g.value(place, TL.closureNote) == Literal(
        "Espace physique fermé depuis juillet 2023", lang="fr")
    rows = ask(g, """SELECT ?since WHERE { ?p tl:name "Le WIP" ; tl:status tl:status-closed ;
                                          tl:closedSince ?since .
                                          FILTER(DATATYPE(?since) = xsd:gYearMonth
                                                 && STR(?since) = "2023-07") }""")
    assert len(rows) == 1
    page = URIRef(DEFAULT_BASE_IRI + "page/Le_WIP")
    assert (page, TL.describes, place) in g
    assert (page, TL.pageType, TL["pagetype-tiers-lieu"]) in g


def test_la_myne_and_its_sub_page_are_one_place(sample_graph: Graph) -> None:
    places = values(sample_graph, """
        SELECT DISTINCT ?place WHERE { ?page tl:describes ?place ; tl:title ?t .
                                       FILTER(?t IN ("La Myne", "La Myne/2")) }""")
    assert places == {URIRef(DEFAULT_BASE_IRI + "place/La_Myne")}
    place = next(iter(places))
    assert set(sample_graph.objects(place, TL.name)) == {Literal("La Myne")}
    derived = URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")
    assert len(set(sample_graph.objects(place, derived))) == 2
    assert (URIRef(DEFAULT_BASE_IRI + "page/La_Myne/2"), TL.subPageOf,
            URIRef(DEFAULT_BASE_IRI + "page/La_Myne")) in sample_graph


def test_closed_old_format_place_gets_its_date_from_the_prose(sample_graph: Graph) -> None:
    rows = ask(sample_graph, """
        SELECT ?status ?since ?note WHERE { ?p tl:name "Au Comptoir Numérique" ;
            tl:status ?status ; tl:closedSince ?since ; tl:closureNote ?note }""")
    assert len(rows) == 1
    status, since, note = rows[0]
    assert status == TL["status-closed"]
    assert str(since) == "2016" and since.datatype.endswith("#gYear")
    assert str(note).startswith("Espace physique fermé depuis 2016, mais")


def test_places_of_the_sample(sample_graph: Graph) -> None:
    names = values(sample_graph, "SELECT ?n WHERE { ?p a tl:ThirdPlace ; tl:name ?n }")
    assert names == {Literal("Le WIP"), Literal("La Myne"), Literal("Au Comptoir Numérique")}


# --------------------------------------------------------------------------- pages and provenance


def test_page_fields_and_provenance(sample_graph: Graph, sample: dict[str, StoredPage]) -> None:
    rev = sample["Le WIP"].revision
    page = URIRef(DEFAULT_BASE_IRI + "page/Le_WIP")
    revision = URIRef(f"https://movilab.org/index.php?oldid={rev.rev_id}")
    g = sample_graph
    assert (page, RDF.type, TL.WikiPage) in g
    assert g.value(page, TL.title) == Literal("Le WIP")
    assert g.value(page, TL.pageId).toPython() == rev.page_id
    assert g.value(page, TL.namespace).toPython() == 0
    assert g.value(page, TL.revisionId).toPython() == rev.rev_id
    assert g.value(page, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")) == revision
    assert g.value(page, TL.pageAddress) == URIRef("https://movilab.org/wiki/Le_WIP")
    when = datetime.fromisoformat(rev.timestamp.replace("Z", "+00:00"))
    assert g.value(page, URIRef("http://purl.org/dc/terms/modified")).toPython() == when
    assert {str(c) for c in g.objects(page, TL.category)} == {"Tiers-lieux", "Tiers-lieux fermés"}
    assert (revision, RDF.type, TL.Revision) in g
    assert g.value(revision, TL.ofPage) == page
    assert g.value(revision, TL.revisionId).toPython() == rev.rev_id
    assert g.value(revision, TL.pageId).toPython() == rev.page_id
    assert str(g.value(revision, TL.contributorName)) == rev.contributor
    assert g.value(revision, URIRef("http://purl.org/dc/terms/created")).toPython() == when
    assert g.value(revision, URIRef("http://www.w3.org/ns/prov#wasRevisionOf")) == URIRef(
        f"https://movilab.org/index.php?oldid={rev.parent_id}")


def test_every_entity_is_derived_from_a_revision_of_its_page(sample_graph: Graph) -> None:
    orphans = ask(sample_graph, """
        SELECT ?s WHERE { ?s a ?type . FILTER(?type != tl:Revision)
                          FILTER NOT EXISTS { ?s prov:wasDerivedFrom ?r . ?r a tl:Revision ;
                                              tl:ofPage ?page . ?page a tl:WikiPage } }""")
    assert orphans == []
    untyped = ask(sample_graph,
                  "SELECT ?s WHERE { ?s rdfs:label ?l FILTER NOT EXISTS { ?s a ?t } }")
    assert untyped == []
    unlabelled = ask(sample_graph,
                     "SELECT ?s WHERE { ?s a ?t FILTER NOT EXISTS { ?s rdfs:label ?l } }")
    assert unlabelled == []


def test_links_categories_redirects_and_page_types(sample_graph: Graph) -> None:
    seed = URIRef(DEFAULT_BASE_IRI + "page/" + SEED.replace(" ", "_"))
    assert (seed, TL.linksTo, URIRef(DEFAULT_BASE_IRI + "page/Le_manifeste_des_Tiers_Lieux")) \
        in sample_graph
    assert set(sample_graph.objects(seed, TL.pageType)) == {
        TL["pagetype-collectivite"], TL["pagetype-document"]}
    old = URIRef(DEFAULT_BASE_IRI + "page/Le_Comptoir_Numérique")
    assert sample_graph.value(old, TL.redirectsTo) == URIRef(
        DEFAULT_BASE_IRI + "page/Au_Comptoir_Numérique")
    assert (old, TL.pageType, TL["pagetype-redirection"]) in sample_graph
    talk = values(sample_graph, """SELECT ?p WHERE { ?p tl:namespace 1 ;
                                                   tl:pageType tl:pagetype-discussion }""")
    assert len(talk) == 1
    explained = values(sample_graph, """SELECT ?t WHERE { ?p tl:title ?t ;
                                                        tl:pageType tl:pagetype-explication }""")
    assert explained == {Literal("Historique de Movilab")}
    stubs = values(sample_graph, """SELECT ?t WHERE { ?p tl:title ?t ;
                                                    tl:pageStatus tl:pagestatus-stub }""")
    assert stubs == {Literal("Convention immobilière et de partenariat")}


def test_sample_has_no_warning_or_error(sample_mapped: dict[str, MappedPage]) -> None:
    issues = [i for m in sample_mapped.values() for i in m.issues if i.severity != "info"]
    assert issues == []


# --------------------------------------------------------------------------- output form


def test_triples_are_sorted_unique_n_triples_without_blank_nodes(
        sample_mapped: dict[str, MappedPage]) -> None:
    lines = [line for m in sample_mapped.values() for line in m.triples]
    for mapped in sample_mapped.values():
        assert list(mapped.triples) == sorted(set(mapped.triples))
    for line in lines:
        assert line.startswith("<") and line.endswith(" .") and "\n" not in line
        assert "_:" not in line.split(">", 1)[0]
    document = "\n".join(lines) + "\n"
    assert len(Graph().parse(data=document, format="nt")) == len(set(lines))
    assert len(set(ox.parse(document.encode(), format=ox.RdfFormat.N_TRIPLES))) == len(set(lines))
    assert not any(isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode)
                   for q in ox.parse(document.encode(), format=ox.RdfFormat.N_TRIPLES))


@pytest.mark.parametrize("text", [
    'guillemets " et \\ barre', "ligne\nsuivante\r\tfin", "contrôle \x00\x07\x1f\x7f",
    "émoji 🐝 et ’apostrophe’", "",
])
def test_literal_escaping_round_trips(text: str) -> None:
    subject = URIRef("https://example.org/s")
    for literal in (Literal(text), Literal(text, lang="fr"),
                    Literal(text, datatype=URIRef("https://example.org/dt"))):
        line = nt_line((subject, TL.text, literal))
        assert Graph().parse(data=line + "\n", format="nt").value(subject, TL.text) == literal
        (quad,) = ox.parse((line + "\n").encode(), format=ox.RdfFormat.N_TRIPLES)
        assert quad.object.value == text


def test_iri_path_slugify_and_page_address() -> None:
    assert iri_path("Développer_des_Tiers_Lieux") == "Développer_des_Tiers_Lieux"
    assert iri_path("100%_sûr?_#1_<a>") == "100%25_sûr%3F_%231_%3Ca%3E"
    assert iri_path("La_Myne/2") == "La_Myne/2"
    assert iri_path("nbsp\u00a0ici") == "nbsp%C2%A0ici"
    assert slugify("Agglomération & EPCI") == "agglomeration-epci"
    assert slugify("Moyens d'actions") == "moyens-d-actions"
    assert slugify("🐝") .startswith("x") and len(slugify("🐝")) == 9
    assert page_address(MOVILAB, "Au Comptoir Numérique") == \
        "https://movilab.org/wiki/Au_Comptoir_Num%C3%A9rique"


def test_mapping_is_deterministic(sample: dict[str, StoredPage], mapper: Mapper,
                                  mapping: Mapping, sample_site: SiteInfo) -> None:
    parsed = parse_page(sample["Le WIP"])
    first = mapper.map_page(parsed)
    assert Mapper(mapping, sample_site).map_page(parsed) == first
    shuffled = list(parsed.sections)
    random.Random(4).shuffle(shuffled)
    templates = list(reversed(parsed.templates))
    again = mapper.map_page(replace(parsed, sections=tuple(shuffled), templates=tuple(templates)))
    assert again == first


def test_base_iri_is_configurable(sample: dict[str, StoredPage], mapping: Mapping,
                                  sample_site: SiteInfo) -> None:
    mapped = Mapper(mapping, sample_site, "https://data.example.org/tl/").map_page(
        parse_page(sample["La Myne/2"]))
    graph = graph_of(mapped)
    assert (URIRef("https://data.example.org/tl/page/La_Myne/2"), TL.describes,
            URIRef("https://data.example.org/tl/place/La_Myne")) in graph
    assert not any(DEFAULT_BASE_IRI in line for line in mapped.triples)
    with pytest.raises(MappingError, match="base IRI"):
        Mapper(mapping, sample_site, "not an iri")


# --------------------------------------------------------------------------- mapping as data


def test_renamed_template_needs_only_a_mapping_change(
        tmp_path: Path, sample: dict[str, StoredPage], mapper: Mapper, sample_site: SiteInfo
) -> None:
    original = sample["Le WIP"]
    expected = mapper.map_page(parse_page(original))
    text = original.revision.text.replace("{{Tiers-lieu", "{{Fiche lieu")
    assert text != original.revision.text
    renamed = replace(original, revision=replace(original.revision, text=text))

    before = mapper.map_page(parse_page(renamed))
    graph = graph_of(before)
    place = URIRef(DEFAULT_BASE_IRI + "place/Le_WIP")
    assert graph.value(place, TL.postalCode) is None
    assert any(i.field == "template:Fiche lieu" and i.severity == "info" for i in before.issues)
    assert (URIRef(DEFAULT_BASE_IRI + "page/Le_WIP/template/1"), TL.templateName,
            Literal("Fiche lieu")) in graph

    edited = mapping_with(tmp_path, "aliases: [Tiers lieu, ",
                          "aliases: [Fiche lieu, Tiers lieu, ")
    after = Mapper(edited, sample_site).map_page(parse_page(renamed))
    assert after.triples == expected.triples


def test_renamed_heading_needs_only_a_mapping_change(
        tmp_path: Path, sample: dict[str, StoredPage], mapper: Mapper, sample_site: SiteInfo
) -> None:
    original = sample[SEED]
    text = original.revision.text.replace("=== Principaux freins ===", "=== Points de blocage ===")
    assert text != original.revision.text
    renamed = replace(original, revision=replace(original.revision, text=text))
    query = "SELECT ?t WHERE { ?i tl:statementKind tl:kind-frein ; tl:text ?t }"
    expected = values(graph_of(mapper.map_page(parse_page(original))), query)
    assert len(expected) == 3

    before = mapper.map_page(parse_page(renamed))
    assert values(graph_of(before), query) == set()
    assert any(i.field == "heading:Points de blocage" for i in before.issues)

    edited = mapping_with(tmp_path, "aliases: [Freins, Frein, Les freins]",
                          "aliases: [Freins, Frein, Les freins, Points de blocage]")
    after = Mapper(edited, sample_site).map_page(parse_page(renamed))
    assert values(graph_of(after), query) == expected
    assert not any(i.field.startswith("heading:Points") for i in after.issues)


def test_renamed_parameter_and_category(tmp_path: Path, sample_site: SiteInfo,
                                        mapper: Mapper) -> None:
    page = stored_page("{{Tiers-lieu\n|CP=14 460\n}}\n[[Catégorie:Lieux fermés]]", title="Lieu X")
    mapped = mapper.map_page(parse_page(page))
    place = URIRef(DEFAULT_BASE_IRI + "place/Lieu_X")
    assert graph_of(mapped).value(place, TL.postalCode) == Literal("14460")  # "cp" is an alias
    assert graph_of(mapped).value(place, TL.status) == TL["status-open"]  # template default
    assert any(i.field == "category:Lieux fermés" for i in mapped.issues)
    edited = mapping_with(tmp_path, "aliases: [Tiers lieux fermés, ",
                          "aliases: [Lieux fermés, Tiers lieux fermés, ")
    graph = graph_of(Mapper(edited, sample_site).map_page(parse_page(page)))
    assert set(graph.objects(place, TL.status)) == {TL["status-closed"]}


# --------------------------------------------------------------------------- issues and quirks


def test_unmapped_and_rejected_values_are_reported_and_kept(mapper: Mapper) -> None:
    page = stored_page("""{{Tiers-lieu
|code postal=1446
|courriel=pas une adresse
|couleur=verte
|thème=Gouvernance, Numérique
|ville=Caen
|ville=Bayeux
}}
{{Bandeau inconnu|a=1|2}}
== Plan ==
* un
""", title="Lieu Y")
    mapped = mapper.map_page(parse_page(page))
    issues = {(i.severity, i.field): i for i in mapped.issues}
    assert issues[("warning", "param:Tiers-lieu/code postal")].original == "1446"
    assert ("warning", "param:Tiers-lieu/courriel") in issues
    assert ("info", "param:Tiers-lieu/couleur") in issues
    assert ("info", "template:Bandeau inconnu") in issues
    assert ("info", "heading:Plan") in issues
    assert ("warning", "param:Tiers-lieu/ville") in issues  # given twice
    assert all(i.page_title == "Lieu Y" for i in mapped.issues)
    graph = graph_of(mapped)
    place = URIRef(DEFAULT_BASE_IRI + "place/Lieu_Y")
    assert graph.value(place, TL.postalCode) is None
    assert graph.value(place, TL.town) == Literal("Caen")
    # the minted theme concept
    numerique = URIRef(DEFAULT_BASE_IRI + "concept/themes/numerique")
    assert set(graph.objects(place, TL.theme)) == {TL["theme-gouvernance"], numerique}
    assert (numerique, RDF.type, TL.Theme) in graph
    # nothing dropped: rejected and unknown values are kept as template parameters
    kept = {(str(n), str(v)) for n, v in ask(graph, """
        SELECT ?n ?v WHERE { ?c a tl:TemplateCall ; tl:hasParameter ?p .
                             ?p tl:paramName ?n ; tl:paramValue ?v }""")}
    assert kept >= {("code postal", "1446"), ("courriel", "pas une adresse"),
                    ("couleur", "verte"), ("ville", "Bayeux"), ("a", "1"), ("1", "2")}


def test_required_parameter(tmp_path: Path, sample_site: SiteInfo) -> None:
    edited = mapping_with(tmp_path, "      - name: ville\n",
                          "      - name: ville\n        required: true\n")
    mapper = Mapper(edited, sample_site)
    missing = mapper.map_page(parse_page(stored_page("{{Tiers-lieu|adresse=Rue X}}", title="Z")))
    assert [(i.severity, i.field) for i in missing.issues if i.severity == "error"] == [
        ("error", "param:Tiers-lieu/ville")]
    edited = mapping_with(tmp_path, "      - name: code postal\n",
                          "      - name: code postal\n        required: true\n")
    invalid = Mapper(edited, sample_site).map_page(
        parse_page(stored_page("{{Tiers-lieu|code postal=ABCDE}}", title="Z")))
    assert [(i.severity, i.field) for i in invalid.issues if i.severity == "error"] == [
        ("error", "param:Tiers-lieu/code postal")]


def test_parse_quirks_are_survived(mapper: Mapper) -> None:
    """Empty sections, items without text, duplicate and empty headings, dangling parent
    indexes, unknown template parameters: all still give valid, complete structure."""
    page = stored_page("", title="Bizarre")
    parsed = ParsedPage(
        page=page,
        sections=(
            Section(0, 0, "", None, "", ()),
            Section(1, 2, "Enjeux", 0, "", (
                ListItem(0, 1, "*", "", None),
                ListItem(1, 2, "**", "sous-point", 0, ("Cible",)),
                ListItem(2, 1, "#", "numéroté", None),
            )),
            Section(2, 2, "Enjeux", 0, "texte", ()),
            Section(3, 3, "", 2, "", ()),
            Section(4, 3, "Orphelin", 99, "", (ListItem(0, 1, "*", "x", 7),)),
        ),
        templates=(Template("Tiers-lieu", (("inconnu", "1"), ("code postal", "")), 0, 0),),
        links=(WikiLink("Cible", "Cible", 1), WikiLink("  ", "", 1)),
        categories=(),
        external_links=(),
    )
    mapped = mapper.map_page(parsed)
    graph = graph_of(mapped)
    base = f"{DEFAULT_BASE_IRI}page/Bizarre/section/"
    sections = values(graph, "SELECT ?s WHERE { ?p tl:hasSection ?s }")
    assert sections == {URIRef(base + s) for s in
                        ("lead", "enjeux", "enjeux-2", "section", "orphelin")}
    empty = URIRef(base + "enjeux/item/1")
    assert (empty, RDF.type, TL.ListItem) in graph
    assert (empty, RDF.type, TL.Statement) not in graph  # nothing stated
    child = URIRef(base + "enjeux/item/2")
    assert graph.value(child, TL.parentItem) == empty
    assert (child, TL.statementKind, TL["kind-enjeu"]) in graph
    assert graph.value(child, TL.linksTo) == URIRef(DEFAULT_BASE_IRI + "page/Cible")
    assert graph.value(URIRef(base + "enjeux/item/3"), TL.ordered) == Literal(True)
    assert graph.value(URIRef(base + "section"), TL.parentSection) == URIRef(base + "enjeux-2")
    assert graph.value(URIRef(base + "orphelin"), TL.parentSection) is None
    assert any(i.field == "param:Tiers-lieu/inconnu" for i in mapped.issues)
    place = URIRef(DEFAULT_BASE_IRI + "place/Bizarre")
    assert graph.value(place, TL.name) == Literal("Bizarre")


def test_hand_built_seed_like_page(mapper: Mapper) -> None:
    """Statements and levels from records built by hand (no parse stage involved)."""
    parsed = ParsedPage(
        page=stored_page("", title="Atelier"),
        sections=(
            Section(0, 0, "", None, "intro", (ListItem(0, 1, "*", "Privé : coachs", None),)),
            Section(1, 2, "Les freins", 0, "", (ListItem(0, 1, "*", "le coût", None),)),
            Section(2, 2, "Collectivités par type", 0, "", ()),
            Section(3, 3, "Métropole", 2, "", (ListItem(0, 1, "*", "Lyon", None),)),
            Section(4, 2, "Partenariats", 0, "", ()),
            Section(5, 3, "DSP", 4, "", ()),
            Section(6, 2, "Métropole", 0, "", ()),  # outside its scope: a plain section
        ),
        templates=(), links=(), categories=(), external_links=(),
    )
    graph = graph_of(mapper.map_page(parsed))
    page = URIRef(DEFAULT_BASE_IRI + "page/Atelier")
    assert values(graph, "SELECT ?t WHERE { ?i tl:statementKind tl:kind-frein ; tl:text ?t }") \
        == {Literal("le coût", lang="fr")}
    assert set(graph.objects(page, TL.concernsLevel)) == {TL["level-metropole"]}
    assert set(graph.objects(page, TL.partnershipType)) == {
        TL["partnership-delegation-service-public"]}
    assert set(graph.objects(page, TL.audience)) == {TL["audience-prive"]}
    plain = URIRef(DEFAULT_BASE_IRI + "page/Atelier/section/metropole-2")
    assert graph.value(plain, TL.concernsLevel) is None


@pytest.mark.parametrize(("old", "new", "message"), [
    ("property: postalCode", "property: postCode",
     "templates[0].params[3].property: 'postCode' is not a term of the ontology"),
    ("statement_kind: kind-frein", "statement_kind: kind-blocage",
     "headings[5].statement_kind: 'kind-blocage' is not a term"),
    ("level: level-europe", "level: theme-autre",
     "'theme-autre' is not in the scheme tl:CollectivityLevels"),
    ("cleaner: postcode", "cleaner: zipcode", "cleaner: 'zipcode' is not one of"),
    ("    describes: place\n    page_type: pagetype-tiers-lieu\n    defaults:",
     "    describes: place\n    page_typ: pagetype-tiers-lieu\n    defaults:",
     "templates[0].page_typ: unknown key"),
    ("  - name: Forum\n", "  - name: Forum\n  - name: forum\n", "'forum' names both"),
    ("property: shortName", "property: website",
     "tl:website links to resources"),
    ("pattern: '^(?P<root>.+)/\\d+$'", "pattern: '^(.+)/\\d+$'", "subpages.pattern: needs"),
    ("version: 1", "version: [1", "not valid YAML"),
    ("    describes: collectivity\n    named_by: nom\n",
     "    describes: collectivity\n    named_by: nom officiel\n",
     "templates[1].named_by: 'nom officiel' is not the name of one of the template's params"),
    ('    class: Collectivity\n    iri: "collectivity/{slug}"',
     '    class: Collectivity\n    iri: "collectivity/{key}"',
     "templates[1].named_by: the IRIs of entity 'collectivity' must use {slug}"),
])
def test_mapping_errors_name_the_file_and_the_key(tmp_path: Path, old: str, new: str,
                                                   message: str) -> None:
    with pytest.raises(MappingError) as info:
        mapping_with(tmp_path, old, new)
    text = str(info.value)
    assert text.startswith(str(tmp_path / "mapping.yaml") + ":")
    assert message in text
    assert "\n" not in text


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="cannot be read"):
        load_mapping(tmp_path / "nope.yaml")


def test_collectivity_record(mapper: Mapper) -> None:
    mapped = mapper.map_page(parse_page(stored_page(
        "{{Collectivité|nom=Ville d'Arles|niveau=Ville|code insee=13004|siren=213 000 045"
        "|site=www.ville-arles.fr}}", title="Ville d'Arles")))
    graph = graph_of(mapped)
    # the INSEE code makes it the commune of the official geography, on its official IRI
    town = URIRef(DEFAULT_BASE_IRI + "collectivity/commune/13004")
    assert (town, RDF.type, TL.Collectivity) in graph and (town, RDF.type, TL.Commune) in graph
    assert graph.value(town, TL.level) == TL["level-commune"]  # "Ville" is an altLabel
    assert graph.value(town, TL.inseeCode) == Literal("13004")
    # the official SIREN replaces the wiki's, and the difference is reported
    assert set(graph.objects(town, TL.siren)) == {Literal("211300041")}
    assert graph.value(town, TL.website) == URIRef("https://www.ville-arles.fr")
    assert set(graph.objects(town, TL.name)) == {Literal("Ville d'Arles"), Literal("Arles")}
    assert set(graph.objects(town, TL.officialName)) == {Literal("Arles")}
    assert {(i.severity, i.field) for i in mapped.issues} == {
        ("warning", "param:Collectivité/siren"), ("warning", "param:Collectivité/site"),
        ("warning", "commune")}
    unknown = mapper.map_page(parse_page(stored_page("{{Collectivité|niveau=Canton}}", title="C")))
    assert any(i.severity == "warning" and "not a concept of tl:CollectivityLevels" in i.message
               for i in unknown.issues)


def test_records_named_by_a_parameter(mapper: Mapper) -> None:
    """``named_by``: several collectivity / organisation records on one page, each named by
    its ``nom``; without one, the record is named after the page, as before."""
    mapped = mapper.map_page(parse_page(stored_page(
        "{{Tiers-lieu|ville=Arles}}\n"
        "{{Collectivité|nom=Ville d'Arles|niveau=Commune}}\n"
        "{{Collectivité|nom=[[Région Sud]]|niveau=Région}}\n"
        "{{Collectivité|niveau=Département}}\n"
        "{{Organisation|nom=Vers un lieu|siret=849 313 564 00015|partenaires=Autre asso"
        "|collectivité partenaire=Région Sud}}", title="Lieu d'Arles")))
    graph = graph_of(mapped)
    d = DEFAULT_BASE_IRI
    page, place = URIRef(d + "page/Lieu_d'Arles"), URIRef(d + "place/Lieu_d'Arles")
    # "Ville d'Arles" is the commune of Arles: the record and the place in it meet on its IRI;
    # "Région Sud" is not an official name: it keeps an IRI minted from its name
    town, region = URIRef(d + "collectivity/commune/13004"), URIRef(d + "collectivity/region-sud")
    unnamed = URIRef(d + "collectivity/lieu-d-arles")
    asso, other = URIRef(d + "organisation/vers-un-lieu"), URIRef(d + "organisation/autre-asso")
    assert set(graph.objects(page, TL.describes)) == {place, town, region, unnamed, asso}
    assert graph.value(place, TL.inCommune) == town
    expected = {place: {"Lieu d'Arles"}, town: {"Ville d'Arles", "Arles"}, region: {"Région Sud"},
                unnamed: {"Lieu d'Arles"}, asso: {"Vers un lieu"}, other: {"Autre asso"}}
    for entity, names in expected.items():
        assert set(graph.objects(entity, TL.name)) == {Literal(n) for n in names}, entity
        assert set(graph.objects(entity, RDFS.label)) == {Literal(n) for n in names}, entity
    assert [graph.value(c, TL.level) for c in (town, region, unnamed)] == [
        TL["level-commune"], TL["level-region"], TL["level-departement"]]
    assert (asso, RDF.type, TL.Organisation) in graph and (other, RDF.type, TL.Organisation) in graph
    assert graph.value(asso, TL.siret) == Literal("84931356400015")
    assert set(graph.objects(asso, TL.partner)) == {region, other}
    # the collectivities the official geography does not know are reported, by what was given
    assert [(i.severity, i.field, i.original, i.kept) for i in mapped.issues
            if i.severity != "info"] == [
        ("warning", "commune", "Lieu d'Arles | departement", ""),
        ("warning", "commune", "Région Sud | region", ""),
        ("warning", "param:Organisation/siret", "849 313 564 00015", "84931356400015")]


@pytest.mark.parametrize("name", ["frwiki_Berlin.wiki", "enwiki_Germany.wiki"])
def test_large_real_pages_map_to_valid_n_triples(name: str, mapper: Mapper) -> None:
    """Big encyclopaedia pages full of infoboxes, tables and references: unknown templates
    are kept, nothing breaks, the output parses."""
    path = Path(__file__).parent / "data" / "wikipedia" / name
    mapped = mapper.map_page(parse_page(stored_page(path.read_text(encoding="utf-8"), title="Grand")))
    assert len(mapped.triples) > 1000
    assert any(i.field.startswith("template:") for i in mapped.issues)
    document = "\n".join(mapped.triples) + "\n"
    assert len(set(ox.parse(document.encode(), format=ox.RdfFormat.N_TRIPLES))) == len(
        mapped.triples)


@pytest.mark.parametrize("name", ["frwiki_Berlin.wiki", "enwiki_Germany.wiki", None])
def test_the_map_stages_lines_are_canonical_and_taken_as_they_are(
        name: str | None, mapper: Mapper, sample_mapped: dict[str, MappedPage]) -> None:
    """``MappedPage.triples`` from the map stage are TermLines, which ``canonical_lines``
    passes through unchecked: they must be what its checked path makes of them (distinct,
    in line order, each ``<s> <p> o .``), on big real pages and on every sample page."""
    from tierslieux.model.lines import canonical_lines
    from tierslieux.model.rdf import TermLines

    if name is None:
        pages = list(sample_mapped.values())
    else:
        path = Path(__file__).parent / "data" / "wikipedia" / name
        pages = [mapper.map_page(parse_page(stored_page(path.read_text(encoding="utf-8"),
                                                        title="Grand")))]
    for mapped in pages:
        assert isinstance(mapped.triples, TermLines)
        assert canonical_lines(mapped.triples) is mapped.triples
        assert canonical_lines(tuple(mapped.triples)) == list(mapped.triples)  # the check
        assert canonical_lines(list(reversed(mapped.triples))) == list(mapped.triples)
    assert sum(len(mapped.triples) for mapped in pages) > 1000
