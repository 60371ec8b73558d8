"""Hostile XML exports through the real CLI (``tierslieux run --dump``): a page the export
cannot give is skipped and reported, the others are published; what is wrong with the export
as a whole is a one-line error (exit 1); nothing is ever fetched.
"""

from __future__ import annotations

import socket
import threading

import pytest

from exportxml import HEADER
from hostile import run_dump
from tierslieux.validation.release import validate_release

OPEN = '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" xml:lang="fr">\n'
SITEINFO = HEADER.split("\n", 1)[1]


def page(pid, title, rid="10", ns="0", text="Du texte.", ts="2025-01-01T00:00:00Z") -> str:
    return (f"<page><title>{title}</title><ns>{ns}</ns><id>{pid}</id><revision><id>{rid}</id>"
            f"<timestamp>{ts}</timestamp><contributor><username>A</username></contributor>"
            f"<text>{text}</text></revision></page>\n")


GOOD = page(1, "Bonne", "100")

#: name -> (pages after the good one, the title reported, words of the message)
SKIPPED = {
    "revision-id-onze": (page(2, "Onze", "onze"), "Onze", "revision id is not a number"),
    "page-id-onze": (page("onze", "Onze", "200"), "Onze", "page id is not a number"),
    "page-id-2**63": (page(2**63, "Grand", "200"), "Grand", "page id out of range"),
    "page-id-2**64": (page(2**64, "Grand", "200"), "Grand", "page id out of range"),
    "revision-id-2**63": (page(3, "Grand", str(2**63)), "Grand", "revision id"),
    "negative-page-id": (page(-4, "Neg", "400"), "Neg", "page id out of range"),
    "namespace-dix": (page(5, "Dix", "500", ns="dix"), "Dix", "namespace is not a number"),
    "no-title": ("<page><ns>0</ns><id>7</id><revision><id>700</id><text>x</text></revision>"
                 "</page>\n", "(page id 7)", "without <title>"),
    "no-revision": ("<page><title>Vide</title><ns>0</ns><id>8</id></page>\n", "Vide",
                    "no <revision>"),
    "shared-revision-id": (page(9, "Autre", "100"), "Autre", "revision id already held"),
    "title-over-255-bytes": (page(10, "é" * 150, "1000"), "é" * 150 + "…", "longer than 255"),
}


def write(tmp_path, body: str, siteinfo: str = SITEINFO):
    path = tmp_path / "wiki.xml"
    path.write_text(OPEN + siteinfo + body + "</mediawiki>\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(SKIPPED))
def test_a_page_the_export_cannot_give_is_skipped_and_reported(tmp_path, name):
    body, title, words = SKIPPED[name]
    outcome = run_dump(tmp_path, write(tmp_path, GOOD + body))
    assert outcome.exit_code == 3, outcome.output
    assert validate_release(outcome.release) == []
    assert any('"Bonne"' in line for line in outcome.lines())
    rows = [r for r in outcome.quality() if r["titre"] == title]
    assert rows and any(words in r["message"] for r in rows), outcome.quality()
    assert title in [p["titre"] for p in outcome.report()["quality"]["pages"]]


def test_duplicate_page_ids_keep_the_latest_revision_and_say_so(tmp_path):
    body = GOOD + page(1, "Bonne bis", "150", text="Plus récent.") + page(1, "Bonne", "120")
    outcome = run_dump(tmp_path, write(tmp_path, body))
    assert outcome.exit_code == 3
    lines = outcome.lines()
    assert any('"Plus récent."' in line for line in lines)
    row = next(r for r in outcome.quality() if "given 3 times" in r["message"])
    assert "revision 150" in row["message"] and "'Bonne bis'" in row["message"]


def test_a_revision_with_an_unreadable_id_keeps_the_stored_page(tmp_path):
    first = run_dump(tmp_path, write(tmp_path, GOOD + page(2, "Deux", "200", text="v1")))
    assert first.exit_code == 0
    again = run_dump(tmp_path, write(tmp_path, GOOD + page(2, "Deux", "deux cents")))
    assert again.exit_code == 3
    assert any('"v1"' in line for line in again.lines())  # not deleted


def test_malformed_timestamp_is_left_out(tmp_path):
    outcome = run_dump(tmp_path, write(tmp_path, GOOD + page(6, "Date", "300", ts="hier")))
    assert outcome.exit_code == 3
    assert validate_release(outcome.release) == []
    assert any("timestamp" in r["message"] for r in outcome.quality() if r["titre"] == "Date")


def test_namespace_key_not_a_number_in_siteinfo_is_a_one_line_error(tmp_path):
    siteinfo = SITEINFO.replace('<namespace key="10"', '<namespace key="dix"')
    outcome = run_dump(tmp_path, write(tmp_path, GOOD, siteinfo))
    assert outcome.exit_code == 1
    assert "<namespace key='dix'> in <siteinfo> is not a number" in outcome.output
    assert "Traceback" not in outcome.output


@pytest.mark.parametrize("base", ["http://@@ x/wiki/Accueil", "https://wiki%zz.org/wiki/Accueil",
                                  "//wiki.example.org/wiki/Accueil"])
def test_a_base_address_that_is_not_an_iri_is_a_one_line_error(tmp_path, base):
    """Every page's address and revision IRI come from <base>: the export as a whole is
    wrong (it used to reach the catalogue and refuse the release, exit 5)."""
    siteinfo = SITEINFO.replace("https://wiki.example.org/wiki/Accueil", base)
    outcome = run_dump(tmp_path, write(tmp_path, GOOD, siteinfo))
    assert outcome.exit_code == 1
    assert "in <siteinfo> is not an IRI" in outcome.output
    assert not (tmp_path / "exports").exists()


class Listener:
    """A loopback TCP listener that counts the connections it gets."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.count += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.mark.parametrize("kind", ["billion-laughs", "xxe-http", "xxe-file", "external-dtd",
                                  "xinclude"])
def test_hostile_xml_is_refused_and_nothing_is_fetched(tmp_path, kind):
    listener = Listener()
    url = f"http://127.0.0.1:{listener.port}/x"
    bodies = {
        "billion-laughs": '<!DOCTYPE m [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
                          '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]>',
        "xxe-http": f'<!DOCTYPE m [<!ENTITY e SYSTEM "{url}">]>',
        "xxe-file": '<!DOCTYPE m [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
        "external-dtd": f'<!DOCTYPE m SYSTEM "{url}">',
        "xinclude": "",
    }
    text = "&c;" if kind == "billion-laughs" else "&e;" if kind.startswith("xxe") else "x"
    include = (f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{url}"/>'
               if kind == "xinclude" else "")
    path = tmp_path / "wiki.xml"
    path.write_text('<?xml version="1.0"?>\n' + bodies[kind] + OPEN + SITEINFO + include
                    + page(1, "Bonne", "100", text=text) + "</mediawiki>\n", encoding="utf-8")
    try:
        outcome = run_dump(tmp_path, path)
    finally:
        listener.close()
    assert listener.count == 0
    if kind == "xinclude":  # not expanded: a plain unknown element, the page is published
        assert outcome.exit_code == 0
        assert url not in "\n".join(outcome.lines())
    else:
        assert outcome.exit_code == 1
        assert "refused a hostile XML construct" in outcome.output
        assert not (tmp_path / "exports").exists()
