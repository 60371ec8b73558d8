"""Tests of the parse stage (tierslieux.pipeline.parse).

Golden cases live in ``tests/cases/parse/<name>/``: ``page.wiki`` (the wikitext), an optional
``revision.json`` (PageRevision fields to override, e.g. ``{"redirect": "X"}``) and
``expected.json`` (the ParsedPage as JSON, without its ``page``). One parametrized test runs
them all, through the loader every stage's cases share (tests/golden.py).

To regenerate the expected files after a deliberate change of behaviour::

    UPDATE_GOLDEN=1 pytest tests/test_parse.py

Those runs rewrite every ``expected.json`` and skip the comparison; read the diff of every
rewritten file before keeping it.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import random
import re
from pathlib import Path

import mwparserfromhell
import pytest

from golden import Case, cases
from storedpage import stored_page
from tierslieux.errors import ParseError, TierslieuxError
from tierslieux.pipeline.parse import normalise_template_name, normalise_title, parse_page
from tierslieux.model.records import ParsedPage, StoredPage

WIKIPEDIA = Path(__file__).parent / "data" / "wikipedia"
BIG_PAGES = ("frwiki_Autriche.wiki", "frwiki_Berlin.wiki", "enwiki_Germany.wiki")


def as_json(parsed: ParsedPage) -> dict:
    """The ParsedPage as JSON data, without the page it came from."""
    data = dataclasses.asdict(parsed)
    del data["page"]
    # only pages with such things have them (the cases of plain wikitext stay as they were)
    for key in ("issues", "annotations", "subobjects", "queries", "silent_templates"):
        if not data[key]:
            del data[key]
    return json.loads(json.dumps(data))


def _load_case(case: Case) -> tuple[str, StoredPage]:
    text = case.text("page.wiki")
    return text, stored_page(text, **case.json("revision.json", {}))


# --------------------------------------------------------------------------- golden cases


def test_there_are_enough_golden_cases() -> None:
    assert len(cases("parse", "page.wiki")) >= 8


@pytest.mark.parametrize("case", cases("parse", "page.wiki"))
def test_golden(case: Case) -> None:
    text, page = _load_case(case)
    # the property the whole stage relies on: the tree gives the exact source back
    assert str(mwparserfromhell.parse(text, skip_style_tags=True)) == text
    got = as_json(parse_page(page))
    case.check({"expected.json": json.dumps(got, ensure_ascii=False, indent=2) + "\n"})


# --------------------------------------------------------------------------- details


@pytest.mark.parametrize(("raw", "title", "fragment"), [
    ("berlin_Est", "Berlin Est", ""),
    (":Catégorie:Réseaux", "Catégorie:Réseaux", ""),
    ("  le   WIP#Le lieu ", "Le WIP", "Le lieu"),
    ("#Seulement", "", "Seulement"),
    ("élan", "Élan", ""),
])
def test_normalise_title(raw: str, title: str, fragment: str) -> None:
    assert normalise_title(raw) == (title, fragment)


@pytest.mark.parametrize(("raw", "name"), [
    ("Modèle:Tiers-lieu", "Tiers-lieu"),
    ("modèle : tiers-lieu", "Tiers-lieu"),
    ("TEMPLATE:Infobox_country", "Infobox country"),
    (" pied_de  page Movilab\n", "Pied de page Movilab"),
    ("Portail:Les Tiers Lieux", "Portail:Les Tiers Lieux"),
])
def test_normalise_template_name(raw: str, name: str) -> None:
    assert normalise_template_name(raw) == name


def test_parse_error_carries_title_and_reason_and_pickles() -> None:
    page = stored_page(None)  # type: ignore[arg-type]  # not text: mwparserfromhell refuses it
    with pytest.raises(ParseError) as info:
        parse_page(page)
    error = info.value
    assert isinstance(error, TierslieuxError)
    assert error.title == "Page de test"
    assert error.reason
    assert "\n" not in str(error)
    assert str(error).startswith("cannot parse page 'Page de test': ")
    clone = pickle.loads(pickle.dumps(error))  # errors travel back from worker processes
    assert (clone.title, clone.reason, str(clone)) == (error.title, error.reason, str(error))


def test_non_wikitext_pages_give_no_structure() -> None:
    parsed = parse_page(stored_page('{"a": "{{Tiers-lieu}} [[Catégorie:X]]"}', model="json"))
    assert parsed.templates == () and parsed.categories == () and parsed.links == ()
    assert [s.heading for s in parsed.sections] == [""]


@pytest.mark.parametrize(("text", "items"), [
    ("#REDIRECT [[X]]\n# un vrai élément", ["un vrai élément"]),
    ("\n#redirect: [[X]]", []),
    # preformatted, so not a list marker: the later "#" line stays an item
    (" #REDIRECTION [[X]]\n# un vrai élément", ["un vrai élément"]),
])
def test_redirect_line_is_not_a_list_item(text: str, items: list[str]) -> None:
    parsed = parse_page(stored_page(text))
    assert parsed.redirect == "X"
    assert [i.text for i in parsed.sections[0].items] == items


def test_parsed_page_keeps_the_page() -> None:
    page = stored_page("Texte.")
    assert parse_page(page).page is page


# --------------------------------------------------------------------------- robustness

_HEADING_LINE = re.compile(r"^(=+)(.*?)\1\s*$", re.MULTILINE)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_CATEGORY = re.compile(r"\[\[\s*(?:Catégorie|Category)\s*:\s*([^|\]]+)", re.IGNORECASE)


@pytest.mark.parametrize("name", BIG_PAGES)
def test_big_wikipedia_pages(name: str) -> None:
    text = (WIKIPEDIA / name).read_text(encoding="utf-8")
    assert str(mwparserfromhell.parse(text, skip_style_tags=True)) == text
    parsed = parse_page(stored_page(text, title=name))

    visible = _COMMENT.sub("", text)
    headings = [" ".join(m.group(2).split()) for m in _HEADING_LINE.finditer(visible)
                if m.group(1).startswith("==")]
    plain_headings = [re.sub(r"\[\[(?:[^|\]]*\|)?([^\]]*)\]\]|'{2,}", r"\1", h) for h in headings]
    assert len(headings) > 40
    assert [s.heading for s in parsed.sections[1:]] == plain_headings
    assert list(parsed.categories) == [" ".join(c.split()) for c in _CATEGORY.findall(visible)]
    assert len(parsed.templates) > 200
    assert [t.order for t in parsed.templates] == list(range(len(parsed.templates)))
    assert parsed.sections[0].text  # the lead has prose
    assert all(s.parent is not None and s.parent < s.index for s in parsed.sections[1:])


_WIKI_BITS = list("[]{}|=*#;:'<>/!-_ \n\nabcé&") + [
    "[[", "]]", "{{", "}}", "{{{", "}}}", "{|", "|}", "|-", "||", "<!--", "-->", "<ref>",
    "</ref>", "<nowiki>", "</nowiki>", "<pre>", "</pre>", "<div>", "</div>", "<includeonly>",
    "</includeonly>", "&nbsp;", "&#", "''", "'''", "\n== Titre ==\n", "\n* ", "\n#", "\n;",
    "Catégorie:", "Fichier:", "Modèle:", "#if:", "http://exemple.org", "#REDIRECTION ", "\t",
]


def test_random_garbage_never_crashes() -> None:
    rng = random.Random(0)
    outcomes = {"parsed": 0, "error": 0}
    for _ in range(400):
        text = "".join(rng.choice(_WIKI_BITS) for _ in range(rng.randrange(0, 200)))
        try:
            parsed = parse_page(stored_page(text))
        except ParseError:
            outcomes["error"] += 1
            continue
        assert isinstance(parsed, ParsedPage)
        assert parsed.sections[0].index == 0 and parsed.sections[0].level == 0
        assert [s.index for s in parsed.sections] == list(range(len(parsed.sections)))
        for section in parsed.sections:
            assert [i.index for i in section.items] == list(range(len(section.items)))
            assert all(i.parent is None or i.parent < i.index for i in section.items)
        outcomes["parsed"] += 1
    assert outcomes["parsed"] > 0
