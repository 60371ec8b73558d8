"""The CSV tables of a release assembled from pieces, one per subject segment, cached.

A table's rows are sorted by ``id`` (the subject IRI), i.e. in triple order, and a subject's
row depends on its own triples and on the small ``tables._Index`` only (backward adjacency for
the ``^`` steps, forward adjacency for the steps after the first). The subject segments of the
Turtle and JSON-LD dumps (segcut.py) are contiguous runs of whole subjects in triple order, so
every table is its header followed by the rows of each segment, in the segments' order. A
**piece** is one segment's share of every table:

- each table's CSV bytes (``csvtext.csv_block``, as a whole table is written), its row
  count, its neutralised cells and its warnings;
- the cells the national table is made from (``mediation.kept_columns``: all of
  ``tiers_lieux``, the id and title of ``pages``; it is joined whole, from these rows, at the
  end: a few milliseconds at 8,000 pages);
- every index lookup its rows made (``(direction, predicate, IRI)``) and a digest of the
  answers they got;
- each table's Table Schema checks of its rows (``validation/tablerows.py``): the assembly
  combines them and remembers them under each file's SHA-256, so that the release's check of
  the tables reads only their headers and checks across the pieces what needs the whole table.

**The index first.** It must be known before any row is made: ``collect_index`` reads the
release's lines once, before the segments are cut, keeping only the lines of the index's
predicates (a byte search over the merged lines file when there is one).

**Reuse.** A piece is kept in ``<store>.buildcache.tables.d/`` under its segment's digest (the
SHA-256 of its lines) and the setup's (tierslieux' version, the tables' specification, the site
name, the concept labels): it is reused only when its segment is the same and each of its
lookups gets the same answer from the index of the release being written (so an edit of a page
that another subject's row reads through a ``^`` step or a second step makes that row again).
Pieces are made with the segments they belong to, in the writers' pool (``render_batch``), or
in this process for the segments that come from the segment cache or are rendered elsewhere.
A damaged entry is made again; ``prune`` keeps what this release and the previous one used.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from tierslieux.model.code import code_version
from tierslieux.exports import mediation
from tierslieux.exports.package import CSV_DIALECT, table_schema
from tierslieux.exports.segcut import SUBJECTS
from tierslieux.exports.tables import (
    TableResult,
    TableSpec,
    _Index,
    build_tables,
    concept_labels,
    csv_block,
)
from tierslieux.model.lines import SortedLines
from tierslieux.model.rdf import Triple
from tierslieux.validation import tablerows
from tierslieux.validation.shacl_cache import EntryFolder

log = logging.getLogger(__name__)

#: bumped when what a piece holds, or how it is made, changes
PIECE_FORMAT = 3
FORWARD, BACKWARD = "f", "b"


# --------------------------------------------------------------------------- the index


def index_predicates(specs: Sequence[TableSpec]) -> tuple[set[str], set[str]]:
    """The predicates of the index: (forward, backward), as ``tables._Index`` reads them."""
    empty = _Index((), specs)
    return set(empty.forward), set(empty.backward)


def collect_index(lines: Any, specs: Sequence[TableSpec]) -> _Index:
    """The ``_Index`` of a release from its lines (line order; a list or SortedLines), reading
    only the lines of the index's predicates."""
    forward, backward = index_predicates(specs)
    return _Index(_index_triples(lines, forward | backward), specs)


def _index_triples(lines: Any, predicates: set[str]) -> Iterator[Triple]:
    if isinstance(lines, SortedLines):  # a byte search of the merged lines (model/lines.py)
        yield from lines.triples_with(predicates)
        return
    for line in lines:
        s, p, rest = line.split(" ", 2)
        if p[1:-1] in predicates:
            yield s[1:-1], p[1:-1], rest[:-2]


class _Recorded:
    """One table of the index, each lookup recorded."""

    def __init__(self, table: dict[str, list[str]], key: tuple[str, str],
                 asked: set[tuple[str, str, str]]) -> None:
        self.table = table
        self.direction, self.predicate = key
        self.asked = asked

    def get(self, iri: str, default: Any = ()) -> Any:
        self.asked.add((self.direction, self.predicate, iri))
        return self.table.get(iri, default)


class _RecordingIndex:
    """An ``_Index`` whose lookups are recorded (what ``tables._follow`` asks)."""

    def __init__(self, index: _Index) -> None:
        self.asked: set[tuple[str, str, str]] = set()
        self.forward = {p: _Recorded(t, (FORWARD, p), self.asked)
                        for p, t in index.forward.items()}
        self.backward = {p: _Recorded(t, (BACKWARD, p), self.asked)
                         for p, t in index.backward.items()}


def answers_digest(index: _Index, asked: Iterable[Sequence[str]]) -> str:
    """A digest of the answers the index gives to the lookups ``asked`` (sorted)."""
    digest = hashlib.sha256()
    for direction, predicate, iri in asked:
        table = (index.forward if direction == FORWARD else index.backward).get(predicate, {})
        digest.update(json.dumps([direction, predicate, iri, sorted(table.get(iri, ()))],
                                 ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()


# --------------------------------------------------------------------------- the pieces


@dataclass(frozen=True)
class TablesSetup:
    """What the pieces of a release are made from, besides each segment's triples."""

    specs: tuple[TableSpec, ...]
    sitename: str
    index: _Index

    @cached_property
    def digest(self) -> str:
        labels = sorted(concept_labels().items()) if any(
            c.value == "label" for s in self.specs for c in s.columns) else []
        text = json.dumps([code_version(), PIECE_FORMAT, repr(self.specs), self.sitename, labels],
                          ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    @cached_property
    def schemas(self) -> tuple[dict[str, Any], ...]:
        """The Table Schema of each table, as ``datapackage.json`` declares it."""
        return tuple(table_schema(spec) for spec in self.specs)

    @cached_property
    def kept_columns(self) -> tuple[tuple[str, ...], ...]:
        """The columns of each table whose values the foreign-key check reads."""
        columns = tablerows.foreign_columns(
            {spec.name: schema for spec, schema in zip(self.specs, self.schemas)})
        return tuple(columns[spec.name] for spec in self.specs)

    def check(self, number: int, csv_text: str) -> tablerows.RowsCheck:
        """The row checks of some rows of table ``number`` (their CSV text)."""
        return tablerows.check_rows(self.schemas[number], CSV_DIALECT, csv_text,
                                    self.kept_columns[number])


@dataclass(frozen=True)
class TablePiece:
    """One segment's rows of every table (in the order of the setup's specs)."""

    csv: tuple[str, ...]
    rows: tuple[int, ...]
    neutralised: tuple[int, ...]
    warnings: tuple[tuple[str, ...], ...]
    #: table name -> its rows (``mediation.kept_columns`` of them), for the tables the national
    #: table is made from
    kept: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]
    #: (direction, predicate, IRI) of every index lookup, sorted
    asked: tuple[tuple[str, str, str], ...]
    #: ``answers_digest`` of ``asked`` when the piece was made
    answers: str
    #: each table's row checks (``validation/tablerows.py``), made with the piece
    checks: tuple[tablerows.RowsCheck, ...] = ()


def make_piece(setup: TablesSetup, triples: Sequence[Triple]) -> TablePiece:
    """The piece of a run of whole subjects in triple order."""
    recording = _RecordingIndex(setup.index)
    results = build_tables(triples, setup.specs, setup.sitename, index=recording)
    asked = tuple(sorted(recording.asked))
    blocks = tuple(csv_block(r.spec, list(r.rows)) for r in results)
    return TablePiece(
        csv=blocks,
        rows=tuple(len(r.rows) for r in results),
        neutralised=tuple(r.neutralised for r in results),
        warnings=tuple(tuple(r.warnings) for r in results),
        kept=tuple((r.spec.name, tuple(tuple(row[i] for i in columns) for row in r.rows))
                   for r in results if (columns := mediation.kept_columns(r.spec))),
        asked=asked, answers=answers_digest(setup.index, asked),
        checks=tuple(setup.check(n, block) for n, block in enumerate(blocks)))


def still_valid(piece: TablePiece, index: _Index) -> bool:
    return answers_digest(index, piece.asked) == piece.answers


class PieceCache(EntryFolder):
    """A folder of pieces for one setup."""

    what = "table piece"
    again = "made again"

    def __init__(self, folder: Path, setup: str) -> None:
        super().__init__(folder, setup)
        self.reused = self.made = 0

    def get(self, digest: str) -> TablePiece | None:
        return self.read(digest, lambda data: TablePiece(
            csv=tuple(str(c) for c in data["csv"]),
            rows=tuple(int(n) for n in data["rows"]),
            neutralised=tuple(int(n) for n in data["neutralised"]),
            warnings=tuple(tuple(str(w) for w in ws) for ws in data["warnings"]),
            kept=tuple((str(name), tuple(tuple(str(c) for c in row) for row in rows))
                       for name, rows in data["kept"]),
            asked=tuple((str(d), str(p), str(i)) for d, p, i in data["asked"]),
            answers=str(data["answers"]),
            checks=tuple(tablerows.RowsCheck(
                bool(clean), tuple((int(i), first, last, bool(up)) for i, first, last, up in unique),
                tuple((int(i), frozenset(map(str, values))) for i, values in kept))
                for clean, unique, kept in data["checks"])))

    def put(self, digest: str, piece: TablePiece) -> None:
        self.write(digest, {"csv": piece.csv, "rows": piece.rows,
                            "neutralised": piece.neutralised, "warnings": piece.warnings,
                            "kept": piece.kept, "asked": piece.asked,
                            "answers": piece.answers,
                            "checks": [[c.clean, c.unique, [[i, sorted(v)] for i, v in c.values]]
                                       for c in piece.checks]})


def pieces_folder(segment_cache: Path) -> Path:
    """Where the pieces are kept, beside the segment cache (``….segments.d`` ->
    ``….tables.d``)."""
    name = segment_cache.name
    stem = name[:-len(".segments.d")] if name.endswith(".segments.d") else name
    return segment_cache.with_name(stem + ".tables.d")


# --------------------------------------------------------------------------- the files


@dataclass(frozen=True)
class TableSummary:
    """A table written from pieces: what the report and the catalogue say of it."""

    spec: TableSpec
    rows: int
    neutralised: int
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Tables:
    """The tables of a release: each table's summary and the national table."""

    summaries: tuple[TableSummary, ...]
    national: mediation.NationalTable
    #: file name -> (size, SHA-256) of each table, taken as it was written
    sums: dict[str, tuple[int, str]] = field(default_factory=dict)


class TableAssembly:
    """The CSV files of a release written piece by piece, in the segments' order."""

    def __init__(self, staging: Path, setup: TablesSetup) -> None:
        self.staging = staging
        self.setup = setup
        self.outs = []
        #: each file's SHA-256 and its pieces' row checks (validation/tablerows.py)
        self.digests = []
        self.checks: list[list[tablerows.RowsCheck]] = [[] for _ in setup.specs]
        self.sizes: list[int] = []
        for spec in setup.specs:
            self.outs.append(open(staging / spec.file, "wb"))
            self.digests.append(hashlib.sha256())
            self.sizes.append(0)
            self._write(len(self.outs) - 1, csv_block(spec, [], header=True))
        self.rows = [0] * len(setup.specs)
        self.neutralised = [0] * len(setup.specs)
        self.warnings: list[list[str]] = [[] for _ in setup.specs]
        self.kept: dict[str, list[tuple[str, ...]]] = {}

    def _write(self, number: int, text: str) -> None:
        data = text.encode("utf-8")
        self.outs[number].write(data)
        self.digests[number].update(data)
        self.sizes[number] += len(data)

    def add(self, piece: TablePiece) -> None:
        for number in range(len(self.outs)):
            self._write(number, piece.csv[number])
            self.checks[number].append(piece.checks[number] if piece.checks
                                       else self.setup.check(number, piece.csv[number]))
            self.rows[number] += piece.rows[number]
            self.neutralised[number] += piece.neutralised[number]
            self.warnings[number].extend(piece.warnings[number])
        for name, rows in piece.kept:
            self.kept.setdefault(name, []).extend(rows)

    def close(self) -> Tables:
        for out in self.outs:
            out.close()
        for number, digest in enumerate(self.digests):  # for the checks of this release
            schema = self.setup.schemas[number]
            tablerows.remember("sha256:" + digest.hexdigest(), schema, CSV_DIALECT,
                               tablerows.combine(self.checks[number], schema,
                                                 self.setup.kept_columns[number]))
        summaries = tuple(TableSummary(spec, self.rows[n], self.neutralised[n],
                                       tuple(self.warnings[n]))
                          for n, spec in enumerate(self.setup.specs))
        named = [TableResult(replace(spec, columns=tuple(spec.columns[i] for i in columns)),
                             rows=[list(r) for r in self.kept.get(spec.name, ())])
                 for spec in self.setup.specs if (columns := mediation.kept_columns(spec))]
        national = mediation.national_table(named)
        mediation.write_national(national, self.staging)
        sums = {spec.file: (self.sizes[n], self.digests[n].hexdigest())
                for n, spec in enumerate(self.setup.specs)}
        return Tables(summaries, national, sums)

    def abort(self) -> None:
        for out in self.outs:
            out.close()


_LOOK = object()


class PieceFlow:
    """The pieces of a release's subject segments, as ``segwrite.write_segments`` meets the
    segments (``meet``, in the cut's order) and takes them back rendered (``add``, in the same
    order): each piece from the cache when it still holds, else made in this process (a
    segment not rendered in the pool) or by the worker that renders the segment
    (``wanted``)."""

    def __init__(self, staging: Path, setup: TablesSetup, cache_folder: Path | None) -> None:
        self.setup = setup
        self.cache = PieceCache(pieces_folder(cache_folder), setup.digest) \
            if cache_folder is not None else None
        self.files = TableAssembly(staging, setup)
        #: segment digest -> its piece, for the pieces known before the segment is rendered
        self.known: dict[str, TablePiece] = {}
        #: the segments whose pieces were made in this release (to keep in the cache)
        self.made: set[str] = set()

    def lookup(self, digest: str) -> TablePiece | None:
        """The cached piece of a segment, if it still holds (only reads: ``meet`` is given
        it from the thread that reads the segments ahead, exports/readahead.py)."""
        found = self.cache.get(digest) if self.cache is not None else None
        return found if found is not None and still_valid(found, self.setup.index) else None

    def meet(self, segment: Any, here: bool, found: Any = _LOOK) -> None:
        """The next subject segment of the cut, with its piece from the cache (``found``,
        looked up here if not given), else made here if ``here``."""
        if found is _LOOK:
            found = self.lookup(segment.digest)
        if found is not None:
            self.known[segment.digest] = found
            self.cache.reused += 1
        elif here:
            self.known[segment.digest] = make_piece(self.setup, segment.triples)
            self.made.add(segment.digest)

    def wanted(self, batch: Sequence[Any]) -> list[str]:
        """The digests of the subject segments of ``batch`` whose pieces the worker makes."""
        return [s.digest for s in batch if s.kind == SUBJECTS and s.digest not in self.known]

    def add(self, digest: str, made: TablePiece | None) -> None:
        """The next subject segment, rendered (``made``: the piece its worker made)."""
        piece = self.known.pop(digest, None) or made
        if piece is None:
            raise RuntimeError(f"no table piece for segment {digest[:12]}")
        if made is not None:
            self.made.add(digest)
        self.files.add(piece)
        if self.cache is not None:
            self.cache.used.add(digest)
            if digest in self.made:
                self.cache.put(digest, piece)
                self.cache.made += 1

    def close(self) -> Tables:
        if self.cache is not None:
            log.debug("table pieces: %d made, %d reused", self.cache.made, self.cache.reused)
        return self.files.close()

    def abort(self) -> None:
        self.files.abort()
