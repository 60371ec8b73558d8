"""The bundled sample wiki: a MediaWiki export-0.11 file rebuilt from rendered Movilab pages."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import mwparserfromhell
import pytest
import yaml
from defusedxml.ElementTree import parse as parse_xml

from tierslieux.pipeline.dump import read_dump, read_site_info

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tierslieux" / "sample" / "movilab-sample.xml"
SOURCES = ROOT / "sample-src"
RENDERED = SOURCES / "rendered"
SEED_TITLE = "Développer des Tiers Lieux dans les collectivités"
SEED_RENDER = RENDERED / "seed_Developper_des_Tiers_Lieux_dans_les_collectivites.txt"
EDIT_LINK = "[modifier | modifier le wikicode]"
NS = "{http://www.mediawiki.org/xml/export-0.11/}"

REQUIRED_TITLES = {
    SEED_TITLE,
    "Le WIP",
    "Modèle:Tiers-lieu",
    "La Myne",
    "La Myne/2",
    "Au Comptoir Numérique",
    "Convention immobilière et de partenariat",
    "Les réseaux de tiers-lieux",
    "Historique de Movilab",
    "Le manifeste des Tiers Lieux",
    "Discussion:Le manifeste des Tiers Lieux",
    "Le Comptoir Numérique",
    "Préfiguration",
    "Construire et équilibrer son budget",
    "Catégorie:Tiers-lieux",
}

SEED_TOP_SECTIONS = {
    "Les Tiers-Lieux et les territoires",
    "La vision des Tiers-Lieux propre aux collectivités",
    "Fonctionnement des collectivités par type",
    "Partenariats possibles",
    "Éthique, droits et devoirs",
    "Ressources complémentaires",
    "Exemples documentés",
}

LE_WIP_RECORD = {
    "nom court": "Le Wip",
    "thème": "Gouvernance, Animation, Economique, Autre",
    "adresse": "Rue des Ateliers",
    "code postal": "14460",
    "ville": "Colombelles",
    "site": "https://www.le-wip.com/",
    "courriel": "bonjour@le-wip.com",
    "téléphone": "02 52 56 98 07",
    "réseaux": "France Tiers Lieux, Tilios",
    "contributeurs": "ophélie Deyrolle",
    "référent": "ophélie deyrolle",
    "description": (
        "les lieux infinis : des endroits qui sont conçus, pensés et animés de façon à ce que "
        "tout soit possible L’objectif du Wip est de proposer des alternatives dans nos façons "
        "de travailler, de vivre et d’interagir ensemble, pour un territoire capable de mieux "
        "répondre aux défis écologiques et sociaux."
    ),
    "fermeture": "Espace physique fermé depuis juillet 2023",
}


def _norm(text: str) -> str:
    """MediaWiki renders French spaces (before : ; ! ? », after «) as no-break spaces."""
    return re.sub(r"[\s\u00a0\u202f]+", " ", text).strip()


def _base36_sha1(text: str) -> str:
    number = int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16)
    digits = ""
    while number:
        number, rest = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
    return digits.rjust(31, "0")


@pytest.fixture(scope="module")
def pages() -> dict[str, object]:
    return {page.title: page for page in read_dump(SAMPLE)}


@pytest.fixture(scope="module")
def xml_pages() -> dict[str, object]:
    """title -> <page> element, read with defusedxml (all revisions, not only the latest)."""
    root = parse_xml(SAMPLE).getroot()
    return {page.findtext(f"{NS}title"): page for page in root.iter(f"{NS}page")}


@pytest.fixture(scope="module")
def seed_render() -> str:
    return SEED_RENDER.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed_text(pages) -> str:
    return pages[SEED_TITLE].text


def _rendered_headings(render: str) -> list[str]:
    return [
        _norm(line.strip()[: -len(EDIT_LINK)])
        for line in render.splitlines()
        if line.strip().endswith(EDIT_LINK)
    ]


def _rendered_bullets(render: str) -> list[str]:
    return [_norm(line.strip()[1:]) for line in render.splitlines() if line.strip().startswith("•")]


# ------------------------------------------------------------------------- the file


def test_build_script_reproduces_the_file_byte_for_byte(tmp_path):
    outputs = []
    for name in ("a.xml", "b.xml"):
        out = tmp_path / name
        subprocess.run(
            [sys.executable, str(SOURCES / "build_sample.py"), "--output", str(out)],
            check=True, capture_output=True,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1], "the build is not deterministic"
    assert outputs[0] == SAMPLE.read_bytes(), "run python sample-src/build_sample.py"


def test_sample_is_shipped_in_the_package():
    assert (files("tierslieux") / "sample" / "movilab-sample.xml").is_file()
    assert (files("tierslieux") / "sample" / "ATTRIBUTION.md").is_file()


def test_header_is_a_french_export_0_11():
    head = SAMPLE.read_text(encoding="utf-8").split("\n", 1)[0]
    assert head.startswith('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" ')
    assert 'version="0.11" xml:lang="fr">' in head


def test_site_info():
    site = read_site_info(SAMPLE)
    assert (site.sitename, site.dbname, site.generator, site.lang) == (
        "Movilab", "movilab", "MediaWiki 1.39.17", "fr",
    )
    assert site.article_path == "https://movilab.org/wiki/$1"
    assert site.script_url == "https://movilab.org/index.php"
    names = dict(site.namespaces)
    assert [key for key, _ in site.namespaces] == [*range(-2, 16), 102, 103]
    assert (names[0], names[1], names[4], names[10], names[14], names[102]) == (
        "", "Discussion", "Movilab", "Modèle", "Catégorie", "Propriété",
    )


def test_pages_and_namespaces(pages):
    assert len(pages) >= 12
    assert REQUIRED_TITLES <= set(pages)
    assert {0, 1, 10, 14} <= {page.namespace for page in pages.values()}
    assert len({page.page_id for page in pages.values()}) == len(pages)


def test_redirect(pages):
    redirect = pages["Le Comptoir Numérique"]
    assert redirect.redirect == "Au Comptoir Numérique"
    assert redirect.text == "#REDIRECTION [[Au Comptoir Numérique]]"
    assert [p.title for p in pages.values() if p.redirect] == ["Le Comptoir Numérique"]


def test_revision_histories(xml_pages, pages):
    rev_ids: set[int] = set()
    for title, page in xml_pages.items():
        revisions = page.findall(f"{NS}revision")
        assert revisions, title
        previous = None
        for rev in revisions:
            rev_id = int(rev.findtext(f"{NS}id"))
            assert rev_id not in rev_ids
            rev_ids.add(rev_id)
            parent = rev.findtext(f"{NS}parentid")
            assert (int(parent) if parent else None) == previous, title
            timestamp = rev.findtext(f"{NS}timestamp")
            assert "2023-01-01T00:00:00Z" <= timestamp <= "2026-10-31T23:59:59Z", title
            assert rev.findtext(f"{NS}model") == "wikitext"
            assert rev.findtext(f"{NS}format") == "text/x-wiki"
            assert rev.find(f"{NS}contributor/{NS}username").text
            previous = rev_id
        assert pages[title].rev_id == previous


def test_seed_page_has_three_revisions_by_three_contributors(xml_pages, pages):
    revisions = xml_pages[SEED_TITLE].findall(f"{NS}revision")
    assert len(revisions) >= 3
    users = {rev.findtext(f"{NS}contributor/{NS}username") for rev in revisions}
    assert len(users) >= 3
    sizes = [int(rev.find(f"{NS}text").get("bytes")) for rev in revisions]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1], "earlier revisions are shorter"
    assert len(pages[SEED_TITLE].contributors) >= 3
    all_users = {
        rev.findtext(f"{NS}contributor/{NS}username")
        for page in xml_pages.values() for rev in page.findall(f"{NS}revision")
    }
    assert len(all_users) >= 3


def test_text_sizes_and_base36_sha1(xml_pages):
    for title, page in xml_pages.items():
        for rev in page.findall(f"{NS}revision"):
            text_elem = rev.find(f"{NS}text")
            text = text_elem.text or ""
            assert int(text_elem.get("bytes")) == len(text.encode("utf-8")), title
            assert text_elem.get("sha1") == rev.findtext(f"{NS}sha1") == _base36_sha1(text), title


# ------------------------------------------------------------------------- contents


def test_le_wip_record_has_every_parameter(pages):
    code = mwparserfromhell.parse(pages["Le WIP"].text)
    calls = [t for t in code.filter_templates(recursive=False) if t.name.strip() == "Tiers-lieu"]
    assert len(calls) == 1
    params = {str(p.name).strip(): str(p.value).strip() for p in calls[0].params}
    assert params == LE_WIP_RECORD
    assert "[[Catégorie:Tiers-lieux]]" in pages["Le WIP"].text
    assert "[[Catégorie:Tiers-lieux fermés]]" in pages["Le WIP"].text


def test_template_page_uses_every_parameter(pages):
    text = pages["Modèle:Tiers-lieu"].text
    for name in LE_WIP_RECORD:
        assert "{{{" + name + "|" in text or "{{{" + name + "}}}" in text, name
        assert f"<code>{name}</code>" in text, f"{name} is not documented"
    assert "<includeonly>[[Catégorie:Tiers-lieux]]</includeonly>" in text
    assert "[[Catégorie:Modèles]]" in text


def test_seed_contains_every_rendered_item_and_heading(seed_render, seed_text):
    expected = _rendered_bullets(seed_render) + _rendered_headings(seed_render)
    assert len(expected) == 35 + 31   # bullets + headings of the render
    wikitext = _norm(seed_text)
    missing = [item for item in expected if item not in wikitext]
    assert missing == []


def test_seed_headings_have_the_rendered_order_and_levels(seed_render, seed_text):
    expected = [
        (title, 2 if title in SEED_TOP_SECTIONS else 3) for title in _rendered_headings(seed_render)
    ]
    code = mwparserfromhell.parse(seed_text)
    found = [(_norm(str(h.title)), h.level) for h in code.filter_headings()]
    assert found == expected


def test_seed_list_items_are_in_rendered_order(seed_render, seed_text):
    items = [_norm(line[1:]) for line in seed_text.splitlines() if line.startswith("*")]
    assert items == _rendered_bullets(seed_render)


def test_seed_preformatted_lines_stay_text(seed_text):
    assert " * [[Portail:Les Tiers Lieux|Le portail dédié aux Tiers Lieux]]" in seed_text.splitlines()
    assert " * [[Le manifeste des Tiers Lieux]]" in seed_text.splitlines()


def test_seed_module_table_and_footer(seed_text):
    assert "'''Description du module'''\n\n{| class=\"wikitable\"" in seed_text
    header = re.search(r"^!(.*)$", seed_text, re.M).group(1)
    assert [_norm(c) for c in header.split("!!")] == [
        "Publics cibles :", "Temps d'auto formation pour ce module :", "Modèles économiques :",
    ]
    row = seed_text.split("|-\n", 1)[1].split("|}", 1)[0]
    cells = [cell for cell in row.split("\n|\n") if cell.strip()]
    assert [cell.count("\n* ") + cell.startswith("* ") for cell in cells] == [3, 3, 3]
    for tag in ("{{Pied de page Movilab}}", "{{Soutenir Movilab}}",
                "[[Catégorie:Collectivités]]", "[[Catégorie:Documentation]]"):
        assert tag in seed_text


def _captured_pages() -> list[tuple[str, str]]:
    spec = yaml.safe_load((SOURCES / "pages.yaml").read_text(encoding="utf-8"))
    return [(p["title"], p["rendered"]) for p in spec["pages"] if p.get("rendered")]


@pytest.mark.parametrize(("title", "capture"), _captured_pages())
def test_every_captured_heading_is_a_heading(pages, title, capture):
    render = (RENDERED / capture).read_text(encoding="utf-8")
    edit_links = ("[modifier | modifier le wikicode]", "[modifier le wikicode]")
    wanted = [
        _norm(line.strip().removesuffix(edit_links[0]).removesuffix(edit_links[1]))
        for line in render.splitlines() if line.strip().endswith(edit_links)
    ]
    code = mwparserfromhell.parse(pages[title].text)
    headings = [_norm(str(h.title)) for h in code.filter_headings()]
    assert [h for h in headings if h in wanted] == wanted


def test_attribution_names_every_page(pages):
    attribution = (ROOT / "tierslieux" / "sample" / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "CC BY-SA" in attribution
    missing = [title for title in pages if f"| {title} (" not in attribution]
    assert missing == []
