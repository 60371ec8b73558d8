"""The segments read ahead of their writer in a thread (exports/readahead.py): results in
order, errors handed to the consumer, the producer stopped and joined when the consumer leaves,
and a release written with a failing cut leaves no thread behind."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from test_exports import case_lines
from test_segments import BASE, TL, cached_release, dumps, tricky_lines, whole_files

from tierslieux.errors import PublishError
from tierslieux.exports import readahead, segcut
from tierslieux.exports.readahead import ReadAhead


class Boom(Exception):
    pass


class Source:
    """A generator of numbers that records how far it was read and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.read = 0
        self.closed = False
        self.thread: str | None = None

    def __iter__(self):
        try:
            for n in range(self.count):
                self.thread = threading.current_thread().name
                if n == self.fail_at:
                    raise Boom(f"failed at {n}")
                self.read += 1
                yield n
        finally:
            self.closed = True


def no_reader_left() -> bool:
    return not any(t.name.startswith(("read-ahead", "segments-ahead"))
                   for t in threading.enumerate())


def test_the_results_come_in_order_made_in_another_thread() -> None:
    source = Source(100)
    with ReadAhead(iter(source), lambda n: (n, threading.current_thread().name), 3) as ahead:
        got = list(ahead)
    assert [n for n, _ in got] == list(range(100))
    assert {name for _, name in got} == {"read-ahead"} and source.thread == "read-ahead"
    assert source.closed and no_reader_left()


@pytest.mark.parametrize("where", ["source", "look"])
def test_an_error_of_the_producer_reaches_the_consumer_after_the_items_before(
        where: str) -> None:
    source = Source(50, fail_at=17 if where == "source" else None)

    def look(n: int) -> int:
        if where == "look" and n == 17:
            raise Boom("look failed at 17")
        return n * 2

    got: list[int] = []
    with pytest.raises(Boom, match="failed at 17"):
        with ReadAhead(iter(source), look, 4) as ahead:
            for item in ahead:
                got.append(item)
    assert got == [n * 2 for n in range(17)]
    assert source.closed and no_reader_left()


@pytest.mark.parametrize("how", ["exception", "break"])
def test_a_consumer_that_leaves_midway_stops_the_producer(how: str) -> None:
    source = Source(10_000)
    got: list[int] = []

    def consume() -> None:
        with ReadAhead(iter(source), lambda n: n, 4) as ahead:
            for item in ahead:
                got.append(item)
                if item == 5:
                    if how == "exception":
                        raise Boom("consumer failed")
                    break

    if how == "exception":
        with pytest.raises(Boom, match="consumer failed"):
            consume()
    else:
        consume()
    assert got == list(range(6))
    # joined, the source closed in its thread, read no further than the queue's bound
    assert no_reader_left() and source.closed
    assert source.read <= 6 + 4 + 2


def test_a_release_whose_cut_fails_midway_raises_it_and_leaves_no_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", 2)
    lines = sorted(set(case_lines("third_place") + tricky_lines()))
    original = readahead.keptcut.release_segments
    closed: list[bool] = []

    def failing(*args, **kwargs):
        try:
            for n, segment in enumerate(original(*args, **kwargs)):
                if n == 5:
                    raise Boom("cut failed")
                yield segment
        finally:
            closed.append(True)

    monkeypatch.setattr(readahead.keptcut, "release_segments", failing)
    with pytest.raises(PublishError, match="Boom: cut failed"):  # the cut's own error
        cached_release(lines, tmp_path / "out", tmp_path / "cache")
    assert closed == [True] and no_reader_left()
    monkeypatch.setattr(readahead.keptcut, "release_segments", original)
    # and the next release (its cache half made) is whole, as a fresh one
    more = sorted(lines + [f'<{BASE}place/new> <{TL}name> "new" .'])
    cached_release(more, tmp_path / "out", tmp_path / "cache")
    assert dumps(tmp_path / "out") == whole_files(more)
    assert no_reader_left()


def test_a_damaged_cache_entry_met_ahead_is_rendered_again(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", 2)
    lines = sorted(set(case_lines("third_place") + tricky_lines()))
    cache = tmp_path / "cache"
    cached_release(lines, tmp_path / "one", cache)
    damaged = sorted(p for p in cache.iterdir() if p.is_dir() and (p / "turtle").is_file())
    assert damaged
    (damaged[0] / "turtle").write_bytes(b"<a> <b> <c> .\n")
    cached_release(lines, tmp_path / "two", cache)
    assert dumps(tmp_path / "two") == whole_files(lines)


def test_only_the_heavy_results_count_in_the_bound() -> None:
    """The cut runs ahead through the segments the cache holds (light: a range of the mapped
    file) and stops only when ``depth`` whole ones wait for the writer."""
    source = Source(1000)
    with ReadAhead(iter(source), lambda n: n, 2, heavy=lambda n: n % 10 == 0) as ahead:
        for _ in range(200):  # the producer blocks on the third heavy result, 20
            if source.read >= 21:
                break
            threading.Event().wait(0.01)
        threading.Event().wait(0.05)
        assert source.read == 21
        assert next(ahead) == 0
        for _ in range(200):
            if source.read >= 31:
                break
            threading.Event().wait(0.01)
        threading.Event().wait(0.05)
        assert source.read == 31  # one slot given back: up to the next heavy one, 30
        assert list(ahead) == list(range(1, 1000))
    assert source.closed and no_reader_left()


def write_segments(tmp_path: Path, lines: list[str], name: str, cache: Path,
                   wrap=lambda pool: pool):
    """``segwrite.write_segments`` of ``lines`` into ``tmp_path / name`` with the segment cache
    ``cache``, in this process (its pool wrapped by ``wrap``); the files checked."""
    import json

    from tierslieux.exports import segwrite
    from tierslieux.exports.jsonld import Context
    from tierslieux.exports.writers import WriterInput
    from tierslieux.model.lines import triple_order
    from tierslieux.model.rdf import CORE_PREFIXES
    from tierslieux.workers import shared_pool
    from test_exports import RESOURCES

    context = Context.from_document(json.loads((RESOURCES / "context.jsonld").read_text()))
    staging = tmp_path / name
    staging.mkdir()
    job = WriterInput(lines, triple_order(lines), staging, tmp_path / "none", BASE,
                      {**CORE_PREFIXES, **context.prefixes}, context, (), "Movilab")
    with shared_pool(1, job) as pool:
        done = segwrite.write_segments(job, wrap(pool), cache, 1)
    assert dumps(staging) == whole_files(lines)
    return done


def slow_reads(monkeypatch: pytest.MonkeyPatch, reads: list[str], before=lambda: None) -> None:
    """Each read of a cached entry takes 10 ms more, is recorded in ``reads`` (and calls
    ``before`` first)."""
    import time

    from tierslieux.exports.segcache import SegmentCache

    original = SegmentCache.get

    def slow(self, stream, digest):
        before()
        time.sleep(0.01)
        reads.append(digest)
        return original(self, stream, digest)

    monkeypatch.setattr(SegmentCache, "get", slow)


def test_the_segments_to_render_reach_the_pool_before_the_cached_ones_before_them_are_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuild whose changed segment comes last: it is sent to the pool as soon as the cut
    has found it, while the cached entries before it are still being read (slowly, here), not
    once they are all written; the files are the same bytes."""
    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", 1)
    lines = sorted(set(case_lines("third_place") + tricky_lines()))
    last = max(line.split(">")[0][1:] for line in lines) + "~"
    more = sorted(lines + [f'<{last}> <{TL}name> "last" .'])
    cache = tmp_path / "cache"
    reads: list[str] = []
    submits: list[int] = []

    class Recording:  # the pool, recording how many entries were read at each batch sent
        def __init__(self, pool):
            self.pool = pool

        def submit(self, fn, *args):
            submits.append(len(reads))
            return self.pool.submit(fn, *args)

    first = write_segments(tmp_path, lines, "one", cache, Recording)
    assert first.rendered == first.segments > 40
    slow_reads(monkeypatch, reads)
    submits.clear()
    second = write_segments(tmp_path, more, "two", cache, Recording)
    assert 0 < second.rendered <= 4 and second.reused == len(reads) > 40
    assert submits and max(submits) < len(reads) / 2


def test_without_a_kept_cut_the_cut_stays_a_few_segments_ahead(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the last build's cut, the segments the cache holds are cut whole (their lines
    held until written): then the cut does not run ahead of the writer by more than a few of
    them, however slow the writer is (memory stays flat)."""
    from tierslieux.exports import keptcut, segwrite

    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", 1)
    lines = sorted(set(case_lines("third_place") + tricky_lines()))
    cache = tmp_path / "cache"
    write_segments(tmp_path, lines, "one", cache)
    (cache / keptcut.CUT_FILE).unlink()
    cut = [0]
    original = readahead.keptcut.release_segments

    def counting(*args, **kwargs):
        for segment in original(*args, **kwargs):
            assert not isinstance(segment, keptcut.Span)
            cut[0] += 1
            yield segment

    monkeypatch.setattr(readahead.keptcut, "release_segments", counting)
    reads: list[str] = []
    ahead: list[int] = []
    slow_reads(monkeypatch, reads, before=lambda: ahead.append(cut[0] - len(reads)))
    done = write_segments(tmp_path, lines, "two", cache)
    assert done.reused == len(reads) > 40
    bound = readahead.DEPTH + segwrite.READ_AHEAD + 4
    assert max(ahead) <= bound < len(reads) / 2
