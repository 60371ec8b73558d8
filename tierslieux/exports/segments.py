"""The RDF dumps of a release assembled from segments of subjects, rendered once and cached.

A rebuild after a few changed pages publishes nearly the same triples: the segments that did not
change are copied from the cache instead of being rendered and parsed back again.

**Cut** (segcut.py, from the merged files' bytes by keptcut.py, which recognises the last
build's segments by theirs): subject segments in triple order (Turtle, JSON-LD, statistics) and
line segments in line order (``tierslieux.nt.gz``), of whole subjects, cut where hashes say.

**Parts.** ``PARTS`` is the registry of what a segment renders, each with its stream and the
file it is a part of: a subject segment's Turtle blocks (``turtle.TurtleBlocks``) and JSON-LD
nodes (``jsonld.jsonld_nodes``), a line segment's gzip member (``tierslieux.nt.gz`` is a
concatenation of members: valid gzip, read by zcat, Python and rdflib alike). A file is its
``head``, the parts of every segment of its stream in order (the first part without its first
``skip`` characters: the separator that comes before every subject but the first) and its
``tail``. The graph statistics of a subject segment are kept too (``GraphStats`` combine:
segments never share a subject).

**Parse-back.** A freshly rendered subject segment's lines are parsed with pyoxigraph (they
must parse, each triple spelt once) and its parts parsed back (the Turtle behind the file's
prefixes, the JSON-LD nodes in a document with the context) and compared with them; a line
segment's member is decompressed and compared with its lines (the same lines the subject
segments parsed). The verdict is kept with the parts. The release's parse-back then checks the
frame of each file: its head and tail, and that it is the concatenation of verified parts
(``validation.release.check_rdf_files`` with a ``Manifest``).

**Flow.** The cut and the cache lookups are made by a thread ahead of the writer (readahead.py).
Segments go to the writers' pool in batches, with a bound on the batches and on the triples in
flight, and are written in order as they come back: the main process holds a few segments.

**Cache** (segcache.py): one entry per segment, stream and rendering setup, reused when its
parts still have their SHA-256.

**Tables** (tablepieces.py): each subject segment's rows of the CSV tables are a piece, made
with the segment in the pool when the segment is rendered there, and cached on their own: a
piece is reused when its segment is the same and its index lookups get the same answers.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tierslieux.model.code import code_version
from tierslieux.validation.frames import FileFrame, Manifest
from tierslieux.exports.catalog import GraphStats, combine_stats, graph_stats
from tierslieux.exports.jsonld import jsonld_head, jsonld_nodes, jsonld_tail
from tierslieux.exports.ntriples import GZIP_LEVEL
from tierslieux.exports import segcut
from tierslieux.exports.readahead import segments_ahead
from tierslieux.exports.segcache import SegmentCache, setup_digest
from tierslieux.exports.segcut import LINES, SUBJECTS, Segment
from tierslieux.exports.tablepieces import PieceCache, PieceFlow, TablePiece, Tables, make_piece
from tierslieux.exports.turtle import TurtleBlocks
from tierslieux.model.rdf import Triple

log = logging.getLogger(__name__)

#: segments sent to a worker at a time (at most), batches in flight per worker, and the bounds
#: on the triples of a batch and of all the batches in flight (the main process holds those)
BATCH_SEGMENTS = 4
IN_FLIGHT = 3
BATCH_TRIPLES = 8_000
IN_FLIGHT_TRIPLES = 64_000


# --------------------------------------------------------------------------- the parts


@dataclass(frozen=True)
class Setup:
    """What the rendering of a segment depends on (the writers' input of the release)."""

    prefixes: Any
    context: Any
    base_iri: str

    @property
    def digest(self) -> str:
        return setup_digest(code_version(), [segcut.SEGMENT_SUBJECTS, segcut.SEGMENT_TRIPLES],
                            self.prefixes, self.context.raw, self.base_iri)


@dataclass(frozen=True)
class Part:
    """One file's share of a segment."""

    name: str
    #: the stream of segments it is rendered from (segcut.SUBJECTS or segcut.LINES)
    stream: str
    #: the file (in the staging folder) the parts make, with its head and tail
    file: str
    render: Callable[[Setup, Sequence[Triple], bytes], bytes]
    head: Callable[[Setup], bytes]
    tail: Callable[[Setup, int], bytes]
    #: bytes of the first part left out (the separator before every subject but the first)
    skip: int
    #: the triples of a part as pyoxigraph parses them back (None: the part is compared with
    #: the segment's lines as bytes)
    parse: Callable[[Setup, bytes], Iterator[Any]] | None = None


def _turtle(setup: Setup, triples: Sequence[Triple], lines: bytes) -> bytes:
    return TurtleBlocks(setup.prefixes).render(triples).encode("utf-8")


def _turtle_head(setup: Setup) -> bytes:
    return TurtleBlocks(setup.prefixes).header().encode("utf-8")


def _turtle_parse(setup: Setup, data: bytes) -> Iterator[Any]:
    import pyoxigraph as ox

    return ox.parse(_turtle_head(setup) + data, format=ox.RdfFormat.TURTLE)


def _jsonld(setup: Setup, triples: Sequence[Triple], lines: bytes) -> bytes:
    return jsonld_nodes(triples, setup.context).encode("utf-8")


def _jsonld_head(setup: Setup) -> bytes:
    return jsonld_head(setup.context).encode("utf-8")


def _jsonld_parse(setup: Setup, data: bytes) -> Iterator[Any]:
    import pyoxigraph as ox

    document = _jsonld_head(setup) + data[1:] + jsonld_tail(1).encode("utf-8")
    return ox.parse(document, format=ox.RdfFormat.JSON_LD)


def _ntriples(setup: Setup, triples: Sequence[Triple], lines: bytes) -> bytes:
    return gzip_member(lines)


def gzip_member(data: bytes) -> bytes:
    """One gzip member as ``ntriples.write_ntriples_gz`` writes its files (mtime 0, no name)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0,
                       compresslevel=GZIP_LEVEL) as out:
        out.write(data)
    return buffer.getvalue()


def _ntriples_tail(setup: Setup, count: int) -> bytes:
    return b"" if count else gzip_member(b"")  # an empty dump is still a gzip file


PARTS: dict[str, Part] = {
    part.name: part for part in (
        Part("turtle", SUBJECTS, "tierslieux.ttl", _turtle, _turtle_head, lambda s, n: b"", 1,
             _turtle_parse),
        Part("jsonld", SUBJECTS, "tierslieux.jsonld", _jsonld, _jsonld_head,
             lambda s, n: jsonld_tail(n).encode("utf-8"), 1, _jsonld_parse),
        Part("ntriples", LINES, "tierslieux.nt.gz", _ntriples, lambda s: b"", _ntriples_tail,
             0),
    )
}


def stream_parts(stream: str) -> dict[str, Part]:
    """The parts rendered from the segments of ``stream``."""
    return {name: part for name, part in PARTS.items() if part.stream == stream}


# --------------------------------------------------------------------------- one segment


@dataclass(frozen=True)
class Rendered:
    """A segment rendered (and parsed back), or read back from the cache."""

    stream: str
    digest: str
    triples: int
    #: part name -> bytes (the parts of the segment's stream)
    parts: dict[str, bytes]
    #: the statistics of a subject segment (None for a line segment)
    stats: GraphStats | None
    #: what the parse-back found wrong (nothing: the parts hold exactly the segment's triples)
    problems: tuple[str, ...] = ()
    #: the segment's rows of the tables (tablepieces.py), when made with it
    table: TablePiece | None = None
    #: part name -> SHA-256 of its bytes (hashed where rendered or checked in the cache)
    sums: dict[str, str] = field(default_factory=dict)


def render_segment(setup: Setup, segment: Segment) -> Rendered:
    """Every part of one segment, its statistics and the parse-back verdict."""
    parts = {name: part.render(setup, segment.triples, segment.lines)
             for name, part in stream_parts(segment.kind).items()}
    stats = graph_stats(segment.triples, setup.base_iri) if segment.kind == SUBJECTS else None
    return Rendered(segment.kind, segment.digest, segment.count, parts, stats,
                    parse_back(setup, segment, parts),
                    sums={name: hashlib.sha256(data).hexdigest() for name, data in parts.items()})


def parse_back(setup: Setup, segment: Segment, parts: dict[str, bytes]) -> tuple[str, ...]:
    """The parts parsed back and compared with the segment's lines (one message a problem).

    First the quick way: each RDF part parsed and written back as N-Triples by pyoxigraph, in
    Rust, whose sorted lines must be the segment's lines byte for byte (so those lines parse,
    and no triple is spelt in two ways: pyoxigraph writes one spelling). Only when that fails
    are the triples compared as sets, to say what differs (or that nothing does)."""
    if all(_same_lines(setup, part, parts[name], segment.lines)
           for name, part in stream_parts(segment.kind).items()):
        return ()
    return _compare(setup, segment, parts)


def _same_lines(setup: Setup, part: Part, data: bytes, lines: bytes) -> bool:
    import pyoxigraph as ox

    try:
        if part.parse is None:
            return gzip.decompress(data) == lines
        written = ox.serialize(part.parse(setup, data), format=ox.RdfFormat.N_TRIPLES)
    except (SyntaxError, ValueError, OSError, EOFError):
        return False
    found = written.splitlines(keepends=True) if written else []
    found.sort()
    return b"".join(found) == lines


def _compare(setup: Setup, segment: Segment, parts: dict[str, bytes]) -> tuple[str, ...]:
    """The slow parse-back: the triples of each part as a set against the lines'."""
    import pyoxigraph as ox

    problems = []
    if segment.kind == SUBJECTS:  # the lines themselves, once: the N-Triples dump is them
        nt = PARTS["ntriples"].file
        try:
            expected = set(ox.parse(segment.lines, format=ox.RdfFormat.N_TRIPLES))
        except (SyntaxError, ValueError) as exc:
            return (f"{nt} does not parse: {_reason(exc)}",)
        if len(expected) != segment.count:
            problems.append(f"{nt} holds {len(expected)} distinct triples, {segment.count} "
                            f"were written (some triple is spelt in two ways)")
    for name, part in stream_parts(segment.kind).items():
        if part.parse is None:
            try:
                same = gzip.decompress(parts[name]) == segment.lines
            except (OSError, EOFError) as exc:
                problems.append(f"{part.file} does not decompress: {_reason(exc)}")
                continue
            if not same:
                problems.append(f"{part.file} differs from the lines written")
            continue
        try:
            found = set(part.parse(setup, parts[name]))
        except (SyntaxError, ValueError, OSError, EOFError) as exc:
            problems.append(f"{part.file} does not parse: {_reason(exc)}")
            continue
        if found != expected:
            missing, extra = expected - found, found - expected
            sample = next(iter(missing or extra))
            problems.append(f"{part.file} differs from the lines written: {len(missing)} "
                            f"triples missing, {len(extra)} extra (e.g. {sample})")
    return tuple(problems)


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else repr(exc)


def render_batch(job: Any, batch: Sequence[Segment], cache_folder: str | None,
                 tables_for: Sequence[str] = ()) -> list[Rendered]:
    """Render segments in a worker of the writers' pool (``job`` is the WriterInput it
    inherited, or a ``Setup`` sent to a Dask worker), each kept in the cache when there is
    one; the subject segments whose digests are in ``tables_for`` get their table piece too
    (from ``job.tables``, a ``tablepieces.TablesSetup``)."""
    setup = Setup(job.prefixes, job.context, job.base_iri)
    cache = SegmentCache(Path(cache_folder), setup.digest) if cache_folder else None
    wanted = set(tables_for)
    done = []
    for segment in batch:
        rendered = render_segment(setup, segment)
        if cache is not None:
            cache.put(rendered)
        if segment.kind == SUBJECTS and segment.digest in wanted:
            rendered = replace(rendered, table=make_piece(job.tables, segment.triples))
        done.append(rendered)
    return done


# --------------------------------------------------------------------------- the files


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
    #: in order: batches in the pool or rendered here, segments from the cache (each stream's
    #: segments come in its own order, so each file is written in order)
    pending: list[_Batch | Rendered] = []
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
        batch.clear()

    def steal(index: int) -> bool:  # render here a batch still queued behind other tasks
        item = pending[index]
        if not isinstance(item, _Batch) or item.done is not None or not item.future.cancel():
            return False
        item.done = render_batch(job, item.segments, folder, item.wanted)
        return True

    def take(item: _Batch | Rendered) -> None:
        if isinstance(item, _Batch):
            if item.done is not None:
                done = item.done
            elif item.future.cancel():
                done = render_batch(job, item.segments, folder, item.wanted)
            else:  # running or about to: render later batches here meanwhile
                while not item.future.done() and any(
                        steal(index) for index in range(len(pending) - 1, -1, -1)):
                    pass
                done = item.future.result()
            state.rendered += len(done)
            state.in_flight -= sum(segment.count for segment in item.segments)
        else:
            done = [item]
        for rendered in done:
            state.add(rendered, assembly)
            if flow is not None and rendered.stream == SUBJECTS:
                flow.add(rendered.digest, rendered.table)

    try:
        # the cut and the cache lookups made in a thread ahead of this one (readahead.py)
        with segments_ahead(job, cache_folder, cache, flow) as ahead:
            for seen, (segment, found, piece) in enumerate(ahead):
                if seen == limit * BATCH_SEGMENTS and start is not None:
                    # the other tasks queue behind the first batches (or at once, in a rebuild)
                    started.append(start())
                if flow is not None and segment.kind == SUBJECTS:
                    # made here when the segment is not rendered in the pool
                    flow.meet(segment, found is not None or remote is not None, piece)
                if found is not None:
                    if batch:
                        submit()
                    pending.append(found)
                    state.reused += 1
                else:
                    batch.append(segment)  # whole (readahead.py)
                    if len(batch) >= BATCH_SEGMENTS \
                            or sum(s.count for s in batch) >= BATCH_TRIPLES:
                        submit()
                while pending and (len(pending) > limit or state.in_flight > IN_FLIGHT_TRIPLES
                                   or _ready(pending[0])):
                    take(pending.pop(0))
        if batch:
            submit()
        if start is not None and not started:
            started.append(start())
        while pending:
            take(pending.pop(0))
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


def _ready(item: _Batch | Rendered) -> bool:
    return not isinstance(item, _Batch) or item.done is not None or item.future.done()


@dataclass
class _Tally:
    triples: int = 0
    rendered: int = 0
    reused: int = 0
    #: the triples of the batches in the pool
    in_flight: int = 0
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
