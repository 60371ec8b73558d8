"""A build straight from a multistream dump's partitions, with no SQLite store (issue 19).

Design. 1. The page source of ``build`` is the store (``build.py``, unchanged) or, here, a
multistream dump: its index gives the partitions (byte ranges of bz2 streams, multistream.py).
2. Phase "scan", on the workers: each reads its own partitions by path and lists their pages
without their text (the fields the store's page digest is made of): no page text crosses the
scheduler. A partition whose compressed bytes the state has scanned before (at any offset, of
any earlier dump) is not decompressed: its kept scan is sent back (``partscans.py``). 3. The
main process replays on that listing, in file order, what ``harvest_dump`` and the store's
upsert make of the same dump (the upsert's rules themselves, ``upsert.py``; namespaces kept,
pages given twice, the pages the dump could not give): the listing, the digests, the problems
and the newest timestamp are the ones a store harvested from the dump gives the build.
4. Before the pages: the site info from the dump's header stream, the SMW property types from
the Property: pages (only their partitions are read again, here). 5. Phase "pages", on the
workers: only the partitions holding a page whose (page id, digest) the state does not know are
read again, and only those pages parsed, mapped and checked; a partition whose pages all have
the revisions the state knows is not parsed. Pages the state knows that the dump no longer
has leave the release. 6. Runs, merge, SHACL and release are build.py's phases. 7. The state
(``--state DIR``): ``DIR/wiki.json`` (the wiki it belongs to), the kept scans ``DIR/scans.d``,
the page cache ``DIR/pages.buildcache.sqlite`` and the run, segment and SHACL folders beside
it, the lock and the runs history; DIR and the dump must be on a filesystem every worker sees.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tierslieux.errors import DumpError, MissingInputError, StoreError
from tierslieux.model.iri import clean_text
from tierslieux.model.records import Issue, PageRevision, SiteInfo, StoredPage
from tierslieux.pipeline.cache import BuildCache, build_version, page_digest
from tierslieux.pipeline.dump import read_site_info
from tierslieux.pipeline.harvest import _duplicates
from tierslieux.pipeline.multistream import Multistream, index_beside, open_multistream, \
    parse_partition, partition_bytes, read_partition
from tierslieux.pipeline.smw_types import PROPERTY_NAMESPACE, property_types
from tierslieux.pipeline.upsert import Change, Held, PageTable
from tierslieux.runner import build as builder
from tierslieux.runner import pages as tasks
from tierslieux.runner.engine import open_engine
from tierslieux.runner.partscans import STATE_SCANS, PartitionScan, ScanCache, bytes_digest, \
    scan_setup

log = logging.getLogger("tierslieux")

#: the page cache's name in the state folder: ``pages.buildcache.sqlite``, ``pages.buildcache.d``
STATE_CACHE = "pages"
#: the wiki a state folder belongs to
STATE_WIKI = "wiki.json"


@dataclass
class DumpShared:
    """What a worker of a store-less build needs (``pages.Shared`` for the store)."""

    #: the dump's path (absolute on a cluster) and root element
    path: str
    root: bytes
    cache_path: str
    mapper: Any = None
    checker: Any = None
    #: the kept scans' folder (absolute; "": none kept) and their setup (``partscans.py``)
    scans: str = ""
    scan_setup: str = ""

    def stream(self) -> Multistream:
        return Multistream(self.path, self.root)

    def close(self) -> None:
        """Nothing to close: the tasks open the dump and the cache by path."""


def scan_partition(shared: DumpShared, part: tuple[int, int]) -> PartitionScan:
    """Task "scan": the pages of one partition without their text (and what was skipped),
    from the state when it keeps a scan of the partition's bytes."""
    data = partition_bytes(shared.stream(), part)
    digest = bytes_digest(data)
    if shared.scans:
        kept = ScanCache(Path(shared.scans), shared.scan_setup).get(digest)
        if kept is not None:
            return PartitionScan(digest, False, kept)
    return PartitionScan(digest, True, [
        (None if rev is None else replace(rev, text=""), issue)
        for rev, issue in parse_partition(shared.stream(), data, part[0])])


def work_partition(shared: DumpShared, task: tuple[tuple[int, int], Sequence[tuple]]
                   ) -> list:
    """Task "pages": parse, map and check the pages ``(page_id, rev_id, digest, key,
    contributors, alt_titles)`` of one partition, read from the dump."""
    part, wanted = task
    todo = {(pid, rev): (digest, key, contributors, alt)
            for pid, rev, digest, key, contributors, alt in wanted}
    out = []
    for rev, _issue in read_partition(shared.stream(), part):
        if rev is None or (rev.page_id, rev.rev_id) not in todo:
            continue
        digest, key, contributors, alt = todo.pop((rev.page_id, rev.rev_id))
        page = StoredPage(replace(rev, contributors=tuple(contributors)), key, tuple(alt))
        out.append(tasks.page_result(shared, page, digest))
    if todo:
        raise DumpError(f"{shared.path}: the bz2 stream at byte {part[0]} changed during the "
                        "build")
    return out


# --------------------------------------------------------------------------- the listing


@dataclass
class _Row:
    """A page as a fresh store holds it after the upsert of the dump's revisions."""

    rev: PageRevision
    key: str
    contributors: list[str]
    alt: list[str]
    #: the partition it was read from
    part: tuple[int, int]

    def fields(self) -> tuple:
        """The row of ``build._LISTING``, for ``page_digest``."""
        r = self.rev
        return (r.page_id, self.key, r.namespace, r.title, r.rev_id, r.parent_id, r.timestamp,
                r.sha1, r.contributor, r.comment, r.model, r.redirect,
                json.dumps(self.contributors, ensure_ascii=False),
                json.dumps(self.alt, ensure_ascii=False))


class _Replay(PageTable):
    """What ``Store.upsert`` does with a dump's revisions in a fresh store, without the
    store: the same rules (``upsert.py``) over dictionaries."""

    def __init__(self) -> None:
        self.live: dict[int, _Row] = {}
        self._titles: dict[tuple[int, str], int] = {}
        self._keys: dict[str, int] = {}
        self._revs: dict[int, int] = {}
        self.problems: list[Issue] = []
        #: the partition of the revisions being added
        self._part = (0, 0)

    def add(self, rev: PageRevision, part: tuple[int, int]) -> None:
        self._part = part
        self.upsert(rev)

    def rev_holder(self, rev_id: int, page_id: int) -> str | None:
        other = self._revs.get(rev_id)
        return None if other is None or other == page_id else self.live[other].rev.title

    def refuse(self, issue: Issue) -> None:
        self.problems.append(issue)

    def held(self, page_id: int) -> Held | None:
        row = self.live.get(page_id)
        return None if row is None else Held(row.rev.rev_id, row.rev.namespace, row.rev.title,
                                              tuple(row.alt), tuple(row.contributors))

    def free_title(self, namespace: int, title: str, page_id: int) -> None:
        other = self._titles.get((namespace, title))
        if other is not None and other != page_id:
            row = self.live.pop(other)
            self._titles.pop((row.rev.namespace, row.rev.title), None)
            self._keys.pop(row.key, None)
            self._revs.pop(row.rev.rev_id, None)

    def key_taken(self, key: str, page_id: int) -> bool:
        return self._keys.get(key, page_id) != page_id

    def insert(self, rev: PageRevision, key: str, contributors: tuple[str, ...]) -> None:
        self._hold(_Row(rev, key, list(contributors), [], self._part))

    def update(self, rev: PageRevision, held: Held, change: Change) -> None:
        old = self.live[rev.page_id]
        self._titles.pop((old.rev.namespace, old.rev.title), None)
        self._revs.pop(old.rev.rev_id, None)
        self._hold(_Row(rev, old.key, list(change.contributors), list(change.alt), self._part))

    def _hold(self, row: _Row) -> None:
        self.live[row.rev.page_id] = row
        self._titles[(row.rev.namespace, row.rev.title)] = row.rev.page_id
        self._keys[row.key] = row.rev.page_id
        self._revs[row.rev.rev_id] = row.rev.page_id

    # what harvest._duplicates asks of a store
    def get(self, page_id: int) -> StoredPage | None:
        row = self.live.get(page_id)
        return None if row is None else StoredPage(row.rev, row.key, tuple(row.alt))


@dataclass(frozen=True)
class Scan:
    """The dump as the build sees it."""

    site: SiteInfo
    shared: DumpShared
    #: page id -> its row, the pages a store harvested from the dump would hold
    rows: dict[int, _Row]
    problems: tuple[Issue, ...]
    #: partitions decompressed and parsed (the others' scans were kept in the state)
    read_again: int = 0


def dump_index(dump: Path, index: Path | None) -> Path:
    """The index of ``dump`` (``index``, else the one beside it), after the checks that need
    no reading (the job makes them before it creates the state folder): a plain export (no
    index) is refused."""
    if index is not None and not index.is_file():
        raise MissingInputError(f"{index}: no such file (--dump-index)")
    if not dump.is_file():
        raise MissingInputError(f"{dump}: no such file (--dump)")
    index = index or index_beside(dump)
    if index is None or not dump.name.endswith(".bz2"):
        raise DumpError(f"{dump}: not a multistream dump with its index (no "
                        "*-multistream-index.txt.bz2 beside it, no --dump-index): a build "
                        "with --state needs its partitions; harvest it into a store instead")
    return index


def open_dump(dump: Path, index: Path | None) -> tuple[DumpShared, list[tuple[int, int]]]:
    """The dump's shared part and partitions (``dump_index``'s checks first)."""
    stream, parts = open_multistream(dump, dump_index(dump, index))
    return DumpShared(stream.path, stream.root, ""), parts


def scan(dump: Path, shared: DumpShared, parts: list[tuple[int, int]], site: SiteInfo,
         namespaces: Sequence[int] | None, cluster: str, workers: int) -> Scan:
    """Phase "scan": every partition listed on the workers, replayed here in file order."""
    wanted = None if namespaces is None else set(namespaces)
    if wanted and PROPERTY_NAMESPACE in dict(site.namespaces):
        wanted.add(PROPERTY_NAMESPACE)  # as harvest_dump: they type the annotations
    replay = _Replay()
    skipped: list[Issue] = []
    given: dict[int, list[str]] = {}
    kept = ScanCache(Path(shared.scans), shared.scan_setup) if shared.scans else None
    again = 0
    count = 1 if len(parts) < 2 else (workers or os.cpu_count() or 1)
    with open_engine(cluster, count, shared) as engine:
        for part, found in zip(parts, engine.bounded(scan_partition, parts,
                                                     4 * engine.slots)):
            again += found.read
            if kept is not None:
                kept.used.add(found.digest)
                if found.read:
                    kept.put(found.digest, found.pages)
            for rev, issue in found.pages:
                if issue is not None:
                    skipped.append(issue)
                elif wanted is None or rev.namespace in wanted:
                    given.setdefault(rev.page_id, []).append(rev.title)
                    replay.add(rev, part)
    problems = {(i.page_title, i.field, i.original, i.kept, i.message)
                for i in skipped + _duplicates(replay, given)}
    problems = {(clean_text(t)[0], f, clean_text(o)[0], clean_text(k)[0], m)
                for t, f, o, k, m in problems}
    problems |= {(i.page_title, i.field, i.original, i.kept, i.message)
                 for i in replay.problems}
    issues = tuple(Issue(t, "warning", f, o, k, m) for t, f, o, k, m in sorted(problems))
    if kept is not None:
        kept.prune()
    log.info("Scan: %d of %d partitions read again, the others' scans kept in the state.",
             again, len(parts))
    return Scan(site, shared, replay.live, issues, again)


class _PropertyPages:
    """The property pages of the dump, as ``smw_types.property_types`` reads a store."""

    def __init__(self, found: Scan) -> None:
        self._found = found

    def pages(self, namespaces: Sequence[int]) -> Iterator[StoredPage]:
        rows = sorted((row for row in self._found.rows.values()
                       if row.rev.namespace in namespaces), key=lambda row: row.key)
        texts: dict[tuple[int, int], str] = {}
        for part in sorted({row.part for row in rows}):
            for rev, _ in read_partition(self._found.shared.stream(), part):
                if rev is not None:
                    texts[(rev.page_id, rev.rev_id)] = rev.text
        for row in rows:
            rev = replace(row.rev, text=texts[(row.rev.page_id, row.rev.rev_id)],
                          contributors=tuple(row.contributors))
            yield StoredPage(rev, row.key, tuple(row.alt))


def plan(found: Scan, options: builder.BuildOptions) -> builder._Plan:
    """Phase "prepare", as ``build._plan`` makes it of a store."""
    if not found.rows:
        raise StoreError(f"{found.shared.path} holds no page of the namespaces to build")
    rows = sorted(found.rows.values(), key=lambda row: row.key)
    listing = [(row.rev.page_id, row.key, page_digest(row.fields())) for row in rows]
    smw_types = property_types(_PropertyPages(found))
    version = build_version(mapping_bytes=builder._mapping_bytes(options.mapping_path),
                            base_iri=options.base_iri, site=found.site, smw_types=smw_types)
    newest = max((row.rev.timestamp or "" for row in rows), default="")
    return builder._Plan(found.site, len(rows), listing, frozenset(found.rows), newest,
                         version, found.problems, smw_types)


def check_state(state: Path, site: SiteInfo) -> None:
    """Refuse a state folder of another wiki; record the wiki in a new one."""
    wiki = {"article_path": site.article_path, "dbname": site.dbname,
            "sitename": site.sitename}
    path = state / STATE_WIKI
    if state.exists() and not state.is_dir():
        raise StoreError(f"{state}: is a file, not a state folder (--state)")
    if path.is_file():
        try:
            known = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path}: not a tierslieux state ({exc}): give another --state")
        if known != wiki:
            raise StoreError(f"{state} holds the build state of "
                             f"{known.get('article_path', '').replace('$1', '') or '?'}, not "
                             f"of {site.article_path.replace('$1', '') or '?'}: give another "
                             "--state")
        return
    state.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(wiki, ensure_ascii=False, sort_keys=True) + "\n",
                    encoding="utf-8")


def build_from_dump(dump: str | Path, state: str | Path, out_dir: str | Path,
                    options: builder.BuildOptions = builder.BuildOptions(), *,
                    index: str | Path | None = None, namespaces: Sequence[int] | None = None,
                    progress: builder.Progress | None = None) -> builder.BuildResult:
    """Build and publish a release straight from a multistream dump (``namespaces``: those
    to read, as ``harvest --namespace``; None: every one), its state kept in ``state``."""
    from tierslieux.ontology import load_mapping
    from tierslieux.pipeline.map import Mapper

    clock = builder._Clock()
    dump, state, out_dir = Path(dump), Path(state), Path(out_dir)
    shared, parts = open_dump(dump, None if index is None else Path(index))
    site = read_site_info(dump)
    check_state(state, site)
    shared = replace(shared, scans=os.path.abspath(state / STATE_SCANS),
                     scan_setup=scan_setup(shared.root))
    found = scan(dump, shared, parts, site, namespaces, options.cluster, options.workers or 0)
    plan_ = plan(found, options)
    mapper = Mapper(load_mapping(options.mapping_path), plan_.site, options.base_iri,
                    smw_types=plan_.smw_types)
    checker = builder._checker()
    listing = plan_.listing
    with ExitStack() as stack:
        cache = stack.enter_context(BuildCache(state / STATE_CACHE, plan_.version))
        cache.forget(plan_.every_page)
        known = cache.digests()
        todo: dict[tuple[int, int], list[tuple]] = {}
        for pid, _key, digest in listing:
            if known.get(pid) != digest:
                row = found.rows[pid]
                todo.setdefault(row.part, []).append(
                    (pid, row.rev.rev_id, digest, row.key, row.contributors, row.alt))
        parsed = sum(len(pages) for pages in todo.values())
        runs = builder._run_names(listing, plan_.version)
        workers = options.workers or ((os.cpu_count() or 1)
                                      if len(listing) >= builder.PARALLEL_FROM else 1)
        shared = replace(found.shared, cache_path=str(cache.path), mapper=mapper,
                         checker=checker)
        pool = stack.enter_context(open_engine(options.cluster, workers, shared))
        clock.mark("prepare")
        done = len(listing) - parsed
        for results in pool.bounded(work_partition, [(p, todo[p]) for p in parts if p in todo],
                                    4 * pool.slots):
            cache.put(results)
            done += len(results)
            if progress:
                progress(done, len(listing))
        clock.mark("pages")
        return builder._finish(pool, cache, plan_, options, runs, checker, clock, stack,
                               out_dir, parsed=parsed)
