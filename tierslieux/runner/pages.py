"""The per-page work of a build, done in its worker processes (or in this one).

Every task function takes the ``Shared`` object first: ``workers.shared_pool`` hands it to the
tasks, inherited at fork time by the workers (the mapper and the compiled shapes are made once).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierslieux.errors import ParseError, StoreError
from tierslieux.pipeline.cache import FLAG_CLASS_AXIOMS, PageResult, pack_issues, pack_text
from tierslieux.model.records import Issue, MappedPage, SiteInfo, StoredPage
from tierslieux.pipeline.runs import TripleOrder, materialize, write_run as write_run_file
from tierslieux.pipeline.store import Store

if TYPE_CHECKING:
    from tierslieux.runner.build import BuildOptions

_RDFS_SUBCLASS = "<http://www.w3.org/2000/01/rdf-schema#subClassOf>"


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
        parsed = parse_page(page, shown=mapper.mapping.inline_templates)
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
    from tierslieux.model.iri import clean_text

    rev = page.revision
    title = clean_text(rev.title)[0]
    return MappedPage(page_id=rev.page_id, rev_id=rev.rev_id, title=title, triples=(),
                      issues=(Issue(title, "warning", "page", "", "",
                                    clean_text(message)[0]),))


@dataclass
class Shared:
    """What a worker needs, made once in the main process (and inherited by forked workers)."""

    store_path: str
    cache_path: str
    mapper: Any
    #: the compiled shapes, or None when they fall back to pyshacl
    checker: Any
    #: the store, opened by the first task of each process
    store: Store | None = None

    def close(self) -> None:
        """Close the store this process opened (when the tasks ran in it)."""
        if self.store is not None:
            self.store.close()
            self.store = None


def work(state: Shared, tasks: Sequence[tuple[int, str]]) -> list[PageResult]:
    """Parse, map and check some pages (``(page_id, digest)``), reading them from the store."""
    if state.store is None:  # one read connection per worker process, for every task
        state.store = Store(state.store_path, create=False)
    store = state.store
    out = []
    for page_id, digest in tasks:
        page = store.get(page_id)
        if page is None:
            raise StoreError(f"page {page_id} left the store during the build")
        out.append(page_result(state, page, digest))
    return out


def page_result(state: Any, page: StoredPage, digest: str) -> PageResult:
    """What the build keeps of one page (``state``: a ``Shared``, or what the store-less
    build gives its workers, ``partitions.DumpShared``: its mapper and checker)."""
    from tierslieux.model.lines import canonical_lines

    mapped = _map_one(state.mapper, page)
    lines = list(canonical_lines(mapped.triples))
    unresolved = (sorted(state.checker.local_class_failures(lines))
                  if state.checker is not None else [])
    text = "\n".join(lines)  # no line holds a newline: a search of the whole text is one
    flags = FLAG_CLASS_AXIOMS if _RDFS_SUBCLASS in text else 0
    return PageResult(
        page_id=page.revision.page_id, digest=digest, triples=len(lines),
        lines=pack_text(text), issues=pack_issues(mapped.issues),
        unresolved=json.dumps(unresolved), flags=flags,
    )


def write_run(state: Shared, run_dir: str, name: str, page_ids: Sequence[int]) -> str:
    import sqlite3

    from tierslieux.pipeline.cache import unpack_line_bytes

    db = sqlite3.connect(state.cache_path, timeout=60)
    try:
        pages = (unpack_line_bytes(db.execute("SELECT lines FROM page WHERE page_id = ?",
                                         (pid,)).fetchone()[0]) for pid in page_ids)
        write_run_file(Path(run_dir), name, pages)
    finally:
        db.close()
    return name


def page_tables(_state: Shared, triples_path: str) -> tuple[dict, dict]:
    """The label fold's page tables of a merged triple-order file (``labels.fold_labels``)."""
    from tierslieux.pipeline.labels import file_page_tables

    return file_page_tables(Path(triples_path))


def materialize_run(_state: Shared, run_dir: str, names: Sequence[str], order: str,
                    pages: Mapping[int, str] | None = None, cache_path: str | None = None
                    ) -> Any:
    return materialize(run_dir, names, order, pages, cache_path)


def validate_runs(_state: Shared, paths: Sequence[str], unresolved: frozenset[tuple[str, str]],
                  cache_folder: str | None = None):
    """The SHACL report of the release and the ontology (sorted files in triple order):
    violations only, the other severities are not reported by a build. With
    ``cache_folder``, the results of the groups of subjects that did not change since the
    previous build are reused (validation/shacl_cache.py)."""
    from tierslieux.validation.shacl import default_checker
    from tierslieux.validation.shacl_stream import validate_triples

    severities = frozenset({"violation"})
    triples = TripleOrder([Path(p) for p in paths])
    cache = None
    if cache_folder is not None:
        from importlib import resources

        from tierslieux.model.code import code_version
        from tierslieux.validation.shacl import ontology_lines
        from tierslieux.validation.shacl_cache import ShaclCache, setup_digest

        shapes = resources.files("tierslieux.ontology").joinpath("shapes.ttl").read_bytes()
        cache = ShaclCache(Path(cache_folder),
                           setup_digest(code_version(), shapes, ontology_lines(), severities))
    keyed = None
    if cache is not None and paths and not paths[0].endswith(".gz"):
        from tierslieux.validation.shacl_groups import KEPT_FILE, key_groups

        keyed = lambda: key_groups(Path(paths[0]), [Path(p) for p in paths[1:]],  # noqa: E731
                                   Path(cache_folder) / KEPT_FILE)
    return validate_triples(default_checker(), lambda: triples, unresolved,
                            severities=severities, cache=cache, keyed=keyed)
