"""The worked research questions (``tierslieux/queries/*.rq``) and their answers on the sample.

The release is the one ``tierslieux run`` builds from the bundled sample wiki, once per
session. Every query is answered through ``run_query`` and, on the same release, through HTTP
against ``serve``; both must give the expected rows.
"""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
import requests

from fixtures.oxigraph import count_release_triples, free_port
from tierslieux import sparql
from tierslieux.errors import ServeError

D = "https://w3id.org/tierslieux/movilab/"
TL = sparql.ONTOLOGY_NS
OLDID = "https://movilab.org/index.php?oldid="
SEED = "Développer des Tiers Lieux dans les collectivités"
SEED_KEY = SEED.replace(" ", "_")
FREINS = [
    "Un Tiers-Lieu = 1 bâtiment et du design... > ça ne marche pas.",
    "Les freins juridiques, comptables et administratifs : les appels d'offre, les marchés "
    "publics, les subventions et les prestations...",
    "Les Tiers-Lieux sont des télécentres... > ça ne marche pas.",
]
LEVELS = ["commune", "departement", "epci", "etat", "europe", "parc", "quartier", "region"]
PARTNERSHIPS = ["delegation-service-public", "mission-interet-general", "modele-economique",
                "prestation", "subvention"]
CHANGED_SINCE_2024 = [
    ("Construire et équilibrer son budget", "2026-02-10T12:30:00Z", 51936),
    ("Préfiguration", "2025-06-18T07:45:00Z", 48215),
    (SEED, "2024-04-03T13:15:00Z", 43905),
    ("Le manifeste des Tiers Lieux", "2024-01-30T10:20:00Z", 42601),
    ("Historique de Movilab", "2024-01-22T09:58:00Z", 42540),
]

#: query name -> expected rows, in order; a set is a " | "-separated GROUP_CONCAT (any order)
EXPECTED: dict[str, list[dict]] = {
    "places-by-town": [
        {"town": "(sans commune)", "places": "2", "names": {"Au Comptoir Numérique", "La Myne"}},
        {"town": "Colombelles", "places": "1", "names": {"Le WIP"}},
    ],
    "places-by-theme": [
        {"theme": TL + f"theme-{t}", "label": t, "places": "1", "names": {"Le WIP"}}
        for t in ("animation", "autre", "economique", "gouvernance")
    ],
    "closed-places": [
        {"place": f"{D}place/Au_Comptoir_Numérique", "name": "Au Comptoir Numérique",
         "closedSince": "2016", "note": "Espace physique fermé depuis 2016, mais la communauté "
                                        "se retrouve toujours via Coworking Sainté."},
        {"place": f"{D}place/Le_WIP", "name": "Le WIP", "closedSince": "2023-07",
         "note": "Espace physique fermé depuis juillet 2023"},
    ],
    "networks-and-members": [
        {"network": f"{D}network/france-tiers-lieux", "networkName": "France Tiers Lieux",
         "members": "1", "memberNames": {"Le WIP"}},
        {"network": f"{D}network/tilios", "networkName": "Tilios", "members": "1",
         "memberNames": {"Le WIP"}},
    ],
    # each concept is on its section and on the page; "Quartier" also on its 4 list items
    "levels-and-partnerships-by-page": [
        {"title": SEED, "kind": "collectivity level", "concept": TL + f"level-{level}",
         "label": level, "mentions": "6" if level == "quartier" else "2"}
        for level in LEVELS
    ] + [
        {"title": SEED, "kind": "partnership type", "concept": TL + f"partnership-{kind}",
         "label": kind, "mentions": "2"}
        for kind in PARTNERSHIPS
    ],
    "obstacles": [
        {"title": SEED, "heading": "Principaux freins", "order": str(n), "text": text,
         "statement": f"{D}page/{SEED_KEY}/section/principaux-freins/item/{n}"}
        for n, text in enumerate(FREINS, start=1)
    ],
    "pages-changed-since": [
        {"title": title, "modified": ts, "revision": f"{OLDID}{rev}"}
        for title, ts, rev in CHANGED_SINCE_2024
    ],
    "provenance-of-a-fact": [
        {"place": f"{D}place/Le_WIP", "postalCode": "14460", "title": "Le WIP",
         "page": f"{D}page/Le_WIP", "revision": f"{OLDID}41102", "revisionId": "41102",
         "date": "2023-07-20T17:31:00Z", "contributor": "Noé Fabre"},
    ],
    "statements-by-kind": [
        {"title": SEED, "kind": TL + f"kind-{kind}", "label": kind, "statements": str(n)}
        for kind, n in [("enjeu", 4), ("facteur", 4), ("objectif", 4), ("opportunite", 4),
                        ("frein", 3), ("moyen-action", 2), ("avantage", 1)]
    ],
    "contributors": [
        {"who": "Camille Vidal", "role": "last edit", "count": "3", "contributions": {
            "Le manifeste des Tiers Lieux", "Au Comptoir Numérique", "Le Comptoir Numérique"}},
        {"who": "Dominique Perrin", "role": "last edit", "count": "2", "contributions": {
            SEED, "Historique de Movilab"}},
        {"who": "Lou Garnier", "role": "last edit", "count": "2", "contributions": {
            "Construire et équilibrer son budget", "Les réseaux de tiers-lieux"}},
        {"who": "Noé Fabre", "role": "last edit", "count": "3", "contributions": {
            "Convention immobilière et de partenariat", "Préfiguration", "Le WIP"}},
        {"who": "Sacha Morel", "role": "last edit", "count": "2", "contributions": {
            "La Myne", "La Myne/2"}},
        {"who": "ophélie Deyrolle", "role": "contributor", "count": "1",
         "contributions": {"Le WIP"}},
        {"who": "ophélie Deyrolle", "role": "referent", "count": "1", "contributions": {"Le WIP"}},
    ],
    "pages-per-category": [
        {"category": "Documentation", "pages": "5", "titles": {
            SEED, "Historique de Movilab", "Le manifeste des Tiers Lieux", "Préfiguration",
            "Construire et équilibrer son budget"}},
        {"category": "Tiers-lieux", "pages": "4", "titles": {
            "Le WIP", "La Myne", "La Myne/2", "Au Comptoir Numérique"}},
        {"category": "Collectivités", "pages": "2", "titles": {
            SEED, "Convention immobilière et de partenariat"}},
        {"category": "Tiers-lieux fermés", "pages": "2", "titles": {
            "Le WIP", "Au Comptoir Numérique"}},
        {"category": "Réseaux", "pages": "1", "titles": {"Les réseaux de tiers-lieux"}},
    ],
    "module-audiences": [
        {"title": SEED, "audience": TL + "audience-personnel", "label": "personnel",
         "text": "Personnel : Citoyens, groupes, communautés"},
        {"title": SEED, "audience": TL + "audience-prive", "label": "prive",
         "text": "Privé : Consultants, formateurs, animateurs, coachs"},
        {"title": SEED, "audience": TL + "audience-public", "label": "public",
         "text": "Public : Élus, responsables, chargés de mission"},
    ],
}
NAMES = sorted(EXPECTED)


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def sample_endpoint(sample_release):
    try:
        endpoint = sparql.start_endpoint(sample_release, port=free_port())
    except ServeError as exc:
        if "not installed" in str(exc) and os.environ.get("CI") != "true":
            pytest.skip(str(exc))
        raise
    with endpoint:
        yield endpoint


def _rows(csv_text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text)))


def _check(rows: list[dict[str, str]], expected: list[dict]) -> None:
    assert len(rows) == len(expected), rows
    for row, want in zip(rows, expected):
        assert set(row) == set(want)
        assert {k: (set(row[k].split(" | ")) if isinstance(v, set) else row[k])
                for k, v in want.items()} == want


# ------------------------------------------------------------------------------ tests


def test_every_worked_query_has_an_expected_answer():
    assert NAMES == sorted(q.name for q in sparql.worked_queries())


@pytest.mark.parametrize("name", NAMES)
def test_worked_query_on_the_sample(sample_release, name):
    text = sparql.worked_query(name).text
    _check(_rows(sparql.run_query(sample_release, text, "csv")), EXPECTED[name])


@pytest.mark.integration
@pytest.mark.parametrize("name", NAMES)
def test_worked_query_through_serve(sample_endpoint, sample_release, name):
    text = sparql.worked_query(name).text
    response = requests.post(sample_endpoint.url, data={"query": text}, timeout=30,
                             headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.text
    _check(_rows(response.text), EXPECTED[name])
    remote = requests.get(sample_endpoint.url, params={"query": text}, timeout=30,
                          headers={"Accept": "application/sparql-results+json"}).json()
    assert remote == json.loads(sparql.run_query(sample_release, text, "json"))


def test_pages_changed_since_another_date(sample_release):
    text = sparql.worked_query("pages-changed-since").text.replace(
        '"2024-01-01T00:00:00Z"', '"2025-01-01T00:00:00Z"')
    assert [r["title"] for r in _rows(sparql.run_query(sample_release, text, "csv"))] == [
        "Construire et équilibrer son budget", "Préfiguration"]


def test_worked_query_as_a_table(sample_release):
    lines = sparql.run_query(sample_release, sparql.worked_query("closed-places").text).splitlines()
    assert lines[0].split() == ["place", "name", "closedSince", "note"]
    assert lines[2].startswith(f"<{D}place/Au_Comptoir_Numérique>  Au Comptoir Numérique  2016 ")
    assert lines[3].startswith(f"<{D}place/Le_WIP>                 Le WIP                 2023-07")
    assert lines[-1] == "(2 rows)"


def test_sample_release_is_pushed_with_its_dataset_iri(sample_release):
    assert sparql.default_graph(sample_release) == f"{D}dataset"


@pytest.mark.integration
def test_push_the_sample_and_count(oxigraph, sample_release):
    result = sparql.push(sample_release, oxigraph.store)
    rows = oxigraph.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{result.graph}> "
                           "{ ?s ?p ?o } }")
    local = _rows(sparql.run_query(sample_release,
                                   "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "csv"))
    assert int(rows[0]["n"]) == int(local[0]["n"]) == count_release_triples(sample_release)
    assert result.triples == count_release_triples(sample_release)
    # a worked query gives the same answer on the external store, inside the pushed graph
    text = sparql.worked_query("statements-by-kind").text.replace(
        "WHERE {", f"FROM <{result.graph}> WHERE {{", 1)
    remote = oxigraph.select(text)
    assert [(r["label"], r["statements"]) for r in remote] == [
        (row["label"], row["statements"]) for row in EXPECTED["statements-by-kind"]]
