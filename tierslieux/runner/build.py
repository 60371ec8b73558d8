"""The build: store -> parse -> map -> validate -> publish.

A build never touches the network. Parsing and mapping a page is a pure function of its stored
revision; a page that cannot be parsed or mapped is reported and the rest goes on.

How a build scales (README, "Big wikis", gives the benchmark and its figures):

1. **Only what changed.** Each page's result (its sorted N-Triples lines, its issues, the
   ``sh:class`` checks it could not decide) is kept in a cache beside the store
   (``cache.py``), under a digest of the stored page; a page whose digest is unchanged is not
   parsed again. The cache is emptied when the mapping, the ontology, the shapes, the base IRI,
   the wiki, the tierslieux version or the code of the stages changes.
2. **Both cores.** The pages left to do are parsed, mapped and checked in worker processes
   (``concurrent.futures.ProcessPoolExecutor``, chunks of pages, a bounded number in flight).
   The output does not depend on the order results come back: it is built from sorted runs.
3. **Flat memory.** The union of the pages' lines is written as sorted run files of about a
   hundred pages each (``runs.py``) and the exports read the release as a k-way merge of the
   runs, in line order and in triple order, as many times as they need: nothing holds all the
   triples. Runs whose pages did not change are reused, and the merge is made from the last
   build's (``keptmerge.py``): the old lines of the changed and deleted pages go, unless other
   pages hold them, the new lines of the changed and added pages come. While that kept merge
   can be updated, the runs of the changed pages are not written (only a whole merge reads
   the runs; it writes those missing first).
4. **Validation that streams.** The SHACL shapes are compiled (``shacl.py``) and checked subject
   by subject over the merged runs plus the ontology, in a worker process while the exports
   write the files; each page resolved its ``sh:class`` checks where it mints the values.
   Shapes the compiler does not understand fall back to pyshacl on the whole graph.
5. **Writers side by side.** Turtle, JSON-LD, the CSV tables, the N-Triples dump, the diff and
   the statistics are each one streaming pass over the merged files, run in forked processes
   (``exports/release.py``); the parse-back of the three dumps runs in parallel too.

Worker processes come from ``tierslieux.workers.shared_pool``: they ignore Ctrl-C (the main
process stops them), die with the main process even when it is killed, and inherit at fork time
the ``Shared`` object the build prepared (the mapper, the compiled shapes): every task receives
it as its first argument; no module keeps it. With ``BuildOptions.cluster`` the phases
``_pages`` and ``_runs`` run on a Dask cluster instead (``runner/engine.py``).

``build`` runs named phases, each a function of its own: ``_plan`` (what the store holds, what
the cache already has), ``_pages`` (parse, map, check), ``_runs`` (sorted run files; skipped
while the kept merge can be updated),
``_collect`` (the pages' issues and pending checks), ``_merge``, ``start_shacl`` (the streaming
check, aside: ``shacl_check.py``) and ``_release`` (exports/release.py).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from importlib.resources import as_file, files
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, TypeVar

from tierslieux.config import (
    DEFAULT_ATTRIBUTION,
    DEFAULT_DIFF_THRESHOLD,
    DEFAULT_LICENCE,
    DEFAULT_LICENCE_NAME,
)
from tierslieux.errors import StoreError, ValidationError
from tierslieux.exports.catalog import CatalogSettings
from tierslieux.exports.release import ReleaseMeta, ReleaseResult, write_release
from tierslieux.pipeline.cache import (
    BuildCache,
    build_version,
    kept_property_types,
    page_digest,
    unpack_issues,
)
from tierslieux.pipeline import keptmerge
from tierslieux.pipeline import runs as runs_module
from tierslieux.pipeline.labels import fold_labels
from tierslieux.runner.quarantine import FilteredLines, repair_release
from tierslieux.runner.shacl_check import Shacl, start_shacl
from tierslieux.runner.shacl_check import checker as _checker
from tierslieux.runner.shacl_check import validators as _validators
from tierslieux.model.rdf import DEFAULT_BASE_IRI
from tierslieux.model.records import HarvestCounts, Issue, RunCounts, SiteInfo
from tierslieux.pipeline.runs import (
    RunSet,
    group_runs,
    run_files,
    run_id,
)
from tierslieux.pipeline.parse.smw import SMW_QUERY_FIELD
from tierslieux.pipeline.smw_types import PROPERTY_NAMESPACE, property_types
from tierslieux.pipeline.store import Store
from tierslieux.runner import pages as tasks
from tierslieux.runner.engine import Engine, open_engine


log = logging.getLogger("tierslieux.build")
T = TypeVar("T")
#: from this many triples on, the build says what it is doing after the pages (the release
#: phase of a big wiki takes minutes)
TELL_FROM = 100_000

#: called with (pages done, total) while building
Progress = Callable[[int, int], None]

#: pages a worker parses and maps per task
CHUNK_PAGES = 8
#: below this many pages to parse (and runs to write), a build stays in one process
PARALLEL_FROM = 64


@dataclass(frozen=True)
class BuildOptions:
    """Everything a build needs besides the store and the output folder."""

    base_iri: str = DEFAULT_BASE_IRI
    #: None builds every harvested namespace
    namespaces: tuple[int, ...] | None = None
    mapping_path: Path | None = None
    publication_url: str = ""
    licence: str = DEFAULT_LICENCE
    licence_name: str = DEFAULT_LICENCE_NAME
    attribution: str = DEFAULT_ATTRIBUTION
    force: bool = False
    diff_threshold: float = DEFAULT_DIFF_THRESHOLD
    #: what the harvest of the run did (report.json), None when the run did not harvest
    harvest: HarvestCounts | None = None
    started: str = ""
    #: processes that parse and map; None: one per core when there is enough to do
    workers: int | None = None
    #: keep each page's result beside the store for the next build (``cache.py``)
    cache: bool = True
    #: what tierslieux.toml says of the catalogue (contact point, update frequency…)
    catalog: CatalogSettings = CatalogSettings()
    #: write the Linked Data site (``site/`` and ``index.html``)
    site: bool = True
    #: a Dask scheduler's address: the per-page work runs there (``runner/engine.py``)
    cluster: str = ""


@dataclass(frozen=True)
class BuildResult:
    """What a build published."""

    out_dir: Path
    pages: int
    triples: int
    #: the warnings and errors of the map stage (its "info" notes are only counted: the
    #: mapping coverage is what ``tierslieux survey`` reports)
    issues: tuple[Issue, ...]
    files: tuple[str, ...]
    #: pages parsed and mapped by this build (the others came from the cache)
    pages_parsed: int = 0
    #: (phase, seconds): "prepare", "pages" (parse, map, checks), "runs", "merge", "release"
    timings: tuple[tuple[str, float], ...] = ()
    #: issues of severity "info" (not in ``issues``)
    info_issues: int = 0
    #: Semantic MediaWiki queries (``#ask``, ``#show``) recorded as ``tl:Query``, not evaluated
    smw_queries: int = 0

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity in ("warning", "error"))


def sample_dump() -> Path:
    """The bundled sample wiki (a MediaWiki XML export) as a real file path."""
    resource = files("tierslieux") / "sample" / "movilab-sample.xml"
    with as_file(resource) as path:
        return Path(path)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --------------------------------------------------------------------------- the build

#: the stored fields a page's result depends on (its text: through rev_id and sha1)
_LISTING = (
    "SELECT page_id, key, namespace, title, rev_id, parent_id, timestamp, sha1, contributor, "
    "comment, model, redirect, contributors, alt_titles FROM page"
)


def _listing(store: Store, namespaces: Iterable[int] | None) -> list[tuple[int, str, str]]:
    """(page_id, key, digest) of the pages to build, in key order."""
    if namespaces is None:
        rows = store.db.execute(_LISTING + " ORDER BY key")
    else:
        ns = sorted(set(namespaces))
        rows = store.db.execute(
            _LISTING + f" WHERE namespace IN ({','.join('?' * len(ns))}) ORDER BY key", ns)
    return [(row[0], row[1], page_digest(row)) for row in rows]


def _mapping_bytes(path: Path | None) -> bytes:
    if path is None:
        from tierslieux.ontology import mapping_path

        return mapping_path().read_bytes()
    return Path(path).read_bytes()


@dataclass(frozen=True)
class _Plan:
    """What the store holds and what this build has to do."""

    site: SiteInfo
    #: pages in the store (the progress total)
    total: int
    #: (page_id, key, digest) of the pages to build, in key order
    listing: list[tuple[int, str, str]]
    #: every page id of the store (the cache forgets the others)
    every_page: frozenset[int]
    newest: str
    version: str
    #: pages a harvest could not store as delivered (reported, never a reason to refuse)
    store_problems: tuple[Issue, ...] = ()
    #: folded SMW property name -> the type its property page declares
    smw_types: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Collected:
    """The pages' issues and what their results leave to the release-wide checks."""

    issues: tuple[Issue, ...]
    info_issues: int
    unresolved: frozenset[tuple[str, str]]
    flags: int
    #: the SMW queries recorded on the pages (info issues of field "smw:query")
    smw_queries: int = 0
    #: rows of quality.csv that are not warnings of the build (the label folds)
    notes: tuple[Issue, ...] = ()


class _Clock:
    """The seconds each phase took."""

    def __init__(self) -> None:
        self._marks = [("start", time.perf_counter())]

    def mark(self, phase: str) -> None:
        self._marks.append((phase, time.perf_counter()))

    def timings(self) -> tuple[tuple[str, float], ...]:
        return tuple((name, round(t - self._marks[i][1], 3))
                     for i, (name, t) in enumerate(self._marks[1:]))


def build(store_path: str | Path, out_dir: str | Path, options: BuildOptions = BuildOptions(),
          *, progress: Progress | None = None) -> BuildResult:
    """Build and publish a release from a harvested store."""
    from tierslieux.ontology import load_mapping
    from tierslieux.pipeline.map import Mapper

    clock = _Clock()
    out_dir = Path(out_dir)
    plan = _plan(store_path, options)
    mapper = Mapper(load_mapping(options.mapping_path), plan.site, options.base_iri,
                    smw_types=plan.smw_types)
    checker = _checker()
    listing = plan.listing

    with ExitStack() as stack:
        cache_root = Path(store_path)
        if not options.cache:
            cache_root = Path(stack.enter_context(TemporaryDirectory())) / "store"
        cache = stack.enter_context(BuildCache(cache_root, plan.version))
        cache.forget(plan.every_page)
        known = cache.digests()
        todo = [(pid, digest) for pid, _, digest in listing if known.get(pid) != digest]
        runs = _run_names(listing, plan.version)

        # a worker per core as soon as there is something to share: pages to parse, or just
        # the merges and the SHACL check of a big release
        workers = options.workers or ((os.cpu_count() or 1) if len(listing) >= PARALLEL_FROM
                                      else 1)
        shared = tasks.Shared(str(store_path), str(cache.path), mapper, checker)
        stack.callback(shared.close)
        pool = stack.enter_context(open_engine(options.cluster, workers, shared))
        clock.mark("prepare")
        _pages(pool, cache, todo, len(listing), plan.total, pool.slots, progress)
        clock.mark("pages")
        return _finish(pool, cache, plan, options, runs, checker, clock, stack, out_dir,
                       parsed=len(todo))


def _finish(pool: Engine, cache: BuildCache, plan: _Plan, options: BuildOptions,
            runs: list[tuple[str, list[int]]], checker: Any, clock: _Clock, stack: ExitStack,
            out_dir: Path, *, parsed: int) -> BuildResult:
    """Phases "runs", "merge" and "release", once the pages are in the cache: the same for a
    build from the store and one from a dump's partitions (partitions.py)."""
    listing = plan.listing
    if not keptmerge.updatable(cache.run_dir):
        _runs(pool, cache, runs)  # else only a whole merge needs them: _merge writes them then
    clock.mark("runs")
    # the pages' issues read while the workers merge
    release, collected = _merge(pool, cache, runs, {pid: digest for pid, _, digest in listing},
                                meanwhile=lambda: _collect(cache, plan))
    stack.callback(release.forget_merged)
    cache.forget_gone()  # the kept merge is that of the results the cache holds
    # one rdfs:label per entity and language across pages (pipeline/labels.py)
    collected = replace(collected, notes=fold_labels(
        release, lambda path: pool.submit(tasks.page_tables, str(path))))  # in a worker
    clock.mark("merge")
    shacl = start_shacl(pool, cache, plan.version, checker, release, collected.unresolved,
                        collected.flags)
    cache.forget_runs(shacl.keep | set(release.names) | {release.merged_name})
    if len(release) >= TELL_FROM:
        log.info("Writing and validating the release: %d triples from %d pages "
                 "(%d parsed, %d from the cache)...", len(release), len(listing), parsed,
                 len(listing) - parsed)
    published = _release(release, out_dir, plan, options, collected, shacl, cache,
                         pool.segment_renderer())
    clock.mark("release")
    return BuildResult(
        out_dir=out_dir, pages=len(listing), triples=published.triples,
        issues=published.issues, files=published.result.files, pages_parsed=parsed,
        info_issues=collected.info_issues, smw_queries=collected.smw_queries,
        timings=clock.timings()
        + tuple((f"release: {step}", seconds)
                for step, seconds in published.result.timings),
    )


def _plan(store_path: str | Path, options: BuildOptions) -> _Plan:
    """Phase "prepare": the pages to build and the version of their results."""
    with Store(store_path, create=False) as store:
        site = store.site_info
        if site is None or store.count() == 0:
            raise StoreError(f"{store_path} holds no harvested page: run 'tierslieux harvest' first")
        total = store.count()
        listing = _listing(store, options.namespaces)
        every_page = frozenset(pid for (pid,) in store.db.execute("SELECT page_id FROM page"))
        newest = store.newest_timestamp(options.namespaces)
        store_problems = tuple(store.problems())
        smw_types = kept_property_types(
            Path(store_path) if options.cache else None,
            store.db.execute(_LISTING + " WHERE namespace = ? ORDER BY key",
                             (PROPERTY_NAMESPACE,)),
            lambda: property_types(store))
    version = build_version(mapping_bytes=_mapping_bytes(options.mapping_path),
                            base_iri=options.base_iri, site=site, smw_types=smw_types)
    return _Plan(site, total, listing, every_page, newest, version, store_problems, smw_types)


def _run_names(listing: list[tuple[int, str, str]], version: str
               ) -> list[tuple[str, list[int]]]:
    """(run name, page ids) of the runs the release is made of, in key order."""
    runs = []
    for start, end in group_runs([key for _, key, _ in listing], runs_module.RUN_PAGES):
        members = listing[start:end]
        name = run_id(version, (f"{pid}:{digest}" for pid, _, digest in members))
        runs.append((name, [pid for pid, _, _ in members]))
    return runs


def _pages(pool: Engine, cache: BuildCache, todo: list[tuple[int, str]], pages: int,
           total: int, workers: int, progress: Progress | None) -> None:
    """Phase "pages": parse, map and check the pages the cache does not have."""
    done = pages - len(todo)
    if progress and done:
        progress(done, total)
    for results in pool.bounded(tasks.work, _chunks(todo, CHUNK_PAGES), 4 * workers):
        cache.put(results)
        done += len(results)
        if progress:
            progress(done, total)


def _runs(pool: Engine, cache: BuildCache, runs: list[tuple[str, list[int]]]) -> None:
    """Phase "runs": the sorted run files that are not there yet."""
    missing = [(name, pids) for name, pids in runs
               if not all(p.is_file() for p in run_files(cache.run_dir, name))]
    pool.each(tasks.write_run, [(str(cache.run_dir.resolve()), name, pids)
                                for name, pids in missing])


def _collect(cache: BuildCache, plan: _Plan) -> _Collected:
    """The issues of the store and of every page, the ``sh:class`` checks they left open,
    their flags."""
    listing = plan.listing
    issues: list[Issue] = list(plan.store_problems)
    info_issues = smw_queries = 0
    unresolved: set[tuple[str, str]] = set()
    flags = 0
    for _triples, issue_blob, unresolved_json, page_flags in cache.summary(
            pid for pid, _, _ in listing):
        for issue in unpack_issues(issue_blob):
            if issue.severity == "info":
                info_issues += 1  # coverage notes: counted, not kept (see survey.py)
                smw_queries += issue.field == SMW_QUERY_FIELD
            else:
                issues.append(issue)
        unresolved.update(tuple(pair) for pair in json.loads(unresolved_json))
        flags |= page_flags
    return _Collected(tuple(issues), info_issues, frozenset(unresolved), flags,
                      smw_queries=smw_queries)


def _merge(pool: Engine, cache: BuildCache, runs: list[tuple[str, list[int]]],
           pages: dict[int, str], meanwhile: Callable[[], T]) -> tuple[RunSet, T]:
    """Phase "merge": the exports read the release about six times: merge the runs once per
    order, both orders at the same time, into the files the later passes read. The merges are
    made from the last build's and the changed pages (``pages``: the page results of the
    runs) when they can; one that has to merge every run while some are not written (``_runs``
    did not write them: the kept merge looked usable) is done again once they are.
    ``meanwhile()`` is called once the merges are in the pool; its result is returned too."""
    names = [name for name, _ in runs]
    release = RunSet(cache.run_dir, names)
    args = (str(cache.run_dir), names)
    merges = {order: pool.submit(tasks.materialize_run, *args, order, pages, str(cache.path))
              for order in ("lines", "triples")}
    beside = meanwhile()
    counts = {}
    for order, future in merges.items():
        try:
            counts[order] = future.result()
        except keptmerge.RunsMissing:
            counts[order] = None
    if None in counts.values():
        _runs(pool, cache, runs)
        again = {order: pool.submit(tasks.materialize_run, *args, order, pages,
                                    str(cache.path))
                 for order, count in counts.items() if count is None}
        counts.update((order, future.result()) for order, future in again.items())
    release.count = counts["lines"]
    return release, beside


@dataclass(frozen=True)
class _Published:
    result: ReleaseResult
    #: the triples published (fewer than the release's when pages were quarantined)
    triples: int
    issues: tuple[Issue, ...]


def _release(release: RunSet, out_dir: Path, plan: _Plan, options: BuildOptions,
             collected: _Collected, shacl: Shacl, cache: BuildCache,
             renderer: Any = None) -> _Published:
    """Phase "release": write, validate and publish (exports/release.py). What pages got
    wrong together (two values for one collectivity…) is left out and reported; the other
    pages are published (quarantine.py). ``renderer``: a cluster's, for the segments."""
    meta = ReleaseMeta(
        base_iri=options.base_iri,
        publication_url=options.publication_url,
        licence_iri=options.licence,
        licence_name=options.licence_name,
        attribution=options.attribution,
        site=plan.site,
        newest_revision=plan.newest,
        started=options.started,
        counts=RunCounts(options.harvest, len(plan.listing)),
        issues=collected.issues + collected.notes,
        info_issues=collected.info_issues,
        diff_threshold=options.diff_threshold,
        force=options.force,
        catalog=options.catalog,
        linked_data_site=options.site,
    )
    try:
        # the release's segments beside the run files' folder (not in it: forget_runs
        # removes whatever it does not keep there)
        segments = cache.run_dir.with_name(cache.run_dir.name[:-len(".d")] + ".segments.d")
        result = write_release(release, out_dir, meta, validators=shacl.validators,
                               workers=options.workers, segment_cache=segments,
                               segment_renderer=renderer)
        return _Published(result, len(release), collected.issues)
    except ValidationError as exc:
        if shacl.future is None or not str(exc).startswith("check_shacl:"):
            raise
        repaired = repair_release(shacl.future.result(), shacl.paths, shacl.unresolved)
        if repaired is None:
            raise
    quarantine, report = repaired
    log.warning("%d pages broke the shapes together: what was at fault is left out "
                "(see report.json)", len({i.page_title for i in quarantine.issues}))
    issues = collected.issues + tuple(quarantine.issues)
    published = FilteredLines(release, quarantine)
    done: Future = Future()
    done.set_result(report)
    result = write_release(published, out_dir, replace(meta, issues=issues + collected.notes),
                           validators=_validators(done), workers=options.workers,
                           segment_renderer=renderer)
    return _Published(result, len(published), issues)

