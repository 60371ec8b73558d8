"""The worked research questions (``tierslieux/queries/*.rq``) and their answers on the sample.

The release is the one ``tierslieux run`` builds from the bundled sample wiki, once per
session. Every query is answered through ``run_query`` and, on the same release, through HTTP
against ``serve``; both must give the expected rows.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
import requests

from fixtures.oxigraph import count_release_triples, start_serve
from tierslieux.ontology import ONTOLOGY_NS
from tierslieux.sparql.cache import default_graph
from tierslieux.sparql.push import push
from tierslieux.sparql.query import run_query, worked_queries, worked_query

D = "https://w3id.org/tierslieux/movilab/"
TL = ONTOLOGY_NS
OLDID = "https://movilab.org/index.php?oldid="
SEED = "Développer des Tiers Lieux dans les collectivités"
SEED_KEY = SEED.replace(" ", "_")
FREINS = [
    "Un Tiers-Lieu = 1 bâtiment et du design... > ça ne marche pas.",
    "Les freins juridiques, comptables et administratifs : les appels d'offre, les marchés "
    "publics, les subventions et les prestations...",
    "Les Tiers-Lieux sont des télécentres... > ça ne marche pas.",
]
#: concept -> its French skos:prefLabel (from ontology.ttl, loaded beside the data)
LEVELS = {"commune": "Commune", "departement": "Département", "epci": "EPCI", "etat": "État",
          "europe": "Europe", "parc": "Parc naturel régional", "quartier": "Quartier",
          "region": "Région"}
PARTNERSHIPS = {"delegation-service-public": "Délégation de service public",
                "mission-interet-general": "Mission d'intérêt général",
                "modele-economique": "Modèle économique", "prestation": "Prestation",
                "subvention": "Subvention"}
CHANGED_SINCE_2024 = [
    ("Badge inter-lieux", "2026-02-16T11:30:00Z", 52020),
    ("Rencontre des fabriques 2021", "2026-02-16T10:05:00Z", 52014),
    ("Propriété:Compétences", "2026-02-16T09:20:00Z", 52011),
    ("Propriété:A pour acteur", "2026-02-16T09:00:00Z", 52010),
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
    "places-per-region": [
        {"region": f"{D}collectivity/region/28", "code": "28", "name": "Normandie", "places": "1",
         "names": {"Le WIP"}},
    ],
    "places-per-departement": [
        {"departement": f"{D}collectivity/departement/14", "code": "14", "name": "Calvados",
         "regionCode": "28", "places": "1", "names": {"Le WIP"}},
    ],
    "places-per-epci": [
        {"epci": f"{D}collectivity/epci/200065597", "siren": "200065597", "name": "CU Caen la Mer",
         "level": "Communauté urbaine", "places": "1", "names": {"Le WIP"}},
    ],
    "collectivities-by-page": [
        {"title": "Convention immobilière et de partenariat", "how": how, "level": "Commune",
         "collectivity": f"{D}collectivity/commune/13004", "name": "Arles"}
        for how in ("partner", "record")
    ] + [
        {"title": "Le WIP", "how": "place", "level": level, "name": name,
         "collectivity": f"{D}collectivity/{kind}/{code}"}
        for kind, code, name, level in [
            ("commune", "14167", "Colombelles", "Commune"),
            ("departement", "14", "Calvados", "Département"),
            ("epci", "200065597", "CU Caen la Mer", "Communauté urbaine"),
            ("region", "28", "Normandie", "Région")]
    ],
    "places-by-theme": [
        {"theme": TL + f"theme-{t}", "label": label, "places": "1", "names": {"Le WIP"}}
        for t, label in (("animation", "Animation"), ("autre", "Autre"),
                         ("gouvernance", "Gouvernance"), ("economique", "Économique"))
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
         "label": label, "mentions": "6" if level == "quartier" else "2"}
        for level, label in LEVELS.items()
    ] + [
        {"title": SEED, "kind": "partnership type", "concept": TL + f"partnership-{kind}",
         "label": label, "mentions": "2"}
        for kind, label in PARTNERSHIPS.items()
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
        {"title": SEED, "kind": TL + f"kind-{kind}", "label": label, "statements": str(n)}
        for kind, label, n in [("enjeu", "Enjeu", 4), ("facteur", "Facteur", 4),
                               ("objectif", "Objectif", 4), ("opportunite", "Opportunité", 4),
                               ("frein", "Frein", 3), ("moyen-action", "Moyen d'action", 2),
                               ("avantage", "Avantage", 1)]
    ],
    "contributors": [
        {"who": "Camille Vidal", "role": "last edit", "count": "3", "contributions": {
            "Le manifeste des Tiers Lieux", "Au Comptoir Numérique", "Le Comptoir Numérique"}},
        {"who": "Dominique Perrin", "role": "last edit", "count": "2", "contributions": {
            SEED, "Historique de Movilab"}},
        {"who": "Lou Garnier", "role": "last edit", "count": "3", "contributions": {
            "Badge inter-lieux", "Construire et équilibrer son budget",
            "Les réseaux de tiers-lieux"}},
        {"who": "Noé Fabre", "role": "last edit", "count": "5", "contributions": {
            "Convention immobilière et de partenariat", "Préfiguration", "Le WIP",
            "Propriété:A pour acteur", "Propriété:Compétences"}},
        {"who": "Sacha Morel", "role": "last edit", "count": "3", "contributions": {
            "La Myne", "La Myne/2", "Rencontre des fabriques 2021"}},
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
        {"category": "Communs", "pages": "1", "titles": {"Badge inter-lieux"}},
        {"category": "Rencontres", "pages": "1", "titles": {"Rencontre des fabriques 2021"}},
        {"category": "Réseaux", "pages": "1", "titles": {"Les réseaux de tiers-lieux"}},
    ],
    "module-audiences": [
        {"title": SEED, "audience": TL + "audience-personnel", "label": "Personnel",
         "text": "Personnel : Citoyens, groupes, communautés"},
        {"title": SEED, "audience": TL + "audience-prive", "label": "Privé",
         "text": "Privé : Consultants, formateurs, animateurs, coachs"},
        {"title": SEED, "audience": TL + "audience-public", "label": "Public",
         "text": "Public : Élus, responsables, chargés de mission"},
    ],
}
NAMES = sorted(EXPECTED)


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def sample_endpoint(sample_release):
    with start_serve(sample_release) as endpoint:
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
    assert NAMES == sorted(q.name for q in worked_queries())


@pytest.mark.parametrize("name", NAMES)
def test_worked_query_on_the_sample(sample_release, name):
    text = worked_query(name).text
    _check(_rows(run_query(sample_release, text, "csv")), EXPECTED[name])


@pytest.mark.integration
@pytest.mark.parametrize("name", NAMES)
def test_worked_query_through_serve(sample_endpoint, sample_release, name):
    text = worked_query(name).text
    response = requests.post(sample_endpoint.url, data={"query": text}, timeout=30,
                             headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.text
    _check(_rows(response.text), EXPECTED[name])
    remote = requests.get(sample_endpoint.url, params={"query": text}, timeout=30,
                          headers={"Accept": "application/sparql-results+json"}).json()
    assert remote == json.loads(run_query(sample_release, text, "json"))


def test_pages_changed_since_another_date(sample_release):
    text = worked_query("pages-changed-since").text.replace(
        '"2024-01-01T00:00:00Z"', '"2025-01-01T00:00:00Z"')
    assert [r["title"] for r in _rows(run_query(sample_release, text, "csv"))] == [
        "Badge inter-lieux", "Rencontre des fabriques 2021", "Propriété:Compétences",
        "Propriété:A pour acteur", "Construire et équilibrer son budget", "Préfiguration"]


def test_worked_query_as_a_table(sample_release):
    lines = run_query(sample_release, worked_query("closed-places").text).splitlines()
    assert lines[0].split() == ["place", "name", "closedSince", "note"]
    assert lines[2].startswith(f"<{D}place/Au_Comptoir_Numérique>  Au Comptoir Numérique  2016 ")
    assert lines[3].startswith(f"<{D}place/Le_WIP>                 Le WIP                 2023-07")
    assert lines[-1] == "(2 rows)"


def test_sample_release_is_pushed_with_its_dataset_iri(sample_release):
    assert default_graph(sample_release) == f"{D}dataset"


@pytest.mark.integration
def test_push_the_sample_and_count(oxigraph, sample_release):
    result = push(sample_release, oxigraph.store)
    rows = oxigraph.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{result.graph}> "
                           "{ ?s ?p ?o } }")
    # locally the data is one named graph of the store, beside the vocabulary and catalogue
    local = _rows(run_query(sample_release, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH "
                                   f"<{result.graph}> {{ ?s ?p ?o }} }}", "csv"))
    assert int(rows[0]["n"]) == int(local[0]["n"]) == count_release_triples(sample_release)
    assert result.triples == count_release_triples(sample_release)
    # a worked query gives the same answer on the external store, inside the pushed graph
    # (the data alone: labels fall back to the concepts' local names there and here)
    text = worked_query("statements-by-kind").text.replace(
        "WHERE {", f"FROM <{result.graph}> WHERE {{", 1)
    remote = oxigraph.select(text)
    here = _rows(run_query(sample_release, text, "csv"))
    assert [(r["label"], r["statements"]) for r in remote] == [
        (r["label"], r["statements"]) for r in here]
    assert sorted((r["kind"], r["statements"]) for r in remote) == sorted(
        (row["kind"], row["statements"]) for row in EXPECTED["statements-by-kind"])


LABELS = ("SELECT (COUNT(*) AS ?n) WHERE { ?concept skos:prefLabel ?label }")


@pytest.mark.integration
def test_concept_labels_through_query_and_serve(sample_endpoint, sample_release):
    """The vocabulary is served beside the data: skos:prefLabel counts the same both ways."""
    text = "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n" + LABELS
    local = int(_rows(run_query(sample_release, text, "csv"))[0]["n"])
    remote = requests.post(sample_endpoint.url, data={"query": text}, timeout=30,
                           headers={"Accept": "text/csv"})
    assert remote.status_code == 200, remote.text
    assert int(_rows(remote.text)[0]["n"]) == local > 0
    # the label of a concept the data uses, in French, through the endpoint
    ask = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
           f"PREFIX tl: <{TL}> ASK {{ ?place tl:theme ?t . "
           '?t skos:prefLabel "Économique"@fr }')
    answer = requests.post(sample_endpoint.url, data={"query": ask}, timeout=30,
                           headers={"Accept": "application/sparql-results+json"}).json()
    assert answer["boolean"] is True
    # the three files of the release are three named graphs
    graphs = requests.post(sample_endpoint.url, timeout=30, headers={"Accept": "text/csv"},
                           data={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"})
    assert sorted(r["g"] for r in _rows(graphs.text)) == [
        f"{D}catalog", f"{D}dataset", TL.rstrip("#")]
