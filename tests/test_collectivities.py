"""Collectivities and organisations of the bundled sample (the Arles convention), as the
release publishes them: SPARQL on the graph, and the rows of collectivites.csv / organisations.csv."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tierslieux.ontology import ONTOLOGY_NS
from tierslieux.sparql.query import run_query

D = "https://w3id.org/tierslieux/movilab/"
TL = ONTOLOGY_NS
CONVENTION = f"{D}page/Convention_immobilière_et_de_partenariat"
CONVENTION_ADDRESS = "https://movilab.org/wiki/Convention_immobili%C3%A8re_et_de_partenariat"
ARLES = f"{D}collectivity/commune/13004"
ARLES_EPCI = f"{D}collectivity/epci/241300417"
ASSOCIATION = f"{D}organisation/vers-un-tiers-lieu-en-pays-d-arles"


def select(release: Path, query: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(run_query(release, query, "csv"))))


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_ville_d_arles_is_a_commune_with_its_insee_code(sample_release: Path) -> None:
    found = select(sample_release, """
        SELECT ?c ?name ?official ?insee ?epci ?revision WHERE {
          ?c a tl:Collectivity, tl:Commune ; tl:name ?name ; tl:level tl:level-commune ;
             tl:officialName ?official ; tl:inseeCode ?insee ; tl:inEpci ?epci ;
             prov:wasDerivedFrom ?revision .
          ?page tl:describes ?c ; tl:title "Convention immobilière et de partenariat" .
        } ORDER BY ?name""")
    # the record's own name and the official one; the IRI is the official code's
    assert found == [{"c": ARLES, "name": name, "official": "Arles", "insee": "13004",
                      "epci": ARLES_EPCI,
                      "revision": "https://movilab.org/index.php?oldid=41820"}
                     for name in ("Arles", "Ville d'Arles")]


def test_le_wip_is_in_colombelles_caen_la_mer_calvados_normandie(sample_release: Path) -> None:
    found = select(sample_release, """
        SELECT ?commune ?insee ?epci ?siren ?departement ?dep ?region ?reg WHERE {
          ?place tl:name "Le WIP" ; tl:inCommune ?commune ; tl:inEpci ?epci ;
                 tl:inDepartement ?departement ; tl:inRegion ?region .
          ?commune tl:inseeCode ?insee ; tl:inEpci ?epci ; tl:inDepartement ?departement .
          ?epci a tl:Epci ; tl:siren ?siren ; tl:level tl:level-communaute-urbaine .
          ?departement tl:inseeCode ?dep ; tl:inRegion ?region .
          ?region a tl:Region ; tl:inseeCode ?reg ; tl:officialName "Normandie" .
        }""")
    assert found == [{"commune": f"{D}collectivity/commune/14167", "insee": "14167",
                      "epci": f"{D}collectivity/epci/200065597", "siren": "200065597",
                      "departement": f"{D}collectivity/departement/14", "dep": "14",
                      "region": f"{D}collectivity/region/28", "reg": "28"}]
    # and the INSEE linked-data identifiers, derived from the codes
    links = select(sample_release, """
        SELECT ?c ?insee WHERE { ?c tl:inseeTerritory ?insee } ORDER BY ?c""")
    assert {r["insee"] for r in links} == {
        "http://id.insee.fr/geo/commune/13004", "http://id.insee.fr/geo/commune/14167",
        "http://id.insee.fr/geo/departement/13", "http://id.insee.fr/geo/departement/14",
        "http://id.insee.fr/geo/region/28", "http://id.insee.fr/geo/region/93"}


def test_only_the_collectivities_the_wiki_reaches_are_published(sample_release: Path) -> None:
    assert [r["id"] for r in rows(sample_release / "collectivites.csv")] == [
        ARLES, f"{D}collectivity/commune/14167", f"{D}collectivity/departement/13",
        f"{D}collectivity/departement/14", f"{D}collectivity/epci/200065597", ARLES_EPCI,
        f"{D}collectivity/region/28", f"{D}collectivity/region/93"]


def test_the_association_is_an_organisation_with_its_siren(sample_release: Path) -> None:
    found = select(sample_release, """
        SELECT ?o ?name ?siren ?siret ?partner WHERE {
          ?o a tl:Organisation ; tl:name ?name ; tl:siren ?siren ; tl:siret ?siret ;
             tl:partner ?partner .
          FILTER NOT EXISTS { ?o a tl:Collectivity }
        }""")
    assert found == [{"o": ASSOCIATION, "name": "Vers un tiers-lieu en Pays d'Arles",
                      "siren": "849313564", "siret": "84931356400015", "partner": ARLES}]
    # the partner named in the association's record is the collectivity of the other record
    assert select(sample_release, f"SELECT ?type WHERE {{ <{ARLES}> a ?type }} ORDER BY ?type") \
        == [{"type": f"{TL}Collectivity"}, {"type": f"{TL}Commune"}]


def test_collectivities_table(sample_release: Path) -> None:
    table = {r["id"]: r for r in rows(sample_release / "collectivites.csv")}
    assert table[ARLES] == {
        "id": ARLES, "nom": "Arles", "niveau": "commune", "niveau_libelle": "Commune",
        "code_insee": "13004",
        "siren": "211300041", "parent": ARLES_EPCI, "code_commune": "", "code_epci": "241300417",
        "code_departement": "13", "code_region": "93",
        "territoire_insee": "http://id.insee.fr/geo/commune/13004", "site_web": "",
        "partenaires": ASSOCIATION, "pages": CONVENTION, "page_wiki": CONVENTION_ADDRESS,
    }
    assert table[ARLES_EPCI] | {"parent": "", "nom": ""} == {
        "id": ARLES_EPCI, "nom": "", "niveau": "communaute-agglomeration",
        "niveau_libelle": "Communauté d'agglomération", "code_insee": "",
        "siren": "241300417", "parent": "", "code_commune": "", "code_epci": "",
        "code_departement": "13", "code_region": "93", "territoire_insee": "", "site_web": "",
        "partenaires": "", "pages": "", "page_wiki": "",
    }
    assert table[ARLES_EPCI]["parent"] == f"{D}collectivity/departement/13"
    places = {r["nom"]: r for r in rows(sample_release / "tiers_lieux.csv")}
    wip = places["Le WIP"]
    assert [wip[c] for c in ("code_insee", "code_epci", "epci", "code_departement",
                             "departement", "code_region", "region")] == [
        "14167", "200065597", "CU Caen la Mer", "14", "Calvados", "28", "Normandie"]


def test_organisations_table(sample_release: Path) -> None:
    assert rows(sample_release / "organisations.csv") == [{
        "id": ASSOCIATION, "nom": "Vers un tiers-lieu en Pays d'Arles",
        "siren": "849313564", "siret": "84931356400015", "site_web": "", "code_insee": "",
        "partenaires": ARLES, "pages": CONVENTION, "page_wiki": CONVENTION_ADDRESS,
    }]
    # an organisation is not a network: reseaux.csv holds the networks only, each with the
    # pages that name it
    networks = rows(sample_release / "reseaux.csv")
    assert [(r["nom"], r["pages"]) for r in networks] == [
        ("France Tiers Lieux", f"{D}page/Le_WIP"), ("Tilios", f"{D}page/Le_WIP")]
    pages = {r["titre"]: r for r in rows(sample_release / "pages.csv")}
    assert pages["Convention immobilière et de partenariat"]["decrit"] == f"{ARLES}|{ASSOCIATION}"
