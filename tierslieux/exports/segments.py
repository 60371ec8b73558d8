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

**Flow** (segwrite.py): the files are written in order, the segments the cache holds copied from
it, the others rendered in the writers' pool.

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tierslieux.model.code import code_version
from tierslieux.exports.catalog import GraphStats, graph_stats
from tierslieux.exports.jsonld import jsonld_head, jsonld_nodes, jsonld_tail
from tierslieux.exports.ntriples import GZIP_LEVEL
from tierslieux.exports import segcut
from tierslieux.exports.segcache import SegmentCache, setup_digest
from tierslieux.exports.segcut import LINES, SUBJECTS, Segment
from tierslieux.exports.tablepieces import TablePiece, make_piece
from tierslieux.exports.turtle import TurtleBlocks
from tierslieux.model.rdf import Triple

log = logging.getLogger(__name__)



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
