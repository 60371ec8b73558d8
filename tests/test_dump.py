"""The XML export reader: streaming, compressed files, hostile and broken input."""

from __future__ import annotations

import bz2
import gzip
import tracemalloc

import pytest

from exportxml import Page, Rev, export
from tierslieux.errors import DumpError
from tierslieux.pipeline.dump import read_dump, read_site_info

PAGES = [
    Page(1, "Le Lieu", [Rev(10, "v1 ''é''", "2025-01-01T00:00:00Z", "Alice"),
                        Rev(12, "v2 {{Tiers-lieu|ville=Caen}} & <b>", "2025-02-01T00:00:00Z",
                            "Bob", parent=10)]),
    Page(2, "Modèle:Tiers-lieu", [Rev(11, "{{{ville|}}}")], ns=10),
    Page(3, "Ancien", [Rev(13, "#REDIRECTION [[Le Lieu]]")], redirect="Le Lieu"),
]


@pytest.fixture
def xml_file(tmp_path):
    path = tmp_path / "wiki.xml"
    path.write_text(export(PAGES), encoding="utf-8")
    return path


def test_reads_latest_revision_and_contributors(xml_file):
    pages = list(read_dump(xml_file))
    assert [p.title for p in pages] == ["Le Lieu", "Modèle:Tiers-lieu", "Ancien"]
    lieu = pages[0]
    assert (lieu.page_id, lieu.rev_id, lieu.parent_id) == (1, 12, 10)
    assert lieu.text == "v2 {{Tiers-lieu|ville=Caen}} & <b>"
    assert lieu.contributor == "Bob"
    assert lieu.contributors == ("Alice", "Bob")
    assert lieu.timestamp == "2025-02-01T00:00:00Z"
    assert pages[1].namespace == 10
    assert pages[2].redirect == "Le Lieu"


def test_site_info(xml_file):
    site = read_site_info(xml_file)
    assert site.sitename == "Wiki Test"
    assert site.article_path == "https://wiki.example.org/wiki/$1"
    assert site.script_url == "https://wiki.example.org/index.php"
    assert site.lang == "fr"
    assert (10, "Modèle") in site.namespaces


@pytest.mark.parametrize("opener,suffix", [(gzip.open, ".xml.gz"), (bz2.open, ".xml.bz2")])
def test_compressed_exports_read_the_same(tmp_path, xml_file, opener, suffix):
    packed = tmp_path / f"wiki{suffix}"
    with opener(packed, "wb") as fh:
        fh.write(xml_file.read_bytes())
    assert list(read_dump(packed)) == list(read_dump(xml_file))


def test_sample_reads(sample_xml):
    pages = list(read_dump(sample_xml))
    assert len(pages) >= 12
    assert read_site_info(sample_xml).sitename == "Movilab"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<mediawiki><page><title>&lol3;</title></page></mediawiki>"""

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY ext SYSTEM "http://127.0.0.1:9/secret">]>
<mediawiki><page><title>&ext;</title></page></mediawiki>"""

EXTERNAL_FILE = """<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<mediawiki><page><title>&ext;</title></page></mediawiki>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL, EXTERNAL_FILE],
                         ids=["entity-expansion", "external-http", "external-file"])
def test_hostile_exports_are_refused(tmp_path, body):
    path = tmp_path / "evil.xml"
    path.write_text(body)
    with pytest.raises(DumpError, match=r"evil\.xml: refused a hostile XML construct"):
        list(read_dump(path))


def test_truncated_export_names_file_and_position(tmp_path, xml_file):
    data = xml_file.read_text(encoding="utf-8")
    cut = tmp_path / "cut.xml"
    cut.write_text(data[: len(data) // 2], encoding="utf-8")
    with pytest.raises(DumpError, match=r"cut\.xml: not a well-formed XML export .* at line \d+, column \d+"):
        list(read_dump(cut))


@pytest.mark.parametrize("body,message", [
    ("", "not a well-formed XML export"),
    ("<html><body>Not an export</body></html>", "root element is <html>"),
    ("<mediawiki><page><title>X</title><id>1</id></page></mediawiki>", "has no <revision>"),
    ("<mediawiki><page><title>X</title><id>abc</id><revision><id>1</id></revision></page></mediawiki>",
     "page id is not a number"),
])
def test_malformed_exports(tmp_path, body, message):
    path = tmp_path / "bad.xml"
    path.write_text(body)
    with pytest.raises(DumpError, match=message):
        list(read_dump(path))


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DumpError, match="no such file"):
        list(read_dump(tmp_path / "nope.xml"))
    with pytest.raises(DumpError, match="is a folder"):
        list(read_dump(tmp_path))


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "wiki.xml.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage-not-gzip")
    with pytest.raises(DumpError, match=r"wiki\.xml\.gz: cannot be read"):
        list(read_dump(path))


def test_memory_stays_flat_while_streaming(tmp_path):
    """Peak memory while reading 4,000 pages is far below the file size (pages are freed)."""
    body = "x" * 2_000
    pages = [Page(i, f"Page {i}", [Rev(100_000 + i, f"{body} {i}")]) for i in range(1, 4001)]
    path = tmp_path / "big.xml"
    path.write_text(export(pages), encoding="utf-8")
    size = path.stat().st_size
    tracemalloc.start()
    count = sum(1 for _ in read_dump(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 4000
    assert peak < size / 4, (peak, size)
