"""Collectivities and organisations of the bundled sample (the Arles convention), as the
release publishes them: SPARQL on the graph, and the rows of collectivites.csv / reseaux.csv."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tierslieux import sparql

D = "https://w3id.org/tierslieux/movilab/"
TL = sparql.ONTOLOGY_NS
CONVENTION = f"{D}page/Convention_immobilière_et_de_partenariat"
CONVENTION_ADDRESS = "https://movilab.org/wiki/Convention_immobili%C3%A8re_et_de_partenariat"
ARLES = f"{D}collectivity/ville-d-arles"
ASSOCIATION = f"{D}organisation/vers-un-tiers-lieu-en-pays-d-arles"


def select(release: Path, query: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(sparql.run_query(release, query, "csv"))))


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_ville_d_arles_is_a_commune_with_its_insee_code(sample_release: Path) -> None:
    found = select(sample_release, """
        SELECT ?c ?name ?insee ?revision WHERE {
          ?c a tl:Collectivity ; tl:name ?name ; tl:level tl:level-commune ;
             tl:inseeCode ?insee ; prov:wasDerivedFrom ?revision .
          ?page tl:describes ?c ; tl:title "Convention immobilière et de partenariat" .
        }""")
    assert found == [{"c": ARLES, "name": "Ville d'Arles", "insee": "13004",
                      "revision": "https://movilab.org/index.php?oldid=41820"}]


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
    assert select(sample_release, f"SELECT (COUNT(*) AS ?n) WHERE {{ <{ARLES}> a ?type }}") \
        == [{"n": "1"}]


def test_collectivities_table(sample_release: Path) -> None:
    assert rows(sample_release / "collectivites.csv") == [{
        "id": ARLES, "nom": "Ville d'Arles", "niveau": "commune", "niveau_libelle": "Commune",
        "code_insee": "13004",
        "siren": "", "site_web": "", "partenaires": ASSOCIATION, "pages": CONVENTION,
        "page_wiki": CONVENTION_ADDRESS,
    }]


def test_organisations_table(sample_release: Path) -> None:
    organisations = [r for r in rows(sample_release / "reseaux.csv") if r["type"] == "Organisation"]
    assert organisations == [{
        "id": ASSOCIATION, "nom": "Vers un tiers-lieu en Pays d'Arles", "type": "Organisation",
        "siren": "849313564", "siret": "84931356400015", "site_web": "", "membres": "",
        "partenaires": ARLES, "pages": CONVENTION, "page_wiki": CONVENTION_ADDRESS,
    }]
    pages = {r["titre"]: r for r in rows(sample_release / "pages.csv")}
    assert pages["Convention immobilière et de partenariat"]["decrit"] == f"{ARLES}|{ASSOCIATION}"
