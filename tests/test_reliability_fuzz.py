"""Property-based fuzzing (hypothesis) of parse -> map -> the writers and their parse-back.

Invariants, for any wikitext and any title the generators of ``hostile.py`` make:

- no exception escapes parse or map (a page is never "not parsed" / "not mapped");
- every line the map stage makes is one valid N-Triples statement (pyoxigraph parses it);
- the page's issues can be packed as UTF-8 (the cache, JSON, CSV);
- every page's text reaches the output (a ``tl:text`` literal) or the report (a cut text);
- a whole wiki of such pages is published: Turtle, N-Triples, JSON-LD, the CSV tables and the
  catalogue parse back and agree, the Table Schema and SHACL checks pass, every page is in
  ``pages.csv`` or in the report.

The seed is fixed (``derandomize``) and the budget bounded for CI; ``TIERSLIEUX_FUZZ_EXAMPLES``
sets a larger one (e.g. 5000) for a long run.
"""

from __future__ import annotations

import os

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile import UNICODE, titles, wikitexts
from storedpage import stored_page
from tierslieux.model.rdf import parse_object, split_line
from tierslieux.ontology import load_mapping
from tierslieux.pipeline import map as map_module
from tierslieux.runner.pages import _map_one
from tierslieux.pipeline.cache import pack_issues, unpack_issues
from tierslieux.model.iri import is_iri
from tierslieux.pipeline.map import Mapper
from tierslieux.pipeline.parse import parse_page
from tierslieux.model.records import SiteInfo, StoredPage

EXAMPLES = int(os.environ.get("TIERSLIEUX_FUZZ_EXAMPLES", "0")) or None
SITE = SiteInfo("Wiki Test", "https://wiki.example.org/wiki/$1",
                "https://wiki.example.org/index.php", lang="fr")
TEXT = "https://w3id.org/tierslieux/ontology#text"
#: a low literal limit, so that CI-sized values exercise the cut
LIMIT = 500


def fuzz_settings(ci: int) -> settings:
    return settings(max_examples=EXAMPLES or ci, derandomize=True, database=None,
                    deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def mapper() -> Mapper:
    return Mapper(load_mapping(), SITE)


@pytest.fixture(autouse=True)
def small_literals(monkeypatch):
    monkeypatch.setattr(map_module, "LITERAL_LIMIT", LIMIT)


def stored(page_id: int, title: str, text: str) -> StoredPage:
    return stored_page(text, title, key=title.strip().replace(" ", "_"), page_id=page_id,
                       rev_id=1000 + page_id, timestamp="2025-01-01T00:00:00Z",
                       contributor="Fuzz")


@fuzz_settings(ci=300)
@given(text=wikitexts, title=titles)
def test_parse_and_map_keep_their_invariants(mapper, text, title):
    page = stored(1, title, text)
    mapped = _map_one(mapper, page)
    failures = [i for i in mapped.issues if i.field == "page" and i.message.startswith("not ")]
    assert not failures, failures
    parsed = parse_page(page)
    # every line is one N-Triples statement pyoxigraph accepts, and nothing else
    document = "\n".join(mapped.triples).encode("utf-8")
    assert len(list(ox.parse(document, format=ox.RdfFormat.N_TRIPLES))) == len(mapped.triples)
    for line in mapped.triples:
        s, p, o = split_line(line)
        assert is_iri(s) and is_iri(p)
    # the issues survive the cache (UTF-8 JSON)
    assert unpack_issues(pack_issues(mapped.issues)) == list(mapped.issues)
    # every section's and item's text is in the output, or reported as cut
    texts = {parse_object(split_line(line)[2]).value for line in mapped.triples
             if split_line(line)[1] == TEXT}
    cut = any(i.field == "text" for i in mapped.issues)
    for section in parsed.sections:
        for value in [section.text] + [item.text for item in section.items]:
            value = value.strip()
            if value:
                assert value in texts or (cut and len(value) > LIMIT), value


@fuzz_settings(ci=6)
@given(pages=st.lists(st.tuples(titles, wikitexts), min_size=1, max_size=6,
                      unique_by=lambda p: p[0].strip().replace(" ", "_")))
def test_a_wiki_of_hostile_pages_is_published_whole(tmp_path_factory, pages):
    """The real build (store, parse, map, every writer, parse-back, Table Schema, SHACL)."""
    import csv
    import io
    import json

    from tierslieux.validation.release import validate_release
    from tierslieux.runner.build import BuildOptions, build
    from tierslieux.pipeline.store import Store

    folder = tmp_path_factory.mktemp("wiki")
    with Store(folder / "store.sqlite") as store:
        store.set_site_info(SITE)
        store.upsert([stored(i, title, text).revision
                      for i, (title, text) in enumerate(pages, start=1)])
        kept = {p.revision.title for p in store.pages()}
    result = build(folder / "store.sqlite", folder / "exports",
                   BuildOptions(started="2025-01-01T00:00:00Z", cache=False, workers=1))
    release = folder / "exports"
    assert validate_release(release) == []
    listed = {row["titre"] for row in csv.DictReader(io.StringIO(
        (release / "pages.csv").read_text(encoding="utf-8")))}
    report = json.loads((release / "report.json").read_text(encoding="utf-8"))
    reported = {p["titre"] for p in report["quality"]["pages"]}
    for title in kept:
        assert title in listed or title in reported, title
    assert result.pages == len(kept)


# --------------------------------------------------------------------------- fuzzed dumps

_numbers = st.one_of(st.integers(-5, 3000), st.sampled_from([2**63, 2**64, 2**63 - 1]),
                     st.sampled_from(["onze", "", " 12 ", "1e3", "0x10", "١٢"]))


def _xml(text: str) -> str:
    """``text`` escaped, without what XML 1.0 cannot hold (C0 controls, surrogates)."""
    from xml.sax.saxutils import escape

    return escape("".join(ch for ch in text if ch in "\t\n\r" or "\x20" <= ch <= "\ud7ff"
                          or "\ue000" <= ch <= "\ufffd" or ch >= "\U00010000"))


@st.composite
def dump_pages(draw) -> str:

    parts = []
    if draw(st.booleans()):
        parts.append(f"<title>{_xml(draw(titles))}</title>")
    parts.append(f"<ns>{draw(st.one_of(st.just(0), _numbers))}</ns>")
    if draw(st.integers(0, 9)):
        parts.append(f"<id>{draw(_numbers)}</id>")
    for _ in range(draw(st.integers(0, 3))):
        text = draw(wikitexts)
        timestamp = draw(st.sampled_from(["2025-01-01T00:00:00Z", "hier", "",
                                          "2025-13-45T99:00:00Z"]))
        parent = f"<parentid>{draw(_numbers)}</parentid>" if draw(st.booleans()) else ""
        parts.append(f"<revision><id>{draw(_numbers)}</id>{parent}<timestamp>{timestamp}"
                     f"</timestamp><contributor><username>{_xml(draw(st.text(max_size=5)))}"
                     f"</username></contributor><text>{_xml(text)}</text></revision>")
    return "<page>" + "".join(parts) + "</page>\n"


@fuzz_settings(ci=8)
@given(pages=st.lists(dump_pages(), max_size=6))
def test_a_fuzzed_export_is_harvested_and_built_or_refused_in_one_line(tmp_path_factory, pages):
    """``tierslieux run --dump`` on a fuzzed export (ids, namespaces, timestamps, titles and
    texts as a hostile export writes them): published, or one DumpError line; never a
    traceback, never a refused release."""
    from exportxml import HEADER
    from tierslieux.errors import DumpError
    from tierslieux.validation.release import validate_release
    from tierslieux.runner.build import BuildOptions, build
    from tierslieux.pipeline.harvest import harvest_dump
    from tierslieux.pipeline.store import Store

    folder = tmp_path_factory.mktemp("dump")
    dump = folder / "wiki.xml"
    dump.write_text(HEADER + "".join(pages) + "</mediawiki>\n", encoding="utf-8")
    with Store(folder / "store.sqlite") as store:
        try:
            harvest_dump(dump, store)
        except DumpError as exc:
            assert "\n" not in str(exc)
            return
        stored = store.count()
    if not stored:
        return
    build(folder / "store.sqlite", folder / "exports",
          BuildOptions(started="2025-01-01T00:00:00Z", cache=False, workers=1))
    assert validate_release(folder / "exports") == []


# --------------------------------------------------------------------------- the IRI rule

_IRI_PIECES = st.one_of(
    st.sampled_from(["http://", "https://", "//", "mailto:", "urn:", "a:", "http://[", "]",
                     "http://a.example/", ":", "/", "?", "#", "@", "%", "%2", "%zz", "%41",
                     "[::1]", "[v1.x]", "127.0.0.1", "..", "!$&'()*+,;=", "-._~", " ", "<",
                     '"', "{", "|", "\\", "^", "`"]),
    st.sampled_from(UNICODE),
    st.text(max_size=3),
)


@fuzz_settings(ci=2000)
@given(text=st.lists(_IRI_PIECES, max_size=8).map("".join))
def test_is_iri_agrees_with_pyoxigraph(text):
    """One rule for every IRI the map stage mints: RFC 3987, exactly as pyoxigraph parses
    N-Triples (and so the Turtle and JSON-LD parse-back)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        assert not is_iri(text)
        return
    try:
        accepted = len(list(ox.parse(f"<http://s> <http://p> <{text}> .".encode(),
                                     format=ox.RdfFormat.N_TRIPLES))) == 1
    except (SyntaxError, ValueError):
        accepted = False
    assert is_iri(text) == accepted
