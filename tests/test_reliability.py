"""One page never blocks a release (issue 17): each hostile page below used to make the build
refuse the whole release (exit 5) or crash (exit 1). Now the release is published without the
page's offending part, and the page, with why, is in quality.csv and report.json.

Everything runs through the real CLI (``tierslieux run --dump``), the real store and the real
parse-back (pyoxigraph) and Table Schema checks (frictionless).
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from hostile import BAD_LINKS, GOOD_TITLE, pages_with, run_dump, write_dump
from tierslieux.exports.checks import validate_release
from tierslieux.pipeline.iri import is_iri

EXTERNAL_LINK = "<https://w3id.org/tierslieux/ontology#externalLink>"


def assert_published(outcome, bad_title: str) -> None:
    """Published with warnings (exit 3), valid, the good page in, the bad page reported."""
    assert outcome.exit_code == 3, outcome.output
    assert validate_release(outcome.release) == []
    lines = outcome.lines()
    assert any(f'"{GOOD_TITLE}"' in line for line in lines)
    assert any(row["titre"] == bad_title for row in outcome.quality())
    pages = [p["titre"] for p in outcome.report()["quality"]["pages"]]
    assert bad_title in pages


@pytest.mark.parametrize("name", sorted(BAD_LINKS))
def test_malformed_external_link_is_reported_not_published(tmp_path, name):
    link, url = BAD_LINKS[name]
    dump = write_dump(tmp_path / "wiki.xml", pages_with("Lien cassé", f"Voir {link} ici."))
    outcome = run_dump(tmp_path, dump)
    assert_published(outcome, "Lien cassé")
    rows = [r for r in outcome.quality() if r["champ"] == "external-link"]
    assert [r["valeur_originale"] for r in rows] == [url]
    assert "RFC 3987" in rows[0]["message"]
    assert not [line for line in outcome.lines() if EXTERNAL_LINK in line]
    # the page itself is there, with its text
    assert any('"Lien cassé"' in line for line in outcome.lines())


@pytest.mark.parametrize("url", [url for _, url in BAD_LINKS.values()]
                         + ["https://javascript:alert(1)", "http://a b", "http://a.example/%",
                            "http://a.example/#\ue000", "a.example", ""])
def test_is_iri_refuses_what_pyoxigraph_refuses(url):
    assert not is_iri(url)
    with pytest.raises((SyntaxError, ValueError)):
        list(ox.parse(f"<http://s> <http://p> <{url}> .".encode(), format=ox.RdfFormat.N_TRIPLES))


@pytest.mark.parametrize("url", ["http://a.example/é?q=\ue000", "mailto:a@b.example", "urn:x:y",
                                 "http://[::1]:8080/a", "http://192.168.0.1/", "tag:",
                                 "https://w3id.org/tierslieux/movilab/page/Foo#x"])
def test_is_iri_accepts_valid_iris(url):
    assert is_iri(url)
    assert len(list(ox.parse(f"<http://s> <http://p> <{url}> .".encode(),
                             format=ox.RdfFormat.N_TRIPLES))) == 1
