"""The RDF dumps of a release written from its segments (segments.py), in order.

**Flow.** The cut is made by a thread ahead of the writer (readahead.py), through every segment
the cache holds, and the cached entries are read by another, a few ahead of the writer
(``READ_AHEAD``). The other segments go to the writers' pool in batches as soon as the cut has
found them, with a bound on the batches and on the triples in flight, and are written in order
as they come back: the main process holds a few segments. A batch still queued behind other
tasks when the writer needs it is taken back and rendered here (``steal``). Without the last
build's cut (keptcut.py), the segments the cache holds are cut whole: the writer then stays at
most ``READ_AHEAD`` of them behind the cut, as it holds their lines until they are written.

**Files.** Each file is hashed as it is written (``_Assembly``), and described by its frame
(``validation.frames.FileFrame``: head, tail, the SHA-256 and size of each part) for the
release's parse-back. The table pieces of the subject segments are written with them
(tablepieces.py).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tierslieux.exports import keptcut
from tierslieux.exports.catalog import GraphStats, combine_stats
from tierslieux.exports.readahead import segments_ahead
from tierslieux.exports.segcache import SegmentCache
from tierslieux.exports.segcut import SUBJECTS, Segment
from tierslieux.exports.segments import PARTS, Rendered, Setup, render_batch
from tierslieux.exports.tablepieces import PieceCache, PieceFlow, TablePiece, Tables
from tierslieux.validation.frames import FileFrame, Manifest

#: segments sent to a worker at a time (at most), batches in flight per worker, and the bounds
#: on the triples of a batch and of all the batches in flight (the main process holds those)
BATCH_SEGMENTS = 4
IN_FLIGHT = 3
BATCH_TRIPLES = 8_000
IN_FLIGHT_TRIPLES = 64_000
#: cached entries read ahead of the writer (each holds a segment's parts)
READ_AHEAD = 8


@dataclass(frozen=True)
class SegmentsPass:
    """What ``write_segments`` did."""

    stats: GraphStats
    manifest: Manifest
    segments: int
    rendered: int
    reused: int
    #: the cache used (to prune once the release is published), None without one
    cache: SegmentCache | None = None
    #: what ``start`` returned
    started: Any = None
    #: the CSV tables, written from pieces (None when the job has no ``tables`` setup)
    tables: Tables | None = None
    #: the cache of the pieces (to prune once published), None without one
    pieces: PieceCache | None = None


class _Assembly:
    """The files of the parts being written, each hashed as it is written."""

    def __init__(self, staging: Path, setup: Setup) -> None:
        self.setup = setup
        self.outs = {}
        self.sums = {}
        self.sizes = {}
        self.parts: dict[str, list[tuple[str, int]]] = {}
        self.heads = {}
        for name, part in PARTS.items():
            head = part.head(setup)
            self.outs[name] = open(staging / part.file, "wb")
            self.sums[name] = hashlib.sha256()
            self.sizes[name] = 0
            self.parts[name] = []
            self.heads[name] = head
            self._write(name, head)

    def _write(self, name: str, data: bytes) -> None:
        self.outs[name].write(data)
        self.sums[name].update(data)
        self.sizes[name] += len(data)

    def add(self, rendered: Rendered) -> None:
        for name, data in rendered.parts.items():
            sha = rendered.sums.get(name) if self.parts[name] else None
            if sha is None:
                data = data[PARTS[name].skip:] if not self.parts[name] else data
                sha = hashlib.sha256(data).hexdigest()
            self.parts[name].append((sha, len(data)))
            self._write(name, data)

    def close(self, count: int) -> tuple[FileFrame, ...]:
        frames = []
        for name, part in PARTS.items():
            tail = part.tail(self.setup, count)
            self._write(name, tail)
            self.outs[name].close()
            frames.append(FileFrame(part.file, self.heads[name], tail, part.skip,
                                    tuple(self.parts[name]), self.sums[name].hexdigest(),
                                    self.sizes[name]))
        return tuple(frames)

    def abort(self) -> None:
        for out in self.outs.values():
            out.close()


def write_segments(job: Any, pool: Any, cache_folder: Path | None = None,
                   workers: int = 1, start: Callable[[], Any] | None = None,
                   remote: Any = None) -> SegmentsPass:
    """The three RDF dumps of ``job`` (a WriterInput) in its staging folder, from segments:
    cached ones are copied, the others rendered in ``pool`` (a ``workers.SharedPool`` over
    ``job``), a few batches in flight, written in order as they come back. ``start`` is
    called once the first segments are cut, so that the first batches are in the pool before
    the caller's other tasks for it. ``remote`` (a Dask engine's ``segment_renderer()``)
    renders them instead: ``remote.submit(setup, batch, cache_folder)`` for each batch, with
    ``remote.slots`` for the batches in flight."""
    setup = Setup(job.prefixes, job.context, job.base_iri)
    cache = SegmentCache(cache_folder, setup.digest) if cache_folder is not None else None
    tables = getattr(job, "tables", None)
    flow = PieceFlow(job.staging, tables, cache_folder) if tables is not None else None
    assembly = _Assembly(job.staging, setup)
    #: in order: batches in the pool or rendered here, segments of the cache (each stream's
    #: segments come in its own order, so each file is written in order)
    pending: deque[_Batch | _Held] = deque()
    #: the segments of the cache whose entries are not being read yet
    unread: deque[_Held] = deque()
    batch: list[Segment] = []
    state = _Tally()
    limit = max(1, remote.slots if remote is not None else workers) * IN_FLIGHT
    folder = str(cache_folder) if cache_folder is not None else None
    started: list[Any] = []

    def submit() -> None:
        wanted = flow.wanted(batch) if flow is not None else []
        future = (remote.submit(setup, list(batch), folder) if remote is not None
                  else pool.submit(render_batch, list(batch), folder, wanted))
        pending.append(_Batch(future, list(batch), wanted))
        state.in_flight += sum(segment.count for segment in batch)
        state.batches += 1
        batch.clear()

    def steal(item: _Batch | _Held) -> bool:  # render here a batch queued behind other tasks
        if not isinstance(item, _Batch) or item.done is not None or not item.future.cancel():
            return False
        item.done = render_batch(job, item.segments, folder, item.wanted)
        return True

    def read(segment: Any) -> tuple[Any, Rendered | None, TablePiece | None]:
        """A cached segment's entry and table piece (in the reader thread), the segment made
        whole when one of them is missing (rendered or its piece made here)."""
        found = cache.get(segment.kind, segment.digest)
        subjects = flow is not None and segment.kind == SUBJECTS
        piece = flow.lookup(segment.digest) if subjects else None
        if found is None or (subjects and piece is None):
            segment = keptcut.whole(segment)
        return segment, found, piece

    def read_ahead(reader: ThreadPoolExecutor) -> None:
        while unread and state.reading < READ_AHEAD:
            held = unread.popleft()
            held.future = reader.submit(read, held.segment)
            state.reading += 1

    def take(item: _Batch | _Held) -> None:
        if isinstance(item, _Held):
            state.whole_held -= not isinstance(item.segment, keptcut.Span)
            # (its read is asked for by now: ``read_ahead`` runs after every segment met and
            # every one taken, and asks in order)
            segment, found, piece = item.future.result()
            state.reading -= 1
            if flow is not None and segment.kind == SUBJECTS:
                flow.meet(segment, True, piece)  # made here when the cache has none
            if found is None:  # damaged since the cut met it (logged): rendered here
                done = render_batch(job, [segment], folder)
                state.rendered += 1
            else:
                done = [found]
                state.reused += 1
        else:
            state.batches -= 1
            if item.done is not None:
                done = item.done
            elif item.future.cancel():
                done = render_batch(job, item.segments, folder, item.wanted)
            else:  # running or about to: render later batches here meanwhile
                while not item.future.done() and any(map(steal, reversed(pending))):
                    pass
                done = item.future.result()
            state.rendered += len(done)
            state.in_flight -= sum(segment.count for segment in item.segments)
        for rendered in done:
            state.add(rendered, assembly)
            if flow is not None and rendered.stream == SUBJECTS:
                flow.add(rendered.digest, rendered.table)

    try:
        with ExitStack() as scope:
            mapped = scope.enter_context(ExitStack())  # the cut's mapped files, closed last
            reader = scope.enter_context(ThreadPoolExecutor(1, "segments-read"))
            scope.callback(lambda: [held.future.cancel() for held in pending
                                    if isinstance(held, _Held) and held.future is not None])
            # the cut made in a thread ahead of this one (readahead.py)
            ahead = scope.enter_context(segments_ahead(job, cache_folder, cache, mapped))
            for seen, (segment, held) in enumerate(ahead):
                if seen == limit * BATCH_SEGMENTS and start is not None:
                    # the other tasks queue behind the first batches (or at once, in a rebuild)
                    started.append(start())
                if held:
                    if batch:
                        submit()
                    pending.append(_Held(segment))
                    unread.append(pending[-1])
                    # a held segment cut whole (no kept cut) holds its lines until written
                    state.whole_held += not isinstance(segment, keptcut.Span)
                else:
                    if flow is not None and segment.kind == SUBJECTS:
                        # its piece from the cache, else made with it (here for a cluster's)
                        flow.meet(segment, remote is not None)
                    batch.append(segment)  # whole (readahead.py)
                    if len(batch) >= BATCH_SEGMENTS \
                            or sum(s.count for s in batch) >= BATCH_TRIPLES:
                        submit()
                read_ahead(reader)
                while pending and (state.batches > limit or state.in_flight > IN_FLIGHT_TRIPLES
                                   or state.whole_held > READ_AHEAD or _ready(pending[0])):
                    take(pending.popleft())
                    read_ahead(reader)
            if batch:
                submit()
            if start is not None and not started:
                started.append(start())
            while pending:
                take(pending.popleft())
                read_ahead(reader)
        frames = assembly.close(state.triples)
        written = flow.close() if flow is not None else None
    except BaseException:
        assembly.abort()
        if flow is not None:
            flow.abort()
        raise
    if cache is not None:
        cache.used.update(state.entries)
    manifest = Manifest(frames, state.triples, tuple(state.problems))
    return SegmentsPass(combine_stats(state.stats), manifest, len(state.entries),
                        state.rendered, state.reused, cache, started[0] if started else None,
                        written, flow.cache if flow is not None else None)


@dataclass
class _Batch:
    """Segments sent to the pool (``done``: rendered here instead, taken back from it)."""

    future: Future
    segments: list[Segment]
    #: the digests of the segments whose table pieces are made with them
    wanted: list[str] = field(default_factory=list)
    done: list[Rendered] | None = None


@dataclass(eq=False)
class _Held:
    """A segment the cache holds (``future``: the read of its entry, once asked for)."""

    segment: Any
    future: Future | None = None


def _ready(item: _Batch | _Held) -> bool:
    if isinstance(item, _Held):
        return item.future is not None and item.future.done()
    return item.done is not None or item.future.done()


@dataclass
class _Tally:
    triples: int = 0
    rendered: int = 0
    reused: int = 0
    #: the triples of the batches in the pool, the batches, and the entries being read
    in_flight: int = 0
    batches: int = 0
    reading: int = 0
    #: the held segments in ``pending`` that are whole (not a range of the mapped files)
    whole_held: int = 0
    stats: list[GraphStats] = field(default_factory=list)
    #: (stream, digest) of every segment, in order
    entries: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, rendered: Rendered, assembly: _Assembly) -> None:
        assembly.add(rendered)
        if rendered.stream == SUBJECTS:
            self.triples += rendered.triples
            self.stats.append(rendered.stats)
        self.entries.append((rendered.stream, rendered.digest))
        self.problems.extend(f"{p} (in segment {rendered.digest[:12]})"
                             for p in rendered.problems)
