"""The mapping coverage survey (tierslieux.pipeline.survey)."""

from __future__ import annotations

import json
from pathlib import Path

from storedpage import stored_page
from tierslieux.ontology.rules import Mapping
from tierslieux.pipeline.dump import read_dump, read_site_info
from tierslieux.pipeline.parse import parse_page
from tierslieux.model.records import StoredPage
from tierslieux.pipeline.store import Store
from tierslieux.pipeline.survey import TABLE_HEADER, survey_pages, survey_store


def rows_by(report, kind: str) -> dict[str, object]:
    return {r.name: r for r in report.rows if r.kind == kind}


def test_survey_of_the_sample_explains_everything(sample: dict[str, StoredPage],
                                                  mapping: Mapping) -> None:
    report = survey_pages((parse_page(p) for p in sample.values()), mapping)
    assert report.pages == len(sample)
    templates = rows_by(report, "template")
    assert templates["Tiers-lieu"].status == "mapped"
    assert "ThirdPlace" in templates["Tiers-lieu"].rule
    for name in ("Documentation explicative", "Ébauche", "Forum", "Soutenir Movilab",
                 "Pied de page Movilab", "Navigation tiers-lieu"):
        assert templates[name].status == "ignored", name
    nav = templates["Navigation tiers-lieu"]
    assert (nav.occurrences, nav.pages) == (3, 3)
    assert report.unmapped("template") == ()
    assert report.unmapped("param") == ()
    assert report.unmapped("category") == ()
    assert templates["Langue"].rule.startswith("shows text (inline_templates)")
    smw = rows_by(report, "smw-property")
    assert smw["Date de début"].status == "mapped" and "startDate" in smw["Date de début"].rule
    assert smw["A pour acteur"].status == "unmapped"
    assert smw["A pour acteur"].rule == "kept as tl:Annotation"
    assert set(rows_by(report, "subobject")) == {"Atelier gouvernance", "(anonymous)"}
    assert len(rows_by(report, "query")) == 1
    assert report.unmapped("inline-template") == ()
    params = rows_by(report, "param")
    assert params["Tiers-lieu/code postal"].status == "mapped"
    assert "postalCode" in params["Tiers-lieu/code postal"].rule
    headings = rows_by(report, "heading")
    for heading in ("Enjeux", "Facteurs", "Opportunités", "Objectifs", "Moyens d'actions",
                    "Principaux freins", "Principaux avantages", "Europe", "Quartier",
                    "Prestations", "Modèles économiques"):
        assert headings[heading].status == "mapped", heading
    assert headings["Le Lieu"].status == "unmapped"
    assert headings["Le Lieu"].rule == "kept as a plain section"
    categories = rows_by(report, "category")
    assert categories["Tiers-lieux"].pages == 4
    assert "status-closed" in categories["Tiers-lieux fermés"].rule
    # every row says what becomes of it
    assert all(r.rule for r in report.rows)


def test_unknown_things_are_listed_as_unmapped(mapping: Mapping) -> None:
    pages = [
        parse_page(stored_page("{{Fiche projet|porteur=A}}\n{{Tiers-lieu|couleur=bleu|ville=Caen}}\n"
                          "== Budget ==\n[[Catégorie:Projets]]", title="P1", page_id=1)),
        parse_page(stored_page("{{Fiche projet|porteur=B}}\n== budget ==", title="P2", page_id=2)),
    ]
    report = survey_pages(pages, mapping)
    unmapped = {(r.kind, r.name): r for r in report.unmapped()}
    assert unmapped[("template", "Fiche projet")].occurrences == 2
    assert unmapped[("template", "Fiche projet")].pages == 2
    assert ("param", "Fiche projet/porteur") in unmapped
    assert ("param", "Tiers-lieu/couleur") in unmapped
    assert ("category", "Projets") in unmapped
    budget = unmapped[("heading", "Budget")]  # "budget" is the same heading, folded
    assert (budget.key, budget.occurrences, budget.pages) == ("budget", 2, 2)
    assert report.summary()["param"] == {"unmapped": 2, "mapped": 1, "ignored": 0}


def test_json_and_table_output(sample: dict[str, StoredPage], mapping: Mapping) -> None:
    report = survey_pages((parse_page(p) for p in sample.values()), mapping)
    data = json.loads(report.to_json())
    assert data["pages"] == len(sample)
    assert len(data["rows"]) == len(report.rows)
    assert set(data["rows"][0]) == {"kind", "name", "key", "occurrences", "pages", "status",
                                    "rule"}
    assert data["summary"]["template"]["unmapped"] == 0
    assert report.to_json() == survey_pages(
        (parse_page(p) for p in reversed(list(sample.values()))), mapping).to_json()
    table = report.table_rows()
    assert table[0] == TABLE_HEADER
    assert len(table) == len(report.rows) + 1
    assert all(len(row) == len(TABLE_HEADER) for row in table)


def test_survey_store(tmp_path: Path, sample_xml: Path, mapping: Mapping,
                      sample: dict[str, StoredPage]) -> None:
    with Store(tmp_path / "store.sqlite") as store:
        store.set_site_info(read_site_info(sample_xml))
        store.upsert(read_dump(sample_xml))
        report = survey_store(store, mapping)
        pages = list(store.pages())
    assert report.failures == ()
    assert report == survey_pages((parse_page(p) for p in pages), mapping)
    assert report.pages == len(sample)
