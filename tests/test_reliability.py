"""One page never blocks a release (issue 17): each hostile page below used to make the build
refuse the whole release (exit 5) or crash (exit 1). Now the release is published without the
page's offending part, and the page, with why, is in quality.csv and report.json.

Everything runs through the real CLI (``tierslieux run --dump``), the real store and the real
parse-back (pyoxigraph) and Table Schema checks (frictionless).
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from exportxml import write_dump
from hostile import (
    BAD_LINKS,
    GOOD_TEXT,
    GOOD_TITLE,
    HOSTILE_TEXTS,
    pages_with,
    run_dump,
)
from tierslieux.validation.release import validate_release
from tierslieux.model.iri import is_iri

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


# --------------------------------------------------------------------------- lone surrogates


def all_text_outputs(release) -> dict[str, str]:
    """Every file of a release decoded as strict UTF-8 (raises on a surrogate or bad byte)."""
    import gzip

    out = {}
    for path in sorted(p for p in release.rglob("*") if p.is_file()):   # site/ included
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        out[path.relative_to(release).as_posix()] = data.decode("utf-8")
    return out


@pytest.mark.parametrize("text", ["== Titre &#xD800; ==\nTexte.", "Du texte &#xDFFF; fin.",
                                  "{{Tiers-lieu|ville=A&#55296;B}}", "== &#xFFFE; ==\nx"])
def test_character_reference_of_no_character_is_kept_as_written(tmp_path, text):
    dump = write_dump(tmp_path / "wiki.xml", pages_with("Entité", text))
    outcome = run_dump(tmp_path, dump)
    assert_published(outcome, "Entité")
    rows = [r for r in outcome.quality() if r["titre"] == "Entité" and r["champ"] == "page"]
    assert rows and all("character reference" in r["message"] for r in rows)
    entity = rows[0]["valeur_originale"]
    assert entity.startswith("&#") and entity in text
    files = all_text_outputs(outcome.release)
    assert not any("\ud800" <= ch <= "\udfff" for body in files.values() for ch in body)


def test_lone_surrogates_delivered_by_a_harvest_are_replaced_and_reported(tmp_path):
    """An API answer may hold ``\\ud800`` escapes: the store, every output and the cache get
    U+FFFD instead, and the page is reported."""
    from tierslieux.runner.build import BuildOptions, build
    from tierslieux.model.records import PageRevision, SiteInfo
    from tierslieux.pipeline.store import Store

    store_path = tmp_path / "store.sqlite"
    with Store(store_path) as store:
        store.set_site_info(SiteInfo("W", "https://w.example/wiki/$1",
                                     "https://w.example/index.php", lang="fr"))
        store.upsert([
            PageRevision(1, 0, "Ti\ud800tre", 5, None, "2025-01-01T00:00:00Z", None,
                         "Bob\udfff", "== H\ud83d ==\ntexte \udc00", contributors=("Bob\udfff",)),
            PageRevision(3, 0, GOOD_TITLE, 7, None, "2025-01-01T00:00:00Z", None, "Bob", "ok"),
        ])
    result = build(store_path, tmp_path / "exports", BuildOptions())
    assert result.pages == 2
    reported = [i for i in result.issues if i.page_title == "Ti\ufffdtre"]
    assert reported and "lone surrogate" in reported[0].message
    files = all_text_outputs(tmp_path / "exports")
    assert "Ti\ufffdtre" in files["pages.csv"]
    assert "texte \ufffd" in files["tierslieux.ttl"]
    assert validate_release(tmp_path / "exports") == []


def test_pack_issues_of_a_page_with_lone_surrogates(tmp_path):
    """The defect's own place: the cache packs a page's issues as UTF-8."""
    from tierslieux.ontology import load_mapping
    from tierslieux.pipeline.cache import pack_issues, unpack_issues
    from tierslieux.pipeline.map import Mapper
    from tierslieux.pipeline.parse import parse_page
    from tierslieux.model.records import PageRevision, SiteInfo, StoredPage

    page = StoredPage(PageRevision(1, 0, "T\ud800", 2, None, "2025-01-01T00:00:00Z", None, "A",
                                   "== Titre &#xD800; \ud800 ==\n{{Inconnu|a=\udfff}}"), "T\ud800")
    mapped = Mapper(load_mapping(), SiteInfo("W", "https://w.example/wiki/$1",
                                             "https://w.example/index.php")).map_page(
        parse_page(page))
    issues = unpack_issues(pack_issues(mapped.issues))
    assert issues and all("\ud800" not in i.original + i.page_title for i in issues)
    assert "\n".join(mapped.triples).encode("utf-8")


# --------------------------------------------------------------------------- huge values


def peak_rss_mb(args: list[str], cwd) -> tuple[int, int]:
    """(exit code, peak resident memory in MB of the command and its children)."""
    import subprocess
    import sys

    probe = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
             "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)")
    done = subprocess.run([sys.executable, "-c", probe, *args], cwd=cwd, capture_output=True,
                          text=True, check=True)
    code, peak = done.stdout.split()
    return int(code), int(peak)


def test_more_than_16_mb_of_prose_in_one_section_is_cut_and_reported(tmp_path):
    """Oxigraph refuses a term over 16 MB (and took 3 GB trying): the text is cut at
    LITERAL_LIMIT, reported, and the release published in bounded memory."""
    import shutil
    import sys

    from tierslieux.pipeline.map import LITERAL_LIMIT

    prose = "Du texte de prose, encore et encore. " * (17_000_000 // 37)
    dump = write_dump(tmp_path / "wiki.xml", pages_with("Très long", "== S ==\n" + prose))
    tool = shutil.which("tierslieux", path=str(Path(sys.executable).parent))
    code, peak = peak_rss_mb([tool, "-q", "run", "--dump", str(dump), "--store", "s.sqlite",
                              "--out", "exports"], tmp_path)
    assert code == 3
    assert peak < 1500, f"peak memory {peak} MB"
    from hostile import Outcome

    outcome = Outcome(code, "", tmp_path)
    assert_published(outcome, "Très long")
    texts = [line for line in outcome.lines() if "/section/s> <https://w3id.org/tierslieux/"
             "ontology#text>" in line]
    assert len(texts) == 1
    literal = texts[0].split(" ", 2)[2]
    assert len(literal) == LITERAL_LIMIT + len('""@fr .')
    row = next(r for r in outcome.quality() if r["titre"] == "Très long")
    assert row["champ"] == "text" and "cut to the first 1,000,000" in row["message"]


# --------------------------------------------------------------------------- page keys

BASE = "https://w3id.org/tierslieux/movilab/"
WIKI_PAGE = "<https://w3id.org/tierslieux/ontology#WikiPage>"
SECTION = "<https://w3id.org/tierslieux/ontology#Section>"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"


def test_a_page_titled_like_a_section_iri_gets_its_own_iri(tmp_path):
    from exportxml import Page, Rev

    dump = write_dump(tmp_path / "wiki.xml", [
        Page(1, "Foo", [Rev(10, "Intro de Foo.\n== Suite ==\nx")]),
        Page(2, "Foo/section/lead", [Rev(20, "Une page au titre piège.")]),
        Page(3, "Foo/template/1", [Rev(30, "Une autre.")]),
        Page(4, "Lien", [Rev(40, "[[Foo/section/lead]]")]),
    ])
    outcome = run_dump(tmp_path, dump)
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.lines()
    pages = {line.split(" ")[0] for line in lines if f"{RDF_TYPE} {WIKI_PAGE}" in line}
    sections = {line.split(" ")[0] for line in lines if f"{RDF_TYPE} {SECTION}" in line}
    assert not pages & sections
    assert f"<{BASE}page/Foo/~section/lead>" in pages
    assert f"<{BASE}page/Foo/~template/1>" in pages
    assert f"<{BASE}page/Foo/section/lead>" in sections  # Foo's lead section, as before
    assert f"<{BASE}page/Foo>" in pages
    assert any(line.startswith(f"<{BASE}page/Lien> <https://w3id.org/tierslieux/ontology#"
                               f"linksTo> <{BASE}page/Foo/~section/lead>") for line in lines)


@pytest.mark.parametrize("title", ["Foo/../../x", "../x", "./x", "Foo/..", "Foo/.", "..",
                                   "Foo/~../x", "Foo/%2E%2E/x"])
def test_dot_segments_never_normalise_outside_page(tmp_path, title):
    from urllib.parse import urljoin

    from exportxml import Page, Rev

    dump = write_dump(tmp_path / "wiki.xml", [Page(1, "Foo", [Rev(10, "a")]),
                                             Page(2, title, [Rev(20, "b")])])
    outcome = run_dump(tmp_path, dump)
    assert outcome.exit_code == 0, outcome.output
    pages = sorted({line.split(" ")[0][1:-1] for line in outcome.lines()
                    if f"{RDF_TYPE} {WIKI_PAGE}" in line})
    assert len(pages) == 2
    for iri in pages:
        # RFC 3986 reference resolution removes dot segments: none is left to remove
        assert urljoin(BASE, iri[len(BASE):]) == iri
        assert iri.startswith(BASE + "page/")
        segments = iri[len(BASE + "page/"):].split("/")
        assert not set(segments) & {".", ".."}


def test_key_path_is_the_identity_for_ordinary_titles_and_injective():
    from tierslieux.model.iri import iri_path, key_path

    for title in ["La_Myne/2", "Développer_des_Tiers_Lieux", "Foo/Section/x", "a.b/c..d",
                  "Modèle:Tiers-lieu", "Sections"]:
        assert key_path(title) == iri_path(title)
    keys = ["/".join(parts) for parts in __import__("itertools").product(
        ["a", ".", "..", "~.", "~..", "section", "~section", "~~section", "template", ""],
        repeat=3)]
    assert len({key_path(k) for k in keys}) == len(keys)


# --------------------------------------------------------------------------- leftovers


def test_next_build_removes_staging_folders_of_killed_builds_only(tmp_path):
    """Staging folders of dead processes go; the one of a live concurrent build stays."""
    import subprocess
    import sys

    from exportxml import Page, Rev

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = tmp_path / f".exports.staging-{gone.pid}-0badc0de"
        dead_old = tmp_path / f".exports.old-{gone.pid}-00000001"
        running = tmp_path / f".exports.staging-{live.pid}-feedf00d"
        other = tmp_path / f".elsewhere.staging-{gone.pid}-0badc0de"  # another --out
        for folder in (dead, dead_old, running, other):
            folder.mkdir()
            (folder / "tierslieux.ttl").write_text("partial")
        dump = write_dump(tmp_path / "wiki.xml", [Page(1, GOOD_TITLE, [Rev(10, "a")])])
        outcome = run_dump(tmp_path, dump)
        assert outcome.exit_code == 0
        assert not dead.exists() and not dead_old.exists()
        assert running.is_dir() and other.is_dir()
    finally:
        live.kill()
        live.wait()


def test_build_killed_while_staging_leaves_a_folder_the_next_build_removes(tmp_path):
    """kill -9 a real build while it writes its staging folder; the next build cleans up."""
    import signal
    import subprocess
    import sys
    import time

    from exportxml import Page, Rev

    tool = str(Path(sys.executable).parent / "tierslieux")
    pages = [Page(i, f"Page {i}", [Rev(1000 + i, "Du texte.\n== A ==\n* x\n" * 20)])
             for i in range(1, 120)]
    dump = write_dump(tmp_path / "wiki.xml", pages)
    subprocess.run([tool, "-q", "harvest", "--dump", str(dump), "--store", "s.sqlite"],
                   cwd=tmp_path, check=True)
    for _attempt in range(10):
        build = subprocess.Popen([tool, "-q", "build", "--store", "s.sqlite", "--out",
                                  "exports", "--workers", "1"], cwd=tmp_path)
        while build.poll() is None and not list(tmp_path.glob(".exports.staging-*/*")):
            time.sleep(0.005)
        if build.poll() is None:
            build.send_signal(signal.SIGKILL)
            build.wait()
            break
        build.wait()
    else:
        pytest.fail("the build never left its staging folder behind to kill it")
    assert list(tmp_path.glob(".exports.staging-*"))
    subprocess.run([tool, "-q", "build", "--store", "s.sqlite", "--out", "exports"],
                   cwd=tmp_path, check=True)
    assert not list(tmp_path.glob(".exports.staging-*"))
    assert validate_release(tmp_path / "exports") == []


def test_sha256sums_lists_every_file_but_report_json_as_the_readme_says(sample_release):
    listed = {line.split("  ", 1)[1] for line in
              (sample_release / "SHA256SUMS").read_text().splitlines()}
    files = {p.relative_to(sample_release).as_posix() for p in sample_release.rglob("*")
             if p.is_file()}
    assert listed == files - {"SHA256SUMS", "report.json"}
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `SHA256SUMS` |"))
    assert "report.json" in row


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("pages", [
    [("A", "{{Collectivité|nom=Utopie|niveau=Commune}}"),
     ("B", "{{Collectivité|nom=Utopie|niveau=Région}}")],
    [("A", "{{Collectivité|nom=Utopie|niveau=Commune}}{{Collectivité|nom=Utopie|niveau=Région}}")],
], ids=["two-pages", "one-page"])
def test_pages_that_break_a_shape_together_are_left_out_of_it_not_the_release(tmp_path, pages):
    """Two levels for one collectivity (sh:maxCount 1) used to refuse the release (exit 5).

    The name is in no official geography, so both records stay on the IRI minted from it (a
    real commune such as Arles would get its official IRI at one level only)."""
    from exportxml import Page, Rev

    dump = write_dump(tmp_path / "wiki.xml", [Page(1, GOOD_TITLE, [Rev(10, GOOD_TEXT)])] + [
        Page(i, title, [Rev(10 * i, text)]) for i, (title, text) in enumerate(pages, start=2)])
    outcome = run_dump(tmp_path, dump)
    assert_published(outcome, "A")
    level = "<https://w3id.org/tierslieux/ontology#level>"
    utopie = f"<{BASE}collectivity/utopie>"
    assert not [line for line in outcome.lines() if line.startswith(f"{utopie} {level} ")]
    assert any(line.startswith(f"{utopie} ") for line in outcome.lines())  # the rest stays
    rows = [r for r in outcome.quality() if r["champ"] == "shape:level"]
    assert sorted(r["titre"] for r in rows) == sorted(title for title, _ in pages)


# --------------------------------------------------------------------------- the whole corpus


def xml_safe(text: str) -> bool:
    """Whether XML 1.0 can hold ``text`` (an export cannot carry C0 controls or surrogates)."""
    return all(ch in "\t\n\r" or "\x20" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd"
               or ch >= "\U00010000" for ch in text)


@pytest.mark.parametrize("name", sorted(n for n, t in HOSTILE_TEXTS.items() if xml_safe(t)))
def test_every_hostile_page_of_the_corpus_is_published_or_reported(tmp_path, name):
    """The cases of issue 17 and their neighbours, one page each beside an ordinary page
    (``pipes-prose``, ``Réponses : |"oui"|"non"|``, is the CSV-dialect defect, fixed on the
    tables side by declaring the dialect in datapackage.json)."""
    import csv
    import io

    dump = write_dump(tmp_path / "wiki.xml", pages_with("Hostile", HOSTILE_TEXTS[name]))
    outcome = run_dump(tmp_path, dump)
    assert outcome.exit_code in (0, 3), outcome.output
    assert validate_release(outcome.release) == []
    titles = {row["titre"] for row in csv.DictReader(io.StringIO(
        (outcome.release / "pages.csv").read_text(encoding="utf-8")))}
    assert GOOD_TITLE in titles
    assert "Hostile" in titles or "Hostile" in [r["titre"] for r in outcome.quality()]


@pytest.mark.parametrize("name,text,field", [
    ("external-link-17-mb", "[http://a.example/" + "x" * 17_000_000 + " lien]", "external-link"),
    ("external-link-9000", "[http://a.example/" + "x" * 9_000 + " lien]", "external-link"),
    ("wiki-link-17-mb", "[[" + "X" * 17_000_000 + "]]", "link"),
    ("wiki-link-300-bytes", "voir [[" + "é" * 150 + "]]", "link"),
    ("redirect-300-bytes", "#REDIRECTION [[" + "é" * 150 + "]]", "redirect"),
])
def test_an_address_too_long_for_an_iri_is_reported_not_minted(tmp_path, name, text, field):
    """Oxigraph refuses a term over 16 MB: a 17 MB link used to refuse the release."""
    dump = write_dump(tmp_path / "wiki.xml", pages_with("Long", text))
    outcome = run_dump(tmp_path, dump)
    assert_published(outcome, "Long")
    assert [r for r in outcome.quality() if r["titre"] == "Long" and r["champ"] == field]
    assert max(len(line) for line in outcome.lines()) < 1_100_000


def test_a_long_name_gets_a_short_distinct_slug():
    from tierslieux.model.iri import SLUG_LIMIT, slugify

    long_a, long_b = "arles " * 100 + "a", "arles " * 100 + "b"
    assert len(slugify(long_a)) <= SLUG_LIMIT and slugify(long_a) != slugify(long_b)
    assert slugify("Agglomération & EPCI") == "agglomeration-epci"  # short ones unchanged


def test_the_files_flushed_ahead_are_each_fsynced_and_a_failure_is_raised(tmp_path, monkeypatch):
    """``publish.Flush`` (the dumps flushed to disk while the release is checked): every file
    is fsynced, in a thread; a file it cannot flush makes ``wait`` raise."""
    import os
    import threading

    from tierslieux.exports import publish

    files = [tmp_path / f"f{n}" for n in range(3)]
    for path in files:
        path.write_bytes(b"x" * 1000)
    synced: list[tuple[str, str]] = []
    real = os.fsync

    def recording(fd):
        synced.append((os.readlink(f"/proc/self/fd/{fd}"), threading.current_thread().name))
        return real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    publish.Flush(files).wait()
    assert synced == [(str(path), "flush") for path in files]
    with pytest.raises(FileNotFoundError):
        publish.Flush([files[0], tmp_path / "gone", files[1]]).wait()
