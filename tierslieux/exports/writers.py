"""The writers of a release: a registry of formats, each one streaming pass over the lines.

``FORMATS`` names every published format with the files it writes and its writer; the release
(release.py) runs them side by side, with the two other passes over the lines (``write_diff``,
and the RDF dumps with the graph statistics and the CSV tables, assembled from segments:
segments.py, whose ``PARTS`` is the registry of what a segment renders, and tablepieces.py for
the tables' pieces), in forked processes for a big release
(``workers.shared_pool``: each worker inherits the ``WriterInput`` at fork time) or in this
process for a small one. A writer
is a plain function of the ``WriterInput``: no module state, no dispatch by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tierslieux.exports.diff import DIFF_ADDED, DIFF_REMOVED, ReleaseDiff, diff_release
from tierslieux.exports.jsonld import Context
from tierslieux.exports.ntriples import NTriplesGzWriter
from tierslieux.exports.tablepieces import TablesSetup
from tierslieux.exports.tables import TableSpec
from tierslieux.exports.turtle import write_turtle
from tierslieux.site import SiteSummary, join_site, write_site
from tierslieux.workers import shared_pool

#: below this many triples a release is written in one process
PARALLEL_TRIPLES = 100_000


@dataclass(frozen=True)
class WriterInput:
    """What the writers of one release read."""

    #: the distinct lines in line order (a list, or SortedLines read from run files)
    lines: Any
    #: the same triples in triple order (``ntriples.triple_order``)
    ordered: Any
    staging: Path
    #: the release in place (its dump is what the diff compares with)
    out_dir: Path
    base_iri: str
    prefixes: Mapping[str, str]
    context: Context
    specs: Sequence[TableSpec]
    sitename: str
    #: what the tables' pieces are made from (the index of the release), set by the release
    #: before the pool is forked; None: no CSV table is written
    tables: TablesSetup | None = None
    #: the folder kept from one release to the next (the segments' cache, where the site's
    #: record is kept too); None: nothing is kept, everything is rendered
    cache_folder: Path | None = None


@dataclass(frozen=True)
class Format:
    """One published format: its files (in the staging folder) and its writer."""

    name: str
    files: tuple[str, ...]
    write: Callable[..., Any]
    #: for a format written in shares side by side (its writer then takes ``(k, n)`` after
    #: the ``WriterInput``): the result of the whole from the shares' results, in share order
    join: Callable[[WriterInput, Sequence[Any]], Any] | None = None


def write_site_pages(job: WriterInput, share: tuple[int, int] = (0, 1)) -> SiteSummary:
    """The ``site/`` folder: one page and three small RDF files per entity (tierslieux.site;
    it is given the Turtle writer, so that it imports nothing of the exports), or the
    ``share`` ``(k, n)`` of its entities. With a cache folder, the documents that did not
    change are linked from the release in place."""
    return write_site(job.ordered, job.staging, job.base_iri, job.prefixes, write_turtle,
                      job.sitename, cache_folder=job.cache_folder, published=job.out_dir,
                      share=share)


def join_site_pages(job: WriterInput, parts: Sequence[SiteSummary]) -> SiteSummary:
    """The site's summary from its shares' (and its record, in the cache folder)."""
    return join_site(parts, job.cache_folder)


#: every format of a release written in passes of its own; the three RDF dumps and the CSV
#: tables (named by tables.yaml, plus lieux_mediation_numerique.csv) are written from segments
#: (segments.py, tablepieces.py).
FORMATS: dict[str, Format] = {
    fmt.name: fmt for fmt in (
        Format("site", (), write_site_pages, join_site_pages),
    )
}


def write_format(job: WriterInput, name: str, *args: Any) -> Any:
    """Run the writer of the format ``name`` of the registry (a worker process is sent the
    name: it inherited the registry at fork time), with ``args`` (a share, ``(k, n)``, for a
    format written in shares)."""
    return FORMATS[name].write(job, *args)


@dataclass(frozen=True)
class DiffPass:
    """The diff against the release in place, and the wiki pages that release had."""

    diff: ReleaseDiff
    previous_pages: int


def write_diff(job: WriterInput) -> DiffPass:
    """The diff against the release in place, its two files written in the staging folder."""
    with NTriplesGzWriter(job.staging / DIFF_ADDED) as added, \
            NTriplesGzWriter(job.staging / DIFF_REMOVED) as removed:
        diff, _, _, previous_pages = diff_release(job.lines, job.out_dir, (added, removed))
    return DiffPass(diff, previous_pages)


def writer_pool(job: WriterInput, triples: int, workers: int | None = None) -> Any:
    """The pool the writers run in, to enter: worker processes for a big release, else this
    process; each task receives ``job``."""
    workers = workers or os.cpu_count() or 1
    if triples < PARALLEL_TRIPLES or workers < 2:
        workers = 1
    return shared_pool(workers, job)

