"""The cut made from the merged files' bytes, with the last build's cut kept (exports/keptcut.py).

Each cut is compared with ``segcut.cut`` of the same triples (the reference: Python strings,
one subject at a time), segment by segment in each stream: lines, counts, triples, digests.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from test_build_cache import different_files, edit, store  # noqa: F401
from test_exports import case_lines, release
from test_segments import BASE, TL, dumps, tricky_lines, whole_files

from tierslieux.exports import keptcut, segcut
from tierslieux.exports.keptcut import CUT_FILE, KeptCut, Span
from tierslieux.exports.release import ReleaseMeta
from tierslieux.model.lines import triple_order
from tierslieux.runner.build import BuildOptions, build


def key(segment) -> tuple:
    return (segment.kind, segment.lines, segment.count, tuple(segment.triples), segment.digest)


def by_stream(segments) -> dict[str, list[tuple]]:
    found: dict[str, list[tuple]] = {segcut.SUBJECTS: [], segcut.LINES: []}
    for segment in segments:
        found[segment.kind].append(key(keptcut.whole(segment)))
    return found


def byte_cut(lines: list[str], kept: KeptCut | None, every: int, limit: int | None = None
             ) -> tuple[list, KeptCut]:
    done: list[KeptCut] = []
    cut = list(keptcut.cut_bytes(*keptcut.memory_buffers(lines, triple_order(lines)), kept,
                                 every, limit, done))
    return cut, done[0]


def reference(lines: list[str], every: int, limit: int | None = None) -> dict[str, list]:
    return by_stream(segcut.cut(triple_order(lines), every, limit))


@pytest.mark.parametrize("every", [1, 2, 3, 7, 192])
@pytest.mark.parametrize("limit", [None, 3, 5, 40])
def test_the_byte_cut_is_the_reference_cut(every: int, limit: int | None) -> None:
    lines = tricky_lines()
    cut, kept = byte_cut(lines, None, every, limit)
    assert not any(isinstance(segment, Span) for segment in cut)
    assert by_stream(cut) == reference(lines, every, limit)
    again, _ = byte_cut(lines, kept, every, limit)  # nothing changed: every segment known
    assert all(isinstance(segment, Span) for segment in again)
    assert by_stream(again) == reference(lines, every, limit)


def test_a_subject_longer_than_a_scanned_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keptcut, "_BLOCK", 64)
    lines = sorted(set(tricky_lines() + [f'<{BASE}page/P07> <{TL}note> "{n:03d}" .'
                                         for n in range(50)]))
    assert by_stream(byte_cut(lines, None, 3, 5)[0]) == reference(lines, 3, 5)


def subjects(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(s for s, _, _ in triple_order(lines)))


def firsts(lines: list[str], every: int) -> list[str]:
    return [s.triples[0][0] for s in segcut.cut(triple_order(lines), every)
            if s.kind == segcut.SUBJECTS]


def without(lines: list[str], subject: str) -> list[str]:
    return [line for line in lines if not line.startswith(f"<{subject}> ")]


def starting(every: int, starts: bool) -> str:
    """A new subject (sorting between place/A and place/AB) whose hash does or does not
    start a segment."""
    return next(f"{BASE}place/A_new{n}" for n in range(10_000)
                if (segcut.subject_hash(f"{BASE}place/A_new{n}") % every == 0) == starts)


def changes(every: int) -> dict[str, list[str]]:
    lines = tricky_lines()
    all_subjects, cut_at = subjects(lines), firsts(lines, every)
    first, last = all_subjects[0], all_subjects[-1]
    middle = next(f for f in cut_at[len(cut_at) // 2:]
                  if not [s for s in all_subjects if s.startswith(f) and s != f])
    inside = next(s for s in all_subjects[len(all_subjects) // 3:] if s not in cut_at)
    return {
        "first subject changed": [line.replace(f"<{first}> <{TL}memberOf>",
                                               f"<{first}> <{TL}partOf>") for line in lines],
        "last subject gets a triple": sorted(lines + [f'<{last}> <{TL}zz> "more" .']),
        "a subject that starts a segment removed": without(lines, middle),
        "a subject removed inside a segment": without(lines, inside),
        "a subject added between two segments": sorted(
            lines + [f'<{starting(every, False)}> <{TL}name> "new" .']),
        "a subject added that starts a segment": sorted(
            lines + [f'<{starting(every, True)}> <{TL}name> "new" .']),
        # many triples in one segment: the size bound cuts it where it did not before
        "a cut point moved by the size bound": sorted(
            lines + [f'<{inside}> <{TL}note> "{n:03d}" .' for n in range(40)]),
        "everything removed": [],
    }


@pytest.mark.parametrize("every", [3, 8])
@pytest.mark.parametrize("change", list(changes(3)))
def test_a_changed_release_recuts_only_around_the_change(every: int, change: str) -> None:
    lines = tricky_lines()
    _, kept = byte_cut(lines, None, every, 30)
    changed = changes(every)[change]
    cut, made = byte_cut(changed, kept, every, 30)
    assert by_stream(cut) == reference(changed, every, 30)
    recut = [segment for segment in cut if not isinstance(segment, Span)]
    if changed:
        assert 1 <= len(recut) <= 6 < len(cut) / 3, change
    # the cut kept now is the changed release's: a second pass recognises every segment
    again, _ = byte_cut(changed, made, every, 30)
    assert all(isinstance(segment, Span) for segment in again)


def test_a_kept_cut_that_lies_costs_time_not_bytes() -> None:
    """Entries whose length or SHA-256 are wrong are not taken (only the range's SHA-256 and
    the cut rule after it say a segment is the kept one; its count is its bytes')."""
    lines = tricky_lines()
    _, kept = byte_cut(lines, None, 3)
    for entries in kept.streams.values():
        for index, (first, (size, sha, digest)) in enumerate(list(entries.items())):
            entries[first] = [(size, "0" * 64, digest), (size - 1, sha, digest),
                              (size + 40, sha, digest), (size, sha, digest)][index % 4]
    cut, _ = byte_cut(lines, kept, 3)
    assert by_stream(cut) == reference(lines, 3)
    spans = sum(isinstance(segment, Span) for segment in cut)
    assert 0 < spans < len(cut) / 2


@pytest.mark.parametrize("damage", ["truncated", "checksum", "not json", "other sizes"])
def test_a_damaged_kept_cut_is_ignored(tmp_path: Path, damage: str,
                                       caplog: pytest.LogCaptureFixture) -> None:
    lines = tricky_lines()
    _, kept = byte_cut(lines, None, 3)
    path = tmp_path / CUT_FILE
    kept.save(path, [3, 30])
    assert KeptCut.load(path, [3, 30]).streams == kept.streams
    text = path.read_text()
    if damage == "truncated":
        path.write_text(text[:len(text) // 2])
    elif damage == "checksum":
        data = json.loads(text)
        data["streams"]["lines"][0][1] += 1
        path.write_text(json.dumps(data))
    elif damage == "not json":
        path.write_bytes(b"\xff\x00")
    with caplog.at_level(logging.WARNING, logger="tierslieux"):
        loaded = KeptCut.load(path, [3, 40] if damage == "other sizes" else [3, 30])
    assert loaded.streams == {segcut.SUBJECTS: {}, segcut.LINES: {}}
    warned = any("kept cut" in r.getMessage() and "damaged" in r.getMessage()
                 for r in caplog.records)
    assert warned == (damage != "other sizes")  # another setup's cut is not damage


def test_a_release_with_a_damaged_kept_cut_has_the_same_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", 3)
    cache = tmp_path / "cache"
    lines = sorted(set(case_lines("third_place") + tricky_lines()))
    meta = ReleaseMeta(diff_threshold=1.0)
    release(lines, tmp_path / "one", meta, segment_cache=cache)
    assert (cache / CUT_FILE).is_file()
    changed = sorted(lines + [f'<{starting(3, True)}> <{TL}name> "new" .'])
    (cache / CUT_FILE).write_text((cache / CUT_FILE).read_text()[:-10])
    release(changed, tmp_path / "two", meta, segment_cache=cache)
    release(changed, tmp_path / "full", meta)
    assert dumps(tmp_path / "two") == dumps(tmp_path / "full") == whole_files(changed)
    assert KeptCut.load(cache / CUT_FILE, [3, segcut.SEGMENT_TRIPLES]).streams[
        segcut.SUBJECTS]  # kept again, whole


def test_a_segment_goes_to_the_pool_as_bytes_and_is_split_there() -> None:
    import pickle

    lines = tricky_lines()
    segment = next(s for s in byte_cut(lines, None, 7)[0] if s.kind == segcut.SUBJECTS)
    expected = [t for t in triple_order(lines)][:segment.count]
    sent = pickle.dumps(segment)
    assert segment.triples._triples is None  # not split in this process
    received = pickle.loads(sent)
    assert list(received.triples) == expected and received.triples[-1] == expected[-1]
    assert len(segment.triples) == segment.count  # split here only once asked
    assert len(pickle.dumps(segment)) == len(sent)  # and still sent as bytes


def test_a_rebuild_cuts_from_the_merged_files_and_recognises_the_kept_cut(
        store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """A build reads the merged files' bytes (not the reference cut), keeps its cut, and a
    rebuild after one edit takes most segments from it; its files are a full build's."""
    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", 8)
    monkeypatch.setattr(segcut, "cut", None)  # never the reference here
    seen: list[list] = []
    original = keptcut.cut_bytes

    def recording(*args, **kwargs):
        seen.append([])
        for segment in original(*args, **kwargs):
            seen[-1].append(segment)
            yield segment

    monkeypatch.setattr(keptcut, "cut_bytes", recording)
    build(store, tmp_path / "out", BuildOptions(workers=1))
    assert seen and not any(isinstance(s, Span) for s in seen[-1])
    cut_file = Path(str(store) + ".buildcache.segments.d") / CUT_FILE
    assert cut_file.is_file()
    edit(store, "Page 3")
    shutil.copytree(tmp_path / "out", tmp_path / "full")
    build(store, tmp_path / "out", BuildOptions(workers=1))
    recut = [s for s in seen[-1] if not isinstance(s, Span)]
    assert 1 <= len(recut) < len(seen[-1]) / 4
    build(store, tmp_path / "full", BuildOptions(workers=1, cache=False))
    assert different_files(tmp_path / "out", tmp_path / "full") == []


def test_a_one_line_segment_whose_subject_gets_a_triple_is_cut_again() -> None:
    """With one subject a segment, a subject of one triple is a one-line range: a triple
    added after it must not leave that range recognised with the subject going on past it."""
    lines = sorted(f'<{BASE}page/P{n:02d}> <{TL}name> "p{n}" .' for n in range(12))
    _, kept = byte_cut(lines, None, 1)
    changed = sorted(lines + [f'<{BASE}page/P05> <{TL}zz> "more" .'])
    cut, _ = byte_cut(changed, kept, 1)
    assert by_stream(cut) == reference(changed, 1)
    assert sum(not isinstance(segment, Span) for segment in cut) == 2  # P05 in each stream


def released_ranges(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The ranges that ``model.mapped.Releaser`` gives back from now on, a page at a time."""
    import mmap

    from tierslieux.model import mapped

    monkeypatch.setattr(mapped, "RELEASE", mmap.PAGESIZE)
    given: list[tuple[int, int]] = []
    real = mapped.Releaser.release

    def counting(self, at: int) -> None:  # type: ignore[no-untyped-def]
        before = self.released
        real(self, at)
        if self.released != before:
            given.append((before, self.released))

    monkeypatch.setattr(mapped.Releaser, "release", counting)
    return given


def test_a_cut_over_mapped_files_gives_their_pages_back(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the mapped merged files (as a build reads them) the pages behind the cut are given
    back as it goes (they would count in the main process's memory: 190 MB at 8,000 pages);
    the segments, kept ones (Spans read after their pages went) included, are the same."""
    import mmap

    if not hasattr(mmap, "MADV_DONTNEED"):
        pytest.skip("no madvise(MADV_DONTNEED) on this system")
    given = released_ranges(monkeypatch)
    lines = [f"<{BASE}s{n:05d}> <{TL}p{n % 7}> \"{'x' * 200} {n}\" ." for n in range(2000)]
    lines += tricky_lines()
    lines = sorted(set(lines))
    text, keys = keptcut.memory_buffers(lines, triple_order(lines))
    (tmp_path / "lines").write_bytes(text)
    (tmp_path / "triples").write_bytes(keys)
    _, kept = byte_cut(lines, None, 7, 30)
    for previous in (None, kept):
        with open(tmp_path / "lines", "rb") as a, open(tmp_path / "triples", "rb") as b:
            mapped = [keptcut._map(a), keptcut._map(b)]
            given.clear()
            cut = list(keptcut.cut_bytes(*mapped, previous, 7, 30))
            # the Spans read their bytes only now, behind the pages given back
            assert by_stream(cut) == reference(lines, 7, 30)
            for buffer in mapped:
                buffer.close()
        assert len(given) > 10  # both streams, page after page
        assert all(start % mmap.PAGESIZE == 0 and end > start for start, end in given)
        if previous is not None:
            assert any(isinstance(segment, Span) for segment in cut)


@pytest.mark.parametrize("stack", [False, True])
def test_the_mapped_files_are_closed_by_the_stack_given(tmp_path: Path, stack: bool) -> None:
    """``release_segments`` over a build's merged files: given an ExitStack, its mapped files
    stay open once the cut is read whole (a kept segment found damaged in the cache is then
    read from its range, segwrite.py) and close with the stack; without one, at the cut's end."""
    from contextlib import ExitStack

    lines = sorted(set(case_lines("third_place") + tricky_lines()))
    text, keys = keptcut.memory_buffers(lines, triple_order(lines))
    paths = (tmp_path / "merged.lines", tmp_path / "merged.triples")
    paths[0].write_bytes(text)
    paths[1].write_bytes(keys)

    class Merged:  # what a build's RunSet gives: where its merged files are
        def merged_paths(self):
            return paths

    cache = tmp_path / "cache"
    list(keptcut.release_segments(Merged(), None, cache))  # the cut kept in the cache
    with ExitStack() as files:
        cut = list(keptcut.release_segments(Merged(), None, cache, files if stack else None))
        spans = [segment for segment in cut if isinstance(segment, Span)]
        assert len(spans) == len(cut) > 4  # all recognised
        if stack:
            assert by_stream([keptcut.whole(s) for s in spans]) == reference(
                lines, segcut.SEGMENT_SUBJECTS)
        else:
            with pytest.raises(ValueError):
                keptcut.whole(spans[0])
    with pytest.raises(ValueError):  # closed with the stack
        keptcut.whole(spans[0])
