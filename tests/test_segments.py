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
from tierslieux.exports import segcut, segments, segwrite
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


def streams(lines: list[str], every: int, limit: int | None = None
            ) -> tuple[list[segcut.Segment], list[segcut.Segment]]:
    cut = list(segcut.cut(triple_order(lines), every, limit))
    return ([s for s in cut if s.kind == segcut.SUBJECTS],
            [s for s in cut if s.kind == segcut.LINES])


def subjects_of(segment: segcut.Segment) -> list[str]:
    return list(dict.fromkeys(line[1:line.index(b"> ")].decode()
                              for line in segment.lines.splitlines()))


@pytest.mark.parametrize("every", [1, 2, 3, 7])
def test_segments_are_whole_subjects_contiguous_in_their_own_order(every: int) -> None:
    lines = tricky_lines()
    ordered = triple_order(lines)
    subject_segments, line_segments = streams(lines, every)
    assert len(subject_segments) > 5 and len(line_segments) > 5  # the hash does cut these
    # subject segments: the triples in triple order, each segment's lines sorted
    assert [t for segment in subject_segments for t in segment.triples] == ordered
    for segment in subject_segments:
        assert segment.lines == segcut.segment_lines(segment.triples)
        assert segment.count == len(segment.triples)
    # line segments: their lines, joined, are the dump's line order
    joined = b"".join(segment.lines for segment in line_segments)
    assert joined == ("\n".join(lines) + "\n").encode("utf-8")
    for cut in (subject_segments, line_segments):
        for one, two in zip(cut, cut[1:]):
            assert subjects_of(one)[-1] != subjects_of(two)[0]  # a subject is never split
    if every == 1:  # every subject starts a segment, in both streams
        assert len(subject_segments) == len(line_segments) == len({s for s, _, _ in ordered})


def test_line_order_is_made_from_triple_order_with_a_few_subjects_held() -> None:
    """Families of numbered titles (``P1`` is a prefix of ``P10``…``P19``, ``P100``…) with
    their sections and revisions, and the other characters around ``>``: the line segments
    are still exactly the sorted lines, cut anywhere."""
    import random

    rng = random.Random(4)
    subjects = set()
    for number in rng.sample(range(1, 3000), 600):
        page = f"{BASE}page/P{number}"
        subjects.update([page, f"{page}#s{number % 7}", f"{page}/rev/{number * 7}",
                         f"{page}-{number % 3}", f"{page}_(2)", f"{page}.x"])
    lines = sorted(f"<{s}> <{TL}n> \"{i}\" ." for i, s in enumerate(sorted(subjects)))
    lines = sorted(lines + [f"<{s}> <{TL}n-x> <{s}> ." for s in sorted(subjects)[::5]])
    in_triple_order = list(dict.fromkeys(s for s, _, _ in triple_order(lines)))
    in_line_order = list(dict.fromkeys(line[1:line.index("> ")] for line in lines))
    assert in_triple_order != in_line_order  # the data does need the reordering
    for every in (1, 5, 64):
        subject_segments, line_segments = streams(lines, every, limit=40)
        assert b"".join(s.lines for s in line_segments) == \
            ("\n".join(lines) + "\n").encode("utf-8")
        assert sorted(b"".join(s.lines for s in subject_segments).splitlines()) == \
            [line.encode("utf-8") for line in lines]


def test_segments_stay_small_whatever_the_iris() -> None:
    """The hash rule alone gives sizes only on average; past ``limit`` triples a segment ends
    at the next subject whose hash is a multiple of ``every // 16``."""
    lines = sorted(f"<{BASE}page/Q{n}> <{TL}n> \"{m}\" ." for n in range(4000)
                   for m in range(3))
    unbounded = max(s.count for s in streams(lines, 512, limit=10**9)[0])
    bounded = [s.count for s in streams(lines, 512, limit=300)[0]]
    assert unbounded > 2000
    assert max(bounded) < 2.5 * 300 < unbounded
    # the same content gives the same cuts: a segment far away does not move
    fewer = [line for line in lines if not line.startswith(f"<{BASE}page/Q3999> ")]
    assert streams(fewer, 512, 300)[0][0].digest == streams(lines, 512, 300)[0][0].digest


def test_subject_segments_alone_would_not_give_line_order() -> None:
    """The IRIs above do need the second stream: the subject segments' lines, each sorted and
    joined, are not in line order."""
    subject_segments, _ = streams(tricky_lines(), 1)
    joined = b"".join(segment.lines for segment in subject_segments)
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
    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", every)
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
    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", 2)
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


def rendered_counts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The triples of each segment rendered from now on (``segments.render_segment``)."""
    calls: list[int] = []
    original = segments.render_segment

    def counting(setup, segment):
        calls.append(segment.count)
        return original(setup, segment)

    monkeypatch.setattr(segments, "render_segment", counting)
    return calls


@pytest.mark.parametrize("code", ["the same code", "other code"])
def test_a_cached_release_renders_only_what_changed(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture,
                                                    code: str) -> None:
    """Nothing changed: every segment from the cache. The segments, table pieces and SHACL
    results are kept under the version *and a digest of the code* (model/code.py): a clone
    at another commit (the same version number) reuses none of them."""
    from tierslieux.exports import tablepieces
    from tierslieux.model.code import code_version

    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", 2)
    calls = rendered_counts(monkeypatch)
    cache = tmp_path / "cache"
    lines = sorted(set(case_lines("third_place") + tricky_lines()))
    cached_release(lines, tmp_path / "one", cache)
    first = len(calls)
    assert first > 10 and "+" in code_version()
    if code == "other code":
        other = code_version().split("+")[0] + "+0000000000000000"
        for module in (segments, tablepieces):
            monkeypatch.setattr(module, "code_version", lambda: other)
    calls.clear()
    cached_release(lines, tmp_path / "two", cache)
    assert len(calls) == (0 if code == "the same code" else first)
    assert dumps(tmp_path / "two") == dumps(tmp_path / "one")
    assert (tmp_path / "two" / "tierslieux.nt.gz").read_bytes() == \
        (tmp_path / "one" / "tierslieux.nt.gz").read_bytes()

    # a new subject that starts a segment (a split), a subject that started one removed (a
    # merge), a value changed
    def count(lines: list[str]) -> int:
        return len(streams(lines, 2)[0])

    new = next(f"{BASE}place/new{n}" for n in range(1000)
               if segcut.subject_hash(f"{BASE}place/new{n}") % 2 == 0)
    firsts = [segment.triples[0][0] for segment in streams(lines, 2)[0]]
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
    assert 0 < len(calls) <= 8 < first / 5  # at most 4 segments of each stream
    shutil.rmtree(tmp_path / "fresh-cache", ignore_errors=True)
    release(changed, tmp_path / "full", ReleaseMeta(diff_threshold=1.0))
    assert dumps(tmp_path / "three") == dumps(tmp_path / "full") == whole_files(changed)
    assert (tmp_path / "three" / "tierslieux.nt.gz").read_bytes() == \
        (tmp_path / "full" / "tierslieux.nt.gz").read_bytes()

    # a damaged entry is noticed, rendered again, and the bytes do not change
    entry = next(p for p in sorted(cache.iterdir()) if p.name.endswith("-subjects"))
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
    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", 4)
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

    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", 8)
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

    def counting(setup, segment):
        calls.append(1)
        return original(setup, segment)

    monkeypatch.setattr(segments, "render_segment", counting)
    build(store, tmp_path / "out", options)
    incremental = len(calls)
    calls.clear()
    build(store, tmp_path / "full", BuildOptions(workers=1, cache=False))
    assert 0 < incremental < len(calls) / 2
    assert different_files(tmp_path / "out", tmp_path / "full") == []



def test_a_rebuild_renders_a_damaged_entry_from_the_merged_files(
        store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    """A cached segment the cut recognised (a range of the mapped merged files) whose entry is
    found damaged when read: rendered from its range, the files those of a full build."""
    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", 8)
    options = BuildOptions(workers=1)
    build(store, tmp_path / "out", options)
    segment_dir = Path(str(store) + ".buildcache.segments.d")
    entries = sorted(p for p in segment_dir.iterdir() if (p / "turtle").is_file())
    assert len(entries) > 4
    damaged = entries[len(entries) // 2]
    (damaged / "turtle").write_bytes(b"<a> <b> <c> .\n")
    edit(store, "Page 3")
    shutil.copytree(tmp_path / "out", tmp_path / "full")
    with caplog.at_level(logging.WARNING):
        build(store, tmp_path / "out", options)
    assert any("is damaged" in r.getMessage() and damaged.name in r.getMessage()
               for r in caplog.records)
    build(store, tmp_path / "full", BuildOptions(workers=1, cache=False))
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

    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", 1)
    pids = tmp_path / "pids"
    original = segments.render_segment

    def recording(setup, segment):
        with open(pids, "a") as out:
            out.write(f"{os.getpid()}\n")
        return original(setup, segment)

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
        done = segwrite.write_segments(job, pool, None, 2)
        for future in busy:
            future.result()
    assert done.rendered == done.segments > 20
    assert str(os.getpid()) in pids.read_text().split()
    assert dumps(staging) == whole_files(lines)


def test_the_quick_parse_back_and_the_set_comparison_agree(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """A part is first checked by writing it back as N-Triples with pyoxigraph and comparing
    bytes; when that fails the triples are compared as sets, which says what differs, or that
    nothing does (the same triples spelt otherwise in the lines are no problem)."""
    import json

    from tierslieux.model.rdf import CORE_PREFIXES

    context = Context.from_document(json.loads((RESOURCES / "context.jsonld").read_text()))
    setup = segments.Setup({**CORE_PREFIXES, **context.prefixes}, context, BASE)

    def rendered(lines: list[str]) -> list[tuple[segcut.Segment, dict[str, bytes]]]:
        return [(segment, {name: part.render(setup, segment.triples, segment.lines)
                           for name, part in segments.stream_parts(segment.kind).items()})
                for segment in segcut.cut(triple_order(sorted(set(lines))), 3)]

    def quick(segment: segcut.Segment, parts: dict[str, bytes]) -> bool:
        return all(segments._same_lines(setup, segments.PARTS[name], data, segment.lines)
                   for name, data in parts.items())

    plain = rendered(case_lines("third_place") + tricky_lines())
    assert all(quick(s, parts) for s, parts in plain)
    assert all(segments.parse_back(setup, s, parts) == () for s, parts in plain)
    # escapes in IRIs and literals, "@FR", "@en-GB": pyoxigraph writes them otherwise, the
    # quick check fails, the sets agree
    tricky = rendered(case_lines("tricky_literals"))
    assert not all(quick(s, parts) for s, parts in tricky)
    assert all(segments.parse_back(setup, s, parts) == () for s, parts in tricky)
    monkeypatch.setattr(segments, "_same_lines", lambda *args: False)
    assert all(segments.parse_back(setup, s, parts) == () for s, parts in plain)
    # a lost triple is found either way
    segment, parts = next((s, p) for s, p in plain if s.kind == segcut.SUBJECTS)
    lost = {**parts, "turtle": segments.PARTS["turtle"].render(setup, segment.triples[:-1],
                                                               segment.lines)}
    assert segments.parse_back(setup, segment, lost)[0].startswith(
        "tierslieux.ttl differs from the lines written: 1 triples missing")
    monkeypatch.undo()
    assert not quick(segment, lost)
    assert segments.parse_back(setup, segment, lost)[0].startswith(
        "tierslieux.ttl differs from the lines written: 1 triples missing")
