"""Wikimedia multistream dumps read as independent bz2 streams, in parallel (issue 19).

The dumps are written by tests/multistream.py the way Wikimedia writes them (concatenated bz2
streams, an index of ``offset:page_id:title`` lines); harvesting one must give the store the
plain export gives, and the same release; a bad index is a one-line error (exit code 1, an
unreadable dump).
"""

from __future__ import annotations

import bz2
import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from daskcluster import start_cluster
from multistream import write_multistream
from storerows import content_rows
from tierslieux.cli import cli
from tierslieux.pipeline.store import Store

ROOT = Path(__file__).resolve().parent.parent
TIERSLIEUX = Path(sys.executable).with_name("tierslieux")


def harvest(dump: Path, store: Path, *extra: str) -> None:
    result = CliRunner().invoke(cli, ["-q", "harvest", "--dump", str(dump), "--store",
                                      str(store), *extra])
    assert result.exit_code == 0, result.output


def store_state(path: Path) -> tuple:
    """What a harvest put in a store: the pages as stored, the wiki, the problems."""
    with Store(path, create=False) as store:
        return content_rows(path), store.site_info, sorted(store.problems(), key=repr)


def release_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "report.json"}


def test_the_sample_as_a_multistream_dump_gives_the_same_store_and_release(sample_xml,
                                                                           tmp_path):
    dump, index = write_multistream(sample_xml, tmp_path, pages_per_stream=5)
    assert len(set(line.split(":")[0] for line in
                   bz2.decompress(index.read_bytes()).decode().splitlines())) == 6
    harvest(sample_xml, tmp_path / "plain.sqlite")
    harvest(dump, tmp_path / "multi.sqlite", "--workers", "2")  # the index found beside it
    assert store_state(tmp_path / "multi.sqlite") == store_state(tmp_path / "plain.sqlite")
    for name in ("plain", "multi"):
        result = CliRunner().invoke(cli, ["-q", "build", "--store", str(tmp_path / f"{name}.sqlite"),
                                          "--out", str(tmp_path / f"{name}-out")])
        assert result.exit_code == 0, result.output
    assert release_bytes(tmp_path / "multi-out") == release_bytes(tmp_path / "plain-out")


def test_generated_pages_read_on_the_cluster_give_the_plain_store(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import generate
    finally:
        sys.path.remove(str(ROOT / "bench"))
    export = generate.write_export(300, tmp_path / "wiki.xml")
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    dump, index = write_multistream(export, folder, name="gen")
    named = index.rename(folder / "the-index.txt.bz2")  # not beside: --dump-index
    harvest(export, tmp_path / "plain.sqlite")
    cluster = start_cluster(tmp_path / "cluster")
    try:
        done = subprocess.run(
            [str(TIERSLIEUX), "harvest", "--dump", str(dump), "--dump-index", str(named),
             "--store", str(tmp_path / "multi.sqlite"), "--cluster", cluster.address],
            capture_output=True, text=True, timeout=600)
    finally:
        cluster.stop()
    assert done.returncode == 0, done.stderr
    # the three streams of pages were parsed on the workers
    counts = [int(line.split(": ", 1)[1].split()[0]) for line in done.stderr.splitlines()
              if line.startswith("Dask worker tcp://")]
    assert sum(counts) == 300, done.stderr
    assert store_state(tmp_path / "multi.sqlite") == store_state(tmp_path / "plain.sqlite")


def _index_lines(index: Path) -> list[str]:
    return bz2.decompress(index.read_bytes()).decode().splitlines(keepends=True)


def _bad(dump: Path, tmp_path: Path, *extra: str) -> str:
    result = CliRunner().invoke(cli, ["harvest", "--dump", str(dump), "--store",
                                      str(tmp_path / "bad.sqlite"), *extra])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    return result.output


def test_an_offset_that_is_not_a_stream_start_is_one_line(sample_xml, tmp_path):
    dump, index = write_multistream(sample_xml, tmp_path, pages_per_stream=5)
    lines = _index_lines(index)
    second = lines[5].split(":", 1)[0]  # the second stream of pages: lines 6 to 10
    assert lines[4].split(":", 1)[0] != second == lines[9].split(":", 1)[0]
    moved = int(second) + 3
    lines = [f"{moved}:{line.split(':', 1)[1]}" if line.startswith(f"{second}:") else line
             for line in lines]
    index.write_bytes(bz2.compress("".join(lines).encode()))
    output = _bad(dump, tmp_path)
    assert f"line 6: offset {moved} is not the start of a bz2 stream" in output


def test_a_truncated_dump_is_one_line(sample_xml, tmp_path):
    dump, _ = write_multistream(sample_xml, tmp_path, pages_per_stream=5)
    dump.write_bytes(dump.read_bytes()[:-400])  # into the last stream of pages
    output = _bad(dump, tmp_path, "--workers", "2")
    assert "truncated or damaged dump" in output


def test_a_damaged_index_is_one_line(sample_xml, tmp_path):
    dump, index = write_multistream(sample_xml, tmp_path, pages_per_stream=5)
    good = index.read_bytes()
    index.write_bytes(good[:len(good) // 2])  # a truncated bz2 file
    assert "cannot be read as a bz2 multistream index" in _bad(dump, tmp_path)
    index.write_bytes(bz2.compress(b"530:2101:Mod\xc3\xa8le:Tiers-lieu\nnot an index line\n"))
    assert "line 2 is not offset:page_id:title" in _bad(dump, tmp_path)
    index.write_bytes(bz2.compress(f"{dump.stat().st_size + 10}:1:A\n".encode()))
    assert "is beyond the end of" in _bad(dump, tmp_path)


def test_a_plain_bz2_export_without_index_is_read_as_before(sample_xml, tmp_path):
    plain = tmp_path / "wiki-pages-articles-multistream.xml.bz2"  # named so, no index beside
    plain.write_bytes(bz2.compress(sample_xml.read_bytes()))
    harvest(plain, tmp_path / "bz2.sqlite")
    harvest(sample_xml, tmp_path / "xml.sqlite")
    assert store_state(tmp_path / "bz2.sqlite") == store_state(tmp_path / "xml.sqlite")


def test_a_missing_index_is_a_config_error(sample_xml, tmp_path):
    result = CliRunner().invoke(cli, ["harvest", "--dump", str(sample_xml), "--dump-index",
                                      str(tmp_path / "none.txt.bz2"), "--store",
                                      str(tmp_path / "s.sqlite")])
    assert result.exit_code == 6, result.output
    assert not (tmp_path / "s.sqlite").exists()


@pytest.mark.parametrize("pages_per_stream", [1, 27])
def test_streams_of_any_size(sample_xml, tmp_path, pages_per_stream):
    dump, _ = write_multistream(sample_xml, tmp_path, pages_per_stream=pages_per_stream)
    harvest(dump, tmp_path / "multi.sqlite")
    harvest(sample_xml, tmp_path / "plain.sqlite")
    assert store_state(tmp_path / "multi.sqlite") == store_state(tmp_path / "plain.sqlite")


def test_the_writer_cuts_the_export_into_streams_without_losing_a_byte(sample_xml, tmp_path):
    """bench/multistream.py, read a line at a time: the streams hold the export, byte for byte
    (header, 27 pages in groups of 4, closing tag), and each index line names the stream that
    holds its page."""
    dump, index = write_multistream(sample_xml, tmp_path, pages_per_stream=4)
    data = dump.read_bytes()
    assert bz2.decompress(data) == sample_xml.read_bytes()  # the streams, concatenated
    streams, offset = {}, 0
    while offset < len(data):
        decompressor = bz2.BZ2Decompressor()
        streams[offset] = decompressor.decompress(data[offset:]).decode("utf-8")
        offset = len(data) - len(decompressor.unused_data)
    texts = list(streams.values())
    assert len(texts) == 1 + 7 + 1  # the header, ceil(27 / 4) groups of pages, the tail
    assert "<siteinfo>" in texts[0] and "<page>" not in texts[0]
    assert texts[-1].strip() == "</mediawiki>"
    assert [t.count("<page>") for t in texts[1:-1]] == [4] * 6 + [3]
    lines = _index_lines(index)
    assert len(lines) == 27
    for line in lines:
        at, page_id, title = line.rstrip("\n").split(":", 2)
        held = streams[int(at)]
        assert f"<id>{page_id}</id>" in held
        assert title in {html.unescape(t) for t in re.findall(r"<title>(.*?)</title>", held)}
