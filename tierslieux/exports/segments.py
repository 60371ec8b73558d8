"""The RDF dumps of a release assembled from segments of subjects, rendered once and cached.

A rebuild after a few changed pages publishes nearly the same triples: the segments that did not
change are copied from the cache instead of being rendered and parsed back again.

**Cut.** ``cut_segments`` reads the triples in triple order and cuts them into segments of whole
subjects. A subject B starts a new segment iff a hash of B is a multiple of ``SEGMENT_SUBJECTS``
(content-defined: a new subject only splits the segment it falls in, a removed one only merges
two) and no subject X of the release is a proper prefix of B followed in B by a character below
``>``. The second rule keeps every segment contiguous in *line* order too: the two orders differ
only between a subject X and an extension of it whose next character sorts before the ``>``
that closes X in a line (``<a> `` against ``<a-b> ``, ``<a/b> ``, ``<a#b> ``, ``<a1> ``; not
``<a_b> `` nor ``<ab> ``, which come after ``<a> `` in both orders). If a cut before B left such
an X before it and such an extension Y of X after it, then X < B <= Y would make B an extension
of X too, with a character at that place no greater than Y's: the rule forbids that cut. The
rule is checked against a stack of the open subjects that are prefixes of the current one (in
triple order a subject's extensions come right after it). Sorting one segment's lines gives its
slice of ``tierslieux.nt.gz``. A segment is named by the SHA-256 of its lines in line order.
(Forbidding every prefix would glue together ``…/page/X``, ``…/page/X_(2)``, ``…/page/X_(3)``…:
the whole family of a title.)

**Parts.** ``PARTS`` is the registry of what a segment renders, each with the file it is a part
of: its Turtle blocks (``turtle.TurtleBlocks``), its JSON-LD nodes (``jsonld.jsonld_nodes``) and
one gzip member of its N-Triples lines (``tierslieux.nt.gz`` is a concatenation of members:
valid gzip, read by zcat, Python and rdflib alike). A file is its ``head``, the parts of every
segment in order (the first part without its first ``skip`` characters: the separator that
comes before every subject but the first) and its ``tail``. The graph statistics of a segment are
kept too (``GraphStats`` combine: segments never share a subject).

**Parse-back.** A freshly rendered segment's parts are parsed back with pyoxigraph (the Turtle
behind the file's prefixes, the JSON-LD nodes in a document with the context) and compared with
the segment's own lines; the verdict is kept with the parts. The release's parse-back then checks
the frame of each file: its head and tail, and that it is the concatenation of verified parts
(``validation.release.check_rdf_files`` with a ``Manifest``).

**Cache** (segcache.py): one entry per segment and rendering setup, reused when its parts still
have their SHA-256.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tierslieux import __version__
from tierslieux.validation.frames import FileFrame, Manifest
from tierslieux.exports.catalog import GraphStats, graph_stats
from tierslieux.exports.jsonld import jsonld_head, jsonld_nodes, jsonld_tail
from tierslieux.exports.ntriples import GZIP_LEVEL
from tierslieux.exports.segcache import SegmentCache, setup_digest
from tierslieux.exports.turtle import TurtleBlocks
from tierslieux.model.rdf import Triple

log = logging.getLogger(__name__)

#: a subject may start a segment when its hash is a multiple of this. On the sample (and the
#: wikis made of its pages) a subject has about 9.5 triples, and one subject in four may start a
#: segment (the others extend a page's IRI with "#…" or "/…": its sections, items, revisions),
#: so a segment holds about 48 x 40 = 1,900 triples (150-400 KB of Turtle and JSON-LD): few
#: enough that ten changed pages re-render a small share of a 2,000-page release, many enough
#: that the per-segment costs (a cache entry of four files, a gzip member, three small
#: parse-backs) stay well below the per-triple ones
SEGMENT_SUBJECTS = 48
#: segments sent to a worker at a time, and batches in flight per worker
BATCH_SEGMENTS = 4
IN_FLIGHT = 3


def subject_hash(subject: str) -> int:
    return int.from_bytes(hashlib.blake2b(subject.encode("utf-8"), digest_size=8).digest(),
                          "big")


def cut_segments(triples: Iterable[Triple], every: int | None = None
                 ) -> Iterator[list[Triple]]:
    """The triples (in triple order) as segments of whole subjects; see the module's text
    (``every``: ``SEGMENT_SUBJECTS``)."""
    every = every or SEGMENT_SUBJECTS
    current: list[Triple] = []
    #: the subjects that are proper prefixes of the current one (each a prefix of the next)
    open_: list[str] = []
    subject = None
    for triple in triples:
        s = triple[0]
        if s != subject:
            subject = s
            while open_ and not s.startswith(open_[-1]):
                open_.pop()
            if current and subject_hash(s) % every == 0 \
                    and all(s[len(x)] > ">" for x in open_):
                yield current
                current = []
            open_.append(s)
        current.append(triple)
    if current:
        yield current


def segment_lines(triples: Sequence[Triple]) -> bytes:
    """The N-Triples lines of a segment in line order (UTF-8, each ending with a newline)."""
    lines = sorted(f"<{s}> <{p}> {o} ." for s, p, o in triples)
    return ("\n".join(lines) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- the parts


@dataclass(frozen=True)
class Setup:
    """What the rendering of a segment depends on (the writers' input of the release)."""

    prefixes: Any
    context: Any
    base_iri: str

    @property
    def digest(self) -> str:
        return setup_digest(__version__, SEGMENT_SUBJECTS, self.prefixes, self.context.raw,
                            self.base_iri)


@dataclass(frozen=True)
class Part:
    """One file's share of a segment."""

    name: str
    #: the file (in the staging folder) the parts make, with its head and tail
    file: str
    render: Callable[[Setup, Sequence[Triple], bytes], bytes]
    head: Callable[[Setup], bytes]
    tail: Callable[[Setup, int], bytes]
    #: bytes of the first part left out (the separator before every subject but the first)
    skip: int
    #: the triples of a part as pyoxigraph parses them back (None: not RDF)
    parse: Callable[[Setup, bytes], set] | None = None


def _turtle(setup: Setup, triples: Sequence[Triple], lines: bytes) -> bytes:
    return TurtleBlocks(setup.prefixes).render(triples).encode("utf-8")


def _turtle_head(setup: Setup) -> bytes:
    return TurtleBlocks(setup.prefixes).header().encode("utf-8")


def _turtle_parse(setup: Setup, data: bytes) -> set:
    import pyoxigraph as ox

    return set(ox.parse(_turtle_head(setup) + data, format=ox.RdfFormat.TURTLE))


def _jsonld(setup: Setup, triples: Sequence[Triple], lines: bytes) -> bytes:
    return jsonld_nodes(triples, setup.context).encode("utf-8")


def _jsonld_head(setup: Setup) -> bytes:
    return jsonld_head(setup.context).encode("utf-8")


def _jsonld_parse(setup: Setup, data: bytes) -> set:
    import pyoxigraph as ox

    document = _jsonld_head(setup) + data[1:] + jsonld_tail(1).encode("utf-8")
    return set(ox.parse(document, format=ox.RdfFormat.JSON_LD))


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


def _ntriples_parse(setup: Setup, data: bytes) -> set:
    import pyoxigraph as ox

    return set(ox.parse(gzip.decompress(data), format=ox.RdfFormat.N_TRIPLES))


PARTS: dict[str, Part] = {
    part.name: part for part in (
        Part("turtle", "tierslieux.ttl", _turtle, _turtle_head, lambda s, n: b"", 1,
             _turtle_parse),
        Part("jsonld", "tierslieux.jsonld", _jsonld, _jsonld_head,
             lambda s, n: jsonld_tail(n).encode("utf-8"), 1, _jsonld_parse),
        Part("ntriples", "tierslieux.nt.gz", _ntriples, lambda s: b"", _ntriples_tail, 0,
             _ntriples_parse),
    )
}


# --------------------------------------------------------------------------- one segment


@dataclass(frozen=True)
class Rendered:
    """A segment rendered (and parsed back), or read back from the cache."""

    digest: str
    triples: int
    #: part name -> bytes
    parts: dict[str, bytes]
    stats: GraphStats
    #: what the parse-back found wrong (nothing: the parts hold exactly the segment's triples)
    problems: tuple[str, ...] = ()


def render_segment(setup: Setup, triples: Sequence[Triple], lines: bytes | None = None
                   ) -> Rendered:
    """Every part of one segment, its statistics and the parse-back verdict."""
    lines = segment_lines(triples) if lines is None else lines
    parts = {name: part.render(setup, triples, lines) for name, part in PARTS.items()}
    return Rendered(hashlib.sha256(lines).hexdigest(), len(triples), parts,
                    graph_stats(triples, setup.base_iri), parse_back(setup, lines, parts))


def parse_back(setup: Setup, lines: bytes, parts: dict[str, bytes]) -> tuple[str, ...]:
    """The parts parsed back and compared with the segment's lines (one message a problem)."""
    import pyoxigraph as ox

    try:
        expected = set(ox.parse(lines, format=ox.RdfFormat.N_TRIPLES))
    except (SyntaxError, ValueError) as exc:
        return (f"{PARTS['ntriples'].file} does not parse: {_reason(exc)}",)
    problems = []
    count = lines.count(b"\n")
    if len(expected) != count:
        problems.append(f"{PARTS['ntriples'].file} holds {len(expected)} distinct triples, "
                        f"{count} were written (some triple is spelt in two ways)")
    for name, part in PARTS.items():
        if part.parse is None:
            continue
        try:
            found = part.parse(setup, parts[name])
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


def render_batch(job: Any, batch: Sequence[tuple[str, Sequence[Triple], bytes]],
                 cache_folder: str | None) -> list[Rendered]:
    """Render segments in a worker of the writers' pool (``job`` is the WriterInput it
    inherited), each kept in the cache when there is one."""
    setup = Setup(job.prefixes, job.context, job.base_iri)
    cache = SegmentCache(Path(cache_folder), setup.digest) if cache_folder else None
    done = []
    for digest, triples, lines in batch:
        rendered = render_segment(setup, triples, lines)
        if cache is not None:
            cache.put(rendered)
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
        self.first = True

    def _write(self, name: str, data: bytes) -> None:
        self.outs[name].write(data)
        self.sums[name].update(data)
        self.sizes[name] += len(data)

    def add(self, rendered: Rendered) -> None:
        for name, part in PARTS.items():
            data = rendered.parts[name]
            if self.first:
                data = data[part.skip:]
            self.parts[name].append((hashlib.sha256(data).hexdigest(), len(data)))
            self._write(name, data)
        self.first = False

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
                   workers: int = 1, start: Callable[[], Any] | None = None) -> SegmentsPass:
    """The three RDF dumps of ``job`` (a WriterInput) in its staging folder, from segments:
    cached ones are copied, the others rendered in ``pool`` (a ``workers.SharedPool`` over
    ``job``), a few batches in flight, written in order as they come back. ``start`` is
    called once the first segments are cut, so that the first batches are in the pool before
    the caller's other tasks for it."""
    setup = Setup(job.prefixes, job.context, job.base_iri)
    cache = SegmentCache(cache_folder, setup.digest) if cache_folder is not None else None
    assembly = _Assembly(job.staging, setup)
    #: in order: batches in the pool, batches rendered here, segments from the cache
    pending: list[_Batch | list[Rendered] | Rendered] = []
    batch: list[tuple[str, Sequence[Triple], bytes]] = []
    state = _Tally()
    limit = max(1, workers) * IN_FLIGHT
    folder = str(cache_folder) if cache_folder is not None else None
    started: list[Any] = []

    def submit(batch: list) -> None:
        pending.append(_Batch(pool.submit(render_batch, batch, folder), batch))

    def steal(index: int) -> bool:
        """Render here a batch still queued behind the pool's other tasks."""
        item = pending[index]
        if not isinstance(item, _Batch) or not item.future.cancel():
            return False
        pending[index] = render_batch(job, item.segments, folder)
        state.rendered += len(item.segments)
        return True

    def take(item: _Batch | list[Rendered] | Rendered) -> None:
        if isinstance(item, _Batch):
            if item.future.cancel():
                done = render_batch(job, item.segments, folder)
            else:  # running or about to: render later batches here meanwhile
                while not item.future.done() and any(
                        steal(index) for index in range(len(pending) - 1, -1, -1)):
                    pass
                done = item.future.result()
            state.rendered += len(done)
        else:
            done = item if isinstance(item, list) else [item]
        for rendered in done:
            state.add(rendered, assembly)

    try:
        for seen, triples in enumerate(cut_segments(job.ordered)):
            if seen == limit * BATCH_SEGMENTS and start is not None:
                # the other tasks queue behind the first batches (or at once, in a rebuild)
                started.append(start())
            lines = segment_lines(triples)
            digest = hashlib.sha256(lines).hexdigest()
            found = cache.get(digest) if cache is not None else None
            if found is not None:
                if batch:
                    submit(batch)
                    batch = []
                pending.append(found)
                state.reused += 1
            else:
                batch.append((digest, triples, lines))
                if len(batch) >= BATCH_SEGMENTS:
                    submit(batch)
                    batch = []
            while len(pending) > limit or (pending and _ready(pending[0])):
                take(pending.pop(0))
        if batch:
            submit(batch)
        if start is not None and not started:
            started.append(start())
        for item in pending:
            take(item)
        frames = assembly.close(state.triples)
    except BaseException:
        assembly.abort()
        raise
    if cache is not None:
        cache.used.update(state.digests)
    manifest = Manifest(frames, state.triples, tuple(state.problems))
    return SegmentsPass(combine_stats(state.stats), manifest, len(state.digests),
                        state.rendered, state.reused, cache, started[0] if started else None)


@dataclass(frozen=True)
class _Batch:
    """Segments sent to the pool."""

    future: Future
    segments: list


def _ready(item: _Batch | list[Rendered] | Rendered) -> bool:
    return not isinstance(item, _Batch) or item.future.done()


@dataclass
class _Tally:
    triples: int = 0
    rendered: int = 0
    reused: int = 0
    stats: list[GraphStats] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, rendered: Rendered, assembly: _Assembly) -> None:
        assembly.add(rendered)
        self.triples += rendered.triples
        self.stats.append(rendered.stats)
        self.digests.append(rendered.digest)
        self.problems.extend(f"{p} (in segment {rendered.digest[:12]})"
                             for p in rendered.problems)


def combine_stats(parts: Iterable[GraphStats]) -> GraphStats:
    """The statistics of a graph from those of its segments (which share no subject)."""
    triples = subjects = entities = 0
    classes: Counter[str] = Counter()
    properties: Counter[str] = Counter()
    newest = oldest = ""
    for stats in parts:
        triples += stats.triples
        subjects += stats.distinct_subjects
        entities += stats.entities
        classes.update(dict(stats.classes))
        properties.update(dict(stats.properties))
        newest = max(newest, stats.newest_modified)
        if stats.oldest_date and (not oldest or stats.oldest_date < oldest):
            oldest = stats.oldest_date
    return GraphStats(triples=triples, distinct_subjects=subjects, entities=entities,
                      classes=tuple(sorted(classes.items())),
                      properties=tuple(sorted(properties.items())),
                      newest_modified=newest, oldest_date=oldest)
