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
   triples. Runs whose pages did not change are reused.
4. **Validation that streams.** The SHACL shapes are compiled (``shacl.py``) and checked subject
   by subject over the merged runs plus the ontology, in a worker process while the exports
   write the files; each page resolved its ``sh:class`` checks where it mints the values.
   Shapes the compiler does not understand fall back to pyshacl on the whole graph.
5. **Writers side by side.** Turtle, JSON-LD, the CSV tables, the N-Triples dump, the diff and
   the statistics are each one streaming pass over the merged files, run in forked processes
   (``exports/release.py``); the parse-back of the three dumps runs in parallel too.

Worker processes come from ``tierslieux.workers.process_pool``: they ignore Ctrl-C (the main
process stops them), and die with the main process even when it is killed.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field, replace
from importlib.resources import as_file, files
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from tierslieux.config import (
    DEFAULT_ATTRIBUTION,
    DEFAULT_DIFF_THRESHOLD,
    DEFAULT_LICENCE,
    DEFAULT_LICENCE_NAME,
)
from tierslieux.errors import ParseError, StoreError, ValidationError
from tierslieux.exports.catalog import CatalogSettings
from tierslieux.pipeline.cache import (
    FLAG_CLASS_AXIOMS,
    BuildCache,
    PageResult,
    build_version,
    pack_issues,
    pack_lines,
    page_digest,
    unpack_issues,
)
from tierslieux.pipeline import runs as runs_module
from tierslieux.model.rdf import DEFAULT_BASE_IRI
from tierslieux.pipeline.quarantine import FilteredLines, repair_release
from tierslieux.model.records import Issue, MappedPage, SiteInfo, StoredPage
from tierslieux.pipeline.runs import (
    RunSet,
    TripleOrder,
    group_runs,
    materialize,
    run_id,
    run_paths,
    write_run,
)
from tierslieux.pipeline.store import Store
from tierslieux.workers import InlineExecutor, process_pool

log = logging.getLogger("tierslieux.build")
#: from this many triples on, the build says what it is doing after the pages (the release
#: phase of a big wiki takes minutes)
TELL_FROM = 100_000

#: called with (pages done, total) while building
Progress = Callable[[int, int], None]

#: pages a worker parses and maps per task
CHUNK_PAGES = 8
#: below this many pages to parse (and runs to write), a build stays in one process
PARALLEL_FROM = 64
_RDFS_SUBCLASS = "<http://www.w3.org/2000/01/rdf-schema#subClassOf>"


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
    #: harvest statistics of the run, copied into report.json
    stats: dict = field(default_factory=dict)
    started: str = ""
    #: processes that parse and map; None: one per core when there is enough to do
    workers: int | None = None
    #: keep each page's result beside the store for the next build (``cache.py``)
    cache: bool = True
    #: what tierslieux.toml says of the catalogue (contact point, update frequency…)
    catalog: CatalogSettings = CatalogSettings()


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

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity in ("warning", "error"))


def sample_dump() -> Path:
    """The bundled sample wiki (a MediaWiki XML export) as a real file path."""
    resource = files("tierslieux") / "sample" / "movilab-sample.xml"
    with as_file(resource) as path:
        return Path(path)


def map_pages(
    pages: Iterable[StoredPage], site: SiteInfo, options: BuildOptions,
) -> Iterator[MappedPage]:
    """Parse and map every page; a failing page becomes a MappedPage with only an issue."""
    from tierslieux.ontology import load_mapping
    from tierslieux.pipeline.map import Mapper

    mapper = Mapper(load_mapping(options.mapping_path), site, options.base_iri)
    for page in pages:
        yield _map_one(mapper, page)


def _map_one(mapper: Any, page: StoredPage) -> MappedPage:
    from tierslieux.pipeline.parse import parse_page

    try:
        parsed = parse_page(page)
    except ParseError as exc:  # parse_page turns any failure into a ParseError
        return _failed(page, f"not parsed: {exc}")
    try:
        return mapper.map_page(parsed)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError,
            ArithmeticError, AssertionError) as exc:
        # a bug of the mapping or of a cleaner on one page: reported, the other pages go on
        return _failed(page, f"not mapped: {type(exc).__name__}: {exc}")


def _failed(page: StoredPage, message: str) -> MappedPage:
    """What a page that could not be parsed or mapped gives: no triple, one warning."""
    from tierslieux.model.rdf import clean_text

    rev = page.revision
    title = clean_text(rev.title)[0]
    return MappedPage(page_id=rev.page_id, rev_id=rev.rev_id, title=title, triples=(),
                      issues=(Issue(title, "warning", "page", "", "",
                                    clean_text(message)[0]),))


# --------------------------------------------------------------------------- worker side


@dataclass
class _State:
    """What a worker needs, made once in the main process (and inherited by forked workers)."""

    store_path: str
    cache_path: str
    mapper: Any
    #: the compiled shapes, or None when they fall back to pyshacl
    checker: Any
    #: the store, opened by the first task of each process
    store: Store | None = None


_STATE: _State | None = None


def _work(tasks: Sequence[tuple[int, str]]) -> list[PageResult]:
    """Parse, map and check some pages (``(page_id, digest)``), reading them from the store."""
    from tierslieux.model.lines import canonical_lines

    state = _STATE
    assert state is not None
    if state.store is None:  # one read connection per worker process, for every task
        state.store = Store(state.store_path, create=False)
    store = state.store
    out = []
    for page_id, digest in tasks:
        page = store.get(page_id)
        if page is None:
            raise StoreError(f"page {page_id} left the store during the build")
        mapped = _map_one(state.mapper, page)
        lines = list(canonical_lines(mapped.triples))
        unresolved = (sorted(state.checker.local_class_failures(lines))
                      if state.checker is not None else [])
        flags = FLAG_CLASS_AXIOMS if any(_RDFS_SUBCLASS in line for line in lines) else 0
        out.append(PageResult(
            page_id=page_id, digest=digest, triples=len(lines), lines=pack_lines(lines),
            issues=pack_issues(mapped.issues), unresolved=json.dumps(unresolved), flags=flags,
        ))
    return out


def _write_run(run_dir: str, name: str, page_ids: Sequence[int]) -> str:
    state = _STATE
    assert state is not None
    import sqlite3

    from tierslieux.pipeline.cache import unpack_lines

    db = sqlite3.connect(state.cache_path, timeout=60)
    try:
        pages = (unpack_lines(db.execute("SELECT lines FROM page WHERE page_id = ?",
                                         (pid,)).fetchone()[0]) for pid in page_ids)
        write_run(Path(run_dir), name, pages)
    finally:
        db.close()
    return name


def _validate(paths: Sequence[str], unresolved: frozenset[tuple[str, str]]):
    """The SHACL report of the release and the ontology (sorted files in triple order):
    violations only, the other severities are not reported by a build."""
    from tierslieux.validation.shacl import default_checker, validate_triples

    triples = TripleOrder([Path(p) for p in paths])
    return validate_triples(default_checker(), lambda: triples, unresolved,
                            severities=frozenset({"violation"}))


def _executor(workers: int) -> AbstractContextManager[Any]:
    """The build's pool, to enter: forked workers (they inherit the mapper and the compiled
    shapes instead of rebuilding them), killed rather than waited for if the build fails."""
    if workers <= 1:
        return InlineExecutor()
    return process_pool(workers)


def _bounded(pool: Any, fn: Callable, tasks: Iterable[Any], in_flight: int) -> Iterator[Any]:
    """``fn(task)`` for every task, at most ``in_flight`` at a time (so that a big build does
    not queue every page at once); results in completion order of submission."""
    pending: deque[Future] = deque()
    for task in tasks:
        pending.append(pool.submit(fn, task))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


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


def build(store_path: str | Path, out_dir: str | Path, options: BuildOptions = BuildOptions(),
          *, progress: Progress | None = None) -> BuildResult:
    """Build and publish a release from a harvested store."""
    from tierslieux.exports.release import ReleaseMeta, write_release
    from tierslieux.ontology import load_mapping
    from tierslieux.pipeline.map import Mapper

    global _STATE
    clock = [("start", time.perf_counter())]
    out_dir = Path(out_dir)
    with Store(store_path, create=False) as store:
        site = store.site_info
        if site is None or store.count() == 0:
            raise StoreError(f"{store_path} holds no harvested page: run 'tierslieux harvest' first")
        total = store.count()
        listing = _listing(store, options.namespaces)
        every_page = {pid for (pid,) in store.db.execute("SELECT page_id FROM page")}
        newest = store.newest_timestamp(options.namespaces)
        #: pages a harvest could not store as delivered (reported, never a reason to refuse)
        store_problems = store.problems()
    mapper = Mapper(load_mapping(options.mapping_path), site, options.base_iri)
    checker = _checker()
    version = build_version(mapping_bytes=_mapping_bytes(options.mapping_path),
                            base_iri=options.base_iri, site=site)

    with ExitStack() as stack:
        cache_root = Path(store_path)
        if not options.cache:
            cache_root = Path(stack.enter_context(TemporaryDirectory())) / "store"
        cache = stack.enter_context(BuildCache(cache_root, version))
        cache.forget(every_page)
        known = cache.digests()
        todo = [(pid, digest) for pid, _, digest in listing if known.get(pid) != digest]
        groups = group_runs([key for _, key, _ in listing], runs_module.RUN_PAGES)
        runs = []
        for start, end in groups:
            members = listing[start:end]
            name = run_id(version, (f"{pid}:{digest}" for pid, _, digest in members))
            runs.append((name, [pid for pid, _, _ in members]))
        missing = [(name, pids) for name, pids in runs
                   if not all(p.is_file() for p in run_paths(cache.run_dir, name))]

        # a worker per core as soon as there is something to share: pages to parse, or just
        # the merges and the SHACL check of a big release
        workers = options.workers or ((os.cpu_count() or 1) if len(listing) >= PARALLEL_FROM
                                      else 1)
        _STATE = _State(str(store_path), str(cache.path), mapper, checker)
        stack.callback(_forget_state)
        pool = stack.enter_context(_executor(workers))

        clock.append(("prepare", time.perf_counter()))
        done = len(listing) - len(todo)
        if progress and done:
            progress(done, total)
        for results in _bounded(pool, _work, _chunks(todo, CHUNK_PAGES), 4 * workers):
            cache.put(results)
            done += len(results)
            if progress:
                progress(done, total)
        clock.append(("pages", time.perf_counter()))
        run_futures = [pool.submit(_write_run, str(cache.run_dir), name, pids)
                       for name, pids in missing]
        for future in run_futures:
            future.result()
        clock.append(("runs", time.perf_counter()))

        issues: list[Issue] = list(store_problems)
        info_issues = 0
        unresolved: set[tuple[str, str]] = set()
        flags = 0
        for _triples, issue_blob, unresolved_json, page_flags in cache.summary(
                pid for pid, _, _ in listing):
            for issue in unpack_issues(issue_blob):
                if issue.severity == "info":
                    info_issues += 1  # coverage notes: counted, not kept (see survey.py)
                else:
                    issues.append(issue)
            unresolved.update(tuple(pair) for pair in json.loads(unresolved_json))
            flags |= page_flags

        names = [name for name, _ in runs]
        _enough_open_files(len(names) + 64)  # a merge opens every run at once
        keep = set(names)
        release = RunSet(cache.run_dir, names)
        stack.callback(release.forget_merged)
        # The exports read the release about six times: merge the runs once per order, both
        # orders at the same time, into the files the later passes read.
        merges = [pool.submit(materialize, str(cache.run_dir), names, order)
                  for order in ("lines", "triples")]
        release.count = merges[0].result()
        merges[1].result()
        clock.append(("merge", time.perf_counter()))
        validators = None
        shacl_future = shacl_paths = None
        if checker is not None and names and not flags & FLAG_CLASS_AXIOMS:
            ontology_run = _ontology_run(cache, version)
            keep.add(ontology_run)
            unresolved |= checker.local_class_failures(_ontology_lines())
            shacl_paths = [str(release.merged_paths()[1]),
                           str(run_paths(cache.run_dir, ontology_run)[1])]
            shacl_future = pool.submit(_validate, shacl_paths, frozenset(unresolved))
            validators = _validators(shacl_future)
        cache.forget_runs(keep | {release.merged_name})

        stats = {**options.stats, "pages_built": len(listing)}
        meta = ReleaseMeta(
            base_iri=options.base_iri,
            publication_url=options.publication_url,
            licence_iri=options.licence,
            licence_name=options.licence_name,
            attribution=options.attribution,
            site=site,
            newest_revision=newest,
            started=options.started,
            stats=stats,
            issues=tuple(issues),
            info_issues=info_issues,
            diff_threshold=options.diff_threshold,
            force=options.force,
            catalog=options.catalog,
        )
        if len(release) >= TELL_FROM:
            log.info("Writing and validating the release: %d triples from %d pages "
                     "(%d parsed, %d from the cache)...", len(release), len(listing), len(todo),
                     len(listing) - len(todo))
        published: Any = release
        try:
            result = write_release(release, out_dir, meta, validators=validators,
                                   workers=options.workers)
        except ValidationError as exc:
            # what pages got wrong together (two values for one collectivity…) is left out
            # and reported; the other pages are published (quarantine.py)
            if shacl_future is None or not str(exc).startswith("check_shacl:"):
                raise
            repaired = repair_release(shacl_future.result(), shacl_paths,
                                      frozenset(unresolved))
            if repaired is None:
                raise
            quarantine, report = repaired
            log.warning("%d pages broke the shapes together: what was at fault is left out "
                        "(see report.json)", len({i.page_title for i in quarantine.issues}))
            issues.extend(quarantine.issues)
            meta = replace(meta, issues=tuple(issues))
            published = FilteredLines(release, quarantine)
            done_future: Future = Future()
            done_future.set_result(report)
            result = write_release(published, out_dir, meta, validators=_validators(done_future),
                                   workers=options.workers)
        clock.append(("release", time.perf_counter()))
        return BuildResult(
            out_dir=out_dir, pages=len(listing), triples=len(published), issues=tuple(issues),
            files=tuple(getattr(result, "files", ())), pages_parsed=len(todo),
            info_issues=info_issues,
            timings=tuple((name, round(t - clock[i][1], 3))
                          for i, (name, t) in enumerate(clock[1:]))
            + tuple((f"release: {step}", seconds)
                    for step, seconds in getattr(result, "timings", ())),
        )


def _enough_open_files(needed: int) -> None:
    """Raise this process's soft limit of open files towards ``needed`` (a wiki of 130,000
    pages has over a thousand runs, the usual soft limit), as far as the hard limit allows."""
    try:
        import resource
    except ImportError:  # not POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        if target > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _forget_state() -> None:
    global _STATE
    if _STATE is not None and _STATE.store is not None:
        _STATE.store.close()
    _STATE = None


def _checker() -> Any:
    """The compiled shapes, or None when shapes.ttl needs pyshacl."""
    from tierslieux.validation.shacl import Unsupported, default_checker, ontology_lines

    try:
        checker = default_checker()
        ontology_lines()
    except Unsupported:
        return None
    return checker


def _ontology_lines() -> tuple[str, ...]:
    from tierslieux.validation.shacl import ontology_lines

    return ontology_lines()


def _ontology_run(cache: BuildCache, version: str) -> str:
    """The ontology as a run of its own: the data graph SHACL validates includes it."""
    name = run_id(version, ["ontology"])
    if not all(p.is_file() for p in run_paths(cache.run_dir, name)):
        write_run(cache.run_dir, name, [_ontology_lines()])
    return name


def _validators(shacl_future: Future) -> list:
    """The default validators, with SHACL read from the streaming check running aside."""
    from tierslieux.validation.release import default_validators, shacl_messages, validator_name

    def check_shacl(release: Any) -> Iterator[str]:
        yield from shacl_messages(shacl_future.result())

    return [v for v in default_validators() if validator_name(v) != "check_shacl"] + [
        check_shacl]
