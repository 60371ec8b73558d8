"""The release's RDF dumps assembled from cached segments (issue 16, exports/segments.py).

Each test compares with what could differ: the one-pass writers (``write_turtle``,
``write_jsonld``, ``write_ntriples_gz``), a build from an empty cache, zcat and rdflib.
"""

from __future__ import annotations

import gzip
import io
import logging
import shutil
import subprocess
from pathlib import Path

import pytest
import rdflib
from test_build_cache import different_files, edit, extra_page, store  # noqa: F401
from test_exports import RESOURCES, case_lines, release

from tierslieux.errors import ValidationError
from tierslieux.exports import segments
from tierslieux.exports.catalog import graph_stats
from tierslieux.exports.jsonld import Context, write_jsonld
from tierslieux.exports.release import ReleaseMeta
from tierslieux.exports.segcache import USED_FILES
from tierslieux.exports.turtle import write_turtle
from tierslieux.model.lines import triple_order
from tierslieux.runner.build import BuildOptions, build

BASE = "https://w3id.org/tierslieux/movilab/"
TL = "https://w3id.org/tierslieux/ontology#"


def tricky_subjects() -> list[str]:
    """IRIs that break a cut made without the prefix rule: prefix chains, and extensions by
    characters below and above ``>`` ('-', '/', '#', '.', digits, '_', letters)."""
    stems = [f"{BASE}place/{name}" for name in ("A", "AB", "A_B", "Z", "a", "x1", "x10", "x2")]
    found = set()
    for stem in stems:
        found.add(stem)
        for tail in ("-", "/", "#", ".", "0", "9", "_", "b", "/1", "/1/2", "-x/y", "#s"):
            found.add(stem + tail)
            found.add(stem + tail + "-z")
            if "#" not in tail:  # one fragment at most
                found.add(stem + tail + tail)
    found.update(f"{BASE}page/P{index:02d}" for index in range(40))  # and plain ones
    return sorted(found)


def tricky_lines() -> list[str]:
    lines = []
    for index, subject in enumerate(tricky_subjects()):
        lines.append(f"<{subject}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
                     f"<{TL}ThirdPlace> .")
        lines.append(f'<{subject}> <http://www.w3.org/2000/01/rdf-schema#label> "n{index}"@fr .')
        if index % 3 == 0:
            lines.append(f"<{subject}> <{TL}memberOf> <{subject}/network> .")
    return sorted(lines)


@pytest.mark.parametrize("every", [1, 2, 3, 7])
def test_segments_are_whole_subjects_contiguous_in_both_orders(every: int) -> None:
    lines = tricky_lines()
    ordered = triple_order(lines)
    cut = list(segments.cut_segments(ordered, every))
    assert [t for segment in cut for t in segment] == ordered
    assert len(cut) > 5  # the hash does cut these
    subjects = {s for s, _, _ in ordered}
    firsts = [segment[0][0] for segment in cut]
    for segment, first in zip(cut, firsts):
        # no subject of the release is a proper prefix of a segment's first subject followed
        # there by a character below ">"
        assert not [s for s in subjects
                    if first.startswith(s) and s != first and first[len(s)] < ">"]
    if every == 1:  # an extension by a character above ">" may start a segment ("A" -> "AB")
        assert f"{BASE}place/AB" in firsts and f"{BASE}place/A_B" in firsts
    for one, two in zip(cut, cut[1:]):
        assert one[-1][0] != two[0][0]  # a subject is never split
    # each segment's lines, sorted, are its slice of the dump's line order
    joined = b"".join(segments.segment_lines(segment) for segment in cut)
    assert joined == ("\n".join(lines) + "\n").encode("utf-8")


def test_without_the_prefix_rule_line_order_would_break() -> None:
    """The IRIs above do need the rule: cutting on the hash alone splits a subject from one
    of its extensions and the segments' lines are no longer in line order."""
    ordered = triple_order(tricky_lines())
    broken = []
    current: list = []
    subject = None
    for triple in ordered:
        if triple[0] != subject:
            subject = triple[0]
            if current:
                broken.append(current)
                current = []
        current.append(triple)
    broken.append(current)
    joined = b"".join(segments.segment_lines(segment) for segment in broken)
    assert joined != ("\n".join(tricky_lines()) + "\n").encode("utf-8")


def whole_files(lines: list[str]) -> dict[str, bytes]:
    """The three dumps as the one-pass writers write them (the nt.gz decompressed)."""
    import json

    context = Context.from_document(json.loads((RESOURCES / "context.jsonld").read_text()))
    from tierslieux.model.rdf import CORE_PREFIXES

    prefixes = {**CORE_PREFIXES, **context.prefixes}
    ordered = triple_order(lines)
    ttl, jsonld = io.StringIO(), io.StringIO()
    write_turtle(ordered, ttl, prefixes)
    write_jsonld(ordered, jsonld, context)
    return {"tierslieux.ttl": ttl.getvalue().encode("utf-8"),
            "tierslieux.jsonld": jsonld.getvalue().encode("utf-8"),
            "tierslieux.nt": "".join(f"{line}\n" for line in lines).encode("utf-8")}


def dumps(folder: Path) -> dict[str, bytes]:
    return {"tierslieux.ttl": (folder / "tierslieux.ttl").read_bytes(),
            "tierslieux.jsonld": (folder / "tierslieux.jsonld").read_bytes(),
            "tierslieux.nt": gzip.decompress((folder / "tierslieux.nt.gz").read_bytes())}


@pytest.mark.parametrize("every", [1, 3, 128])
def test_the_assembled_dumps_are_the_one_pass_writers_bytes(
        every: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segments, "SEGMENT_SUBJECTS", every)
    lines = sorted(set(case_lines("third_place") + case_lines("tricky_literals")
                       + tricky_lines()))
    result = release(lines, tmp_path / "out")
    assert dumps(tmp_path / "out") == whole_files(lines)
    stats = graph_stats(triple_order(lines), ReleaseMeta().base_iri)
    assert (result.triples, result.entities) == (stats.triples, stats.entities)


def test_an_empty_release_has_valid_dumps(tmp_path: Path) -> None:
    release([], tmp_path / "out", ReleaseMeta(diff_threshold=1.0))
    assert dumps(tmp_path / "out") == whole_files([])


def test_the_nt_dump_is_many_gzip_members_every_reader_reads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segments, "SEGMENT_SUBJECTS", 2)
    lines = sorted(set(case_lines("third_place") + tricky_lines()))
    release(lines, tmp_path / "out")
    dump = tmp_path / "out" / "tierslieux.nt.gz"
    members = dump.read_bytes().count(b"\x1f\x8b\x08")
    assert members > 10
    zcat = subprocess.run(["zcat", str(dump)], capture_output=True, check=True).stdout
    assert zcat == "".join(f"{line}\n" for line in lines).encode("utf-8")
    graph = rdflib.Graph()
    with gzip.open(dump, "rb") as stream:
        graph.parse(stream, format="nt")
    assert len(graph) == len(lines)
    subprocess.run(["gzip", "-t", str(dump)], check=True)


def cached_release(lines: list[str], out: Path, cache: Path, **kwargs):
    return release(lines, out, ReleaseMeta(diff_threshold=1.0), segment_cache=cache, **kwargs)


def test_a_cached_release_renders_only_what_changed(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(segments, "SEGMENT_SUBJECTS", 2)
    calls: list[int] = []
    original = segments.render_segment

    def counting(setup, triples, lines=None):
        calls.append(len(triples))
        return original(setup, triples, lines)

    monkeypatch.setattr(segments, "render_segment", counting)
    cache = tmp_path / "cache"
    lines = sorted(set(case_lines("third_place") + tricky_lines()))
    cached_release(lines, tmp_path / "one", cache)
    first = len(calls)
    assert first > 10
    calls.clear()
    cached_release(lines, tmp_path / "two", cache)
    assert calls == []  # nothing changed: every segment from the cache
    assert dumps(tmp_path / "two") == dumps(tmp_path / "one")
    assert (tmp_path / "two" / "tierslieux.nt.gz").read_bytes() == \
        (tmp_path / "one" / "tierslieux.nt.gz").read_bytes()

    # a new subject that starts a segment (a split), a subject that started one removed (a
    # merge), a value changed
    def count(lines: list[str]) -> int:
        return len(list(segments.cut_segments(triple_order(lines))))

    new = next(f"{BASE}place/new{n}" for n in range(1000)
               if segments.subject_hash(f"{BASE}place/new{n}") % 2 == 0)
    firsts = [segment[0][0] for segment in segments.cut_segments(triple_order(lines))]
    subjects = {s for s, _, _ in triple_order(lines)}
    gone = next(f for f in firsts[len(firsts) // 2:]
                if not [s for s in subjects if s.startswith(f) and s != f])
    changed = [line for line in lines if not line.startswith(f"<{gone}> ")]
    assert count(changed) == count(lines) - 1
    changed = sorted(changed + [f'<{new}> <{TL}name> "new" .'])
    assert count(changed) == count(lines)
    changed = [line.replace('"n20"@fr', '"changed"@fr') for line in changed]
    calls.clear()
    cached_release(changed, tmp_path / "three", cache)
    assert 0 < len(calls) <= 4 < first / 5
    shutil.rmtree(tmp_path / "fresh-cache", ignore_errors=True)
    release(changed, tmp_path / "full", ReleaseMeta(diff_threshold=1.0))
    assert dumps(tmp_path / "three") == dumps(tmp_path / "full") == whole_files(changed)
    assert (tmp_path / "three" / "tierslieux.nt.gz").read_bytes() == \
        (tmp_path / "full" / "tierslieux.nt.gz").read_bytes()

    # a damaged entry is noticed, rendered again, and the bytes do not change
    entry = next(p for p in sorted(cache.iterdir()) if p.is_dir())
    (entry / "turtle").write_bytes(b"<a> <b> <c> .\n")
    calls.clear()
    with caplog.at_level(logging.WARNING, logger="tierslieux"):
        cached_release(changed, tmp_path / "four", cache)
    assert len(calls) == 1
    assert any("is damaged" in r.getMessage() and entry.name in r.getMessage()
               for r in caplog.records)
    assert dumps(tmp_path / "four") == dumps(tmp_path / "full")


def test_the_cache_keeps_the_entries_of_the_last_two_releases(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segments, "SEGMENT_SUBJECTS", 4)
    cache = tmp_path / "cache"
    one = sorted(set(tricky_lines()))
    two = sorted(set(case_lines("third_place")))

    def entries() -> set[str]:
        return {p.name for p in cache.iterdir() if p.is_dir()}

    cached_release(one, tmp_path / "out", cache)
    first = entries()
    cached_release(two, tmp_path / "out", cache)
    second = entries() - first
    assert first and second and entries() == first | second
    assert (cache / USED_FILES[1]).read_text().split() == sorted(first)
    cached_release(two, tmp_path / "out", cache)
    assert entries() == second  # the first release's segments are two releases old


def test_a_wrong_segment_fails_the_release_and_leaves_the_published_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = sorted(set(case_lines("third_place")))
    out = tmp_path / "out"
    cached_release(lines, out, tmp_path / "cache")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    turtle = segments.PARTS["turtle"]

    def buggy(setup, triples, data):  # a writer bug: the last triple of a segment is lost
        return turtle.render(setup, triples[:-1], data)

    monkeypatch.setitem(segments.PARTS, "turtle",
                        segments.Part(**{**turtle.__dict__, "render": buggy}))
    more = sorted(lines + [f'<{BASE}place/new> <{TL}name> "new" .'])
    with pytest.raises(ValidationError, match="check_rdf_files: tierslieux.ttl differs from "
                                              "the lines written: 1 triples missing"):
        cached_release(more, out, tmp_path / "cache")
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_a_dump_changed_after_its_segments_were_checked_fails_the_release(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The release's parse-back checks that each file is the parts that were verified."""
    from tierslieux.validation import release as checks

    original = checks.check_rdf_files

    def tamper(staged):
        path = staged.folder / "tierslieux.jsonld"
        data = path.read_bytes()
        path.write_bytes(data.replace(b"Le WIP", b"Le WOP", 1))
        return original(staged)

    from tierslieux.exports import gate

    monkeypatch.setattr(gate, "check_rdf_files", tamper)
    with pytest.raises(ValidationError, match="tierslieux.jsonld is not the segments it was "
                                              "assembled from: part 1 of 1 differs"):
        release(sorted(set(case_lines("third_place"))), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_incremental_build_is_a_full_build_byte_for_byte(
        store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """On the sample wiki and more pages: pages changed, added and deleted; the rebuild with
    its caches gives the files of a build from empty caches."""
    from tierslieux.pipeline.store import Store

    monkeypatch.setattr(segments, "SEGMENT_SUBJECTS", 8)
    options = BuildOptions(workers=1)
    build(store, tmp_path / "out", options)
    segment_dir = Path(str(store) + ".buildcache.segments.d")
    assert any(p.is_dir() for p in segment_dir.iterdir())
    edit(store, "Page 3")
    with Store(store, create=False) as opened:
        opened.upsert([extra_page(200), extra_page(201)])
        opened.delete(opened.page_id_of(0, "Page 7"))
    shutil.copytree(tmp_path / "out", tmp_path / "full")
    calls: list[int] = []
    original = segments.render_segment

    def counting(setup, triples, lines=None):
        calls.append(1)
        return original(setup, triples, lines)

    monkeypatch.setattr(segments, "render_segment", counting)
    build(store, tmp_path / "out", options)
    incremental = len(calls)
    calls.clear()
    build(store, tmp_path / "full", BuildOptions(workers=1, cache=False))
    assert 0 < incremental < len(calls) / 2
    assert different_files(tmp_path / "out", tmp_path / "full") == []


def _occupy(job, pids: str, main: int) -> None:
    """Keep a worker busy until the main process has rendered a segment (at most a minute)."""
    import time

    for _ in range(1200):
        if str(main) in Path(pids).read_text().split():
            return
        time.sleep(0.05)


def test_segments_queued_behind_busy_workers_are_rendered_by_the_main_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both workers busy with other writers: the batches still queued are taken back and
    rendered in this process; the files are the same bytes."""
    import json
    import os

    from tierslieux.exports.writers import WriterInput
    from tierslieux.model.rdf import CORE_PREFIXES
    from tierslieux.workers import shared_pool

    monkeypatch.setattr(segments, "SEGMENT_SUBJECTS", 1)
    pids = tmp_path / "pids"
    original = segments.render_segment

    def recording(setup, triples, lines=None):
        with open(pids, "a") as out:
            out.write(f"{os.getpid()}\n")
        return original(setup, triples, lines)

    monkeypatch.setattr(segments, "render_segment", recording)
    lines = sorted(set(case_lines("third_place") + tricky_lines()))
    context = Context.from_document(json.loads((RESOURCES / "context.jsonld").read_text()))
    staging = tmp_path / "staging"
    staging.mkdir()
    job = WriterInput(lines, triple_order(lines), staging, tmp_path / "none", BASE,
                      {**CORE_PREFIXES, **context.prefixes}, context, (), "Movilab")
    with shared_pool(2, job) as pool:
        pids.write_text("")
        busy = [pool.submit(_occupy, str(pids), os.getpid()) for _ in range(2)]
        done = segments.write_segments(job, pool, None, 2)
        for future in busy:
            future.result()
    assert done.rendered == done.segments > 20
    assert str(os.getpid()) in pids.read_text().split()
    assert dumps(staging) == whole_files(lines)
