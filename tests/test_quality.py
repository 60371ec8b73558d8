"""The editors' quality report: ``quality.csv`` and the ``quality`` section of report.json.

Built through the real pipeline (an XML export or a real MediaWiki -> store -> build), with
broken values planted in ``{{Tiers-lieu}}`` records.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import fields
from pathlib import Path

import pytest
import requests

from exportxml import Page, Rev, export
from tierslieux.exports.quality import (
    COLUMNS,
    QUALITY_FILE,
    QualityRow,
    quality_rows,
    write_quality,
)
from tierslieux.runner.build import BuildOptions, build
from tierslieux.pipeline.harvest import harvest_dump, harvest_wiki
from tierslieux.model.records import Issue, SiteInfo
from tierslieux.pipeline.store import Store

HEADER = ["titre", "adresse_page", "champ", "modele", "parametre", "valeur_originale",
          "valeur_retenue", "gravite", "message"]
BROKEN_TITLE = "Le Wip d'été"
BROKEN = """{{Tiers-lieu
|nom court=Wip
|code postal=1446O
|site=htp//le-wip
|ville=Colombelles
}}
Un lieu de test.
[[Catégorie:Tiers-lieux]]"""
CORRECTED = "{{Tiers-lieu|code postal=14 460|ville=Colombelles}}\n[[Catégorie:Tiers-lieux]]"
#: all the national schema needs (lieux_mediation_numerique.csv): no row in quality.csv
CLEAN = ("{{Tiers-lieu|adresse=Rue des Ateliers|code postal=14460|site=https://le-wip.example/"
         "|ville=Colombelles}}")
NATIONAL = "table:lieux_mediation_numerique.csv"
PLACE = "https://w3id.org/tierslieux/movilab/place/"
POSTCODE_MESSAGE = "not a French postal code (five digits)"
URL_MESSAGE = "not a web address"


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def build_from_export(tmp_path: Path, pages: list[Page], out: str = "exports") -> Path:
    dump = tmp_path / "wiki.xml"
    dump.write_text(export(pages), encoding="utf-8")
    store = tmp_path / "store.sqlite"
    if not store.exists():
        with Store(store) as opened:
            harvest_dump(dump, opened)
    build(store, tmp_path / out, BuildOptions(started="2025-01-01T00:00:00Z"))
    return tmp_path / out


# --------------------------------------------------------------------------- from an XML export


def test_broken_postcode_and_url_are_listed_with_the_page_address(tmp_path: Path) -> None:
    out = build_from_export(tmp_path, [
        Page(1, BROKEN_TITLE, [Rev(10, BROKEN)]),
        Page(2, "Atelier B", [Rev(11, CORRECTED)]),
        Page(3, "Lieu propre", [Rev(12, CLEAN)]),
    ])
    address = "https://wiki.example.org/wiki/Le_Wip_d%27%C3%A9t%C3%A9"
    assert read_csv(out / QUALITY_FILE) == [
        HEADER,
        ["Atelier B", "https://wiki.example.org/wiki/Atelier_B", "param:Tiers-lieu/code postal",
         "Tiers-lieu", "code postal", "14 460", "14460", "warning",
         "postal code written with separators"],
        ["Atelier B", "https://wiki.example.org/wiki/Atelier_B", NATIONAL, "", "", "", "",
         "warning", f"{PLACE}Atelier_B left out of lieux_mediation_numerique.csv: no adresse"],
        [BROKEN_TITLE, address, "param:Tiers-lieu/code postal", "Tiers-lieu", "code postal",
         "1446O", "", "warning", POSTCODE_MESSAGE],
        [BROKEN_TITLE, address, "param:Tiers-lieu/site", "Tiers-lieu", "site", "htp//le-wip",
         "", "warning", URL_MESSAGE],
        [BROKEN_TITLE, address, NATIONAL, "", "", "", "", "warning",
         f"{PLACE}Le_Wip_d'été left out of lieux_mediation_numerique.csv: no code_postal; "
         "no adresse"],
    ]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    quality = report["quality"]
    assert (quality["rows"], quality["pages_count"], quality["count"]) == (
        5, 2, {"error": 0, "warning": 5})
    assert [p["titre"] for p in quality["pages"]] == ["Atelier B", BROKEN_TITLE]
    broken = quality["pages"][1]
    assert broken["adresse_page"] == address
    assert [(p["parametre"], p["valeur_originale"], p["valeur_retenue"])
            for p in broken["problemes"]] == [("code postal", "1446O", ""),
                                              ("site", "htp//le-wip", ""), ("", "", "")]


def test_quality_csv_is_described_checked_and_summed(tmp_path: Path) -> None:
    import frictionless

    out = build_from_export(tmp_path, [Page(1, BROKEN_TITLE, [Rev(10, BROKEN)])])
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    resource = next(r for r in package["resources"] if r["path"] == QUALITY_FILE)
    assert [f["name"] for f in resource["schema"]["fields"]] == HEADER
    assert resource["bytes"] == (out / QUALITY_FILE).stat().st_size
    assert frictionless.validate(str(out / "datapackage.json")).valid
    sums = (out / "SHA256SUMS").read_text(encoding="utf-8")
    assert f"  {QUALITY_FILE}\n" in sums
    catalog = (out / "catalog.ttl").read_text(encoding="utf-8")
    assert f"<https://w3id.org/tierslieux/movilab/distribution/{QUALITY_FILE}>" in catalog
    assert f"dcat:downloadURL <https://w3id.org/tierslieux/movilab/release/{QUALITY_FILE}>" \
        in catalog


def test_two_builds_give_the_same_quality_report(tmp_path: Path) -> None:
    pages = [Page(1, BROKEN_TITLE, [Rev(10, BROKEN)]), Page(2, "Atelier B", [Rev(11, CORRECTED)])]
    first = build_from_export(tmp_path, pages, "a")
    second = build_from_export(tmp_path, pages, "b")
    for name in (QUALITY_FILE, "datapackage.json", "catalog.ttl", "SHA256SUMS"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_a_clean_wiki_has_a_header_only_report(tmp_path: Path) -> None:
    out = build_from_export(tmp_path, [Page(1, "Lieu propre", [Rev(10, CLEAN)])])
    assert (out / QUALITY_FILE).read_text(encoding="utf-8") == ",".join(HEADER) + "\n"


def test_the_sample_release_lists_only_the_places_left_out_of_the_national_table(
        sample_release: Path) -> None:
    """The sample's values are all taken as written; its three places are not in
    lieux_mediation_numerique.csv (two closed, one without an address), and say so; the two
    entities named two ways have the label kept and the other spelling (pipeline/labels.py).
    None of these rows is a warning of the build."""
    rows = read_csv(sample_release / QUALITY_FILE)
    assert rows[0] == HEADER
    assert [(r[0], r[2], r[8].split(": ", 1)[1]) for r in rows[1:] if r[2] == NATIONAL] == [
        ("Au Comptoir Numérique", NATIONAL,
         "the place is closed (the national schema lists places that receive the public)"),
        ("La Myne", NATIONAL, "no commune; no code_postal; no adresse"),
        ("Le WIP", NATIONAL,
         "the place is closed (the national schema lists places that receive the public)"),
    ]
    assert [(r[0], r[5], r[6], r[7]) for r in rows[1:] if r[2] == "label"] == [
        ("Convention immobilière et de partenariat", "Ville d'Arles", "Arles", "warning"),
        ("Le WIP", "ophélie deyrolle", "ophélie Deyrolle", "warning"),
    ]
    report = json.loads((sample_release / "report.json").read_text(encoding="utf-8"))
    assert report["quality"]["rows"] == 5
    assert report["tables"]["lieux_mediation_numerique.csv"] == {"rows": 0, "left_out": 3}


# --------------------------------------------------------------------------- the rows


SITE = SiteInfo(sitename="Movilab", article_path="https://movilab.org/wiki/$1",
                script_url="https://movilab.org/index.php")


def test_rows_keep_warnings_and_errors_only_sorted_and_unique(tmp_path: Path) -> None:
    issues = [
        Issue("Zèbre", "warning", "param:Tiers-lieu/site", "htp//x", "", "not a web address"),
        Issue("Zèbre", "info", "heading:Histoire", "Histoire", "section", "no heading rule"),
        Issue("Café & Co/2", "error", "param:Tiers-lieu/nom court", "", "",
              "required parameter missing or empty"),
        Issue("Zèbre", "warning", "param:Tiers-lieu/site", "htp//x", "", "not a web address"),
        Issue("Abeille", "warning", "page", "", "", "not parsed: too deep"),
    ]
    rows = quality_rows(issues, SITE)
    assert [(r.title, r.field, r.template, r.parameter, r.severity) for r in rows] == [
        ("Abeille", "page", "", "", "warning"),
        ("Café & Co/2", "param:Tiers-lieu/nom court", "Tiers-lieu", "nom court", "error"),
        ("Zèbre", "param:Tiers-lieu/site", "Tiers-lieu", "site", "warning"),
    ]
    assert rows[1].address == "https://movilab.org/wiki/Caf%C3%A9_%26_Co/2"
    assert quality_rows(issues, None)[0].address == ""


def test_formulas_are_neutralised_in_the_csv_only(tmp_path: Path) -> None:
    issue = Issue("Lieu", "warning", "param:Tiers-lieu/site", '=HYPERLINK("http://x")', "",
                  "not a web address")
    rows = quality_rows([issue], SITE)
    assert write_quality(rows, tmp_path) == 1
    cells = read_csv(tmp_path / QUALITY_FILE)[1]
    assert cells[HEADER.index("valeur_originale")] == '\'=HYPERLINK("http://x")'
    assert rows[0].original == '=HYPERLINK("http://x")'
    assert [c[0] for c in COLUMNS] == HEADER
    assert [c[1] for c in COLUMNS] == [f.name for f in fields(QualityRow)]


# --------------------------------------------------------------------------- a real MediaWiki


@pytest.mark.integration
def test_quality_report_of_a_page_edited_on_a_real_wiki(fresh_mediawiki, tmp_path: Path) -> None:
    wiki = fresh_mediawiki
    title = "Atelier d'été & co (test)"
    wiki.site().pages[title].edit(BROKEN, summary="test: valeurs cassées")
    store = tmp_path / "store.sqlite"
    with Store(store) as opened:
        harvest_wiki(wiki.base + "/", opened, delay=0)
    build(store, tmp_path / "exports")
    rows = read_csv(tmp_path / "exports" / QUALITY_FILE)
    national = [r for r in rows if r[2] == NATIONAL]
    assert [title, "no code_postal; no adresse"] in [[r[0], r[8].split(": ", 1)[1]]
                                                     for r in national]
    rows = [r for r in rows if r[2] not in (NATIONAL, "label")]  # label: see test_names.py
    info = requests.get(wiki.api, params={
        "action": "query", "prop": "info", "inprop": "url", "titles": title, "format": "json",
        "formatversion": "2"}, timeout=30).json()["query"]["pages"][0]
    assert rows == [
        HEADER,
        [title, info["fullurl"], "param:Tiers-lieu/code postal", "Tiers-lieu", "code postal",
         "1446O", "", "warning", POSTCODE_MESSAGE],
        [title, info["fullurl"], "param:Tiers-lieu/site", "Tiers-lieu", "site", "htp//le-wip",
         "", "warning", URL_MESSAGE],
    ]
