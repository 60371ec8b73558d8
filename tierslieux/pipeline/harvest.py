"""Harvest a wiki into the store: from an XML export, or from a live MediaWiki API.

Both paths write the store in one transaction per batch, so an interrupted harvest leaves a
consistent store and the same command finishes it.

The modules: this one (the two entry points and the import of a dump), ``harvest_live``
(the plan and the fetch loop of a live harvest), ``harvest_record`` (the report and the
bookkeeping both share).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from tierslieux.errors import HarvestError
from tierslieux.model.records import Issue, PageRevision
from tierslieux.pipeline.dump import read_dump, read_site_info
from tierslieux.pipeline.harvest_live import (  # noqa: F401  (re-exported)
    API_BATCH,
    SAFETY_OVERLAP,
    STATE_KEY,
    LiveHarvest,
    _base36_sha1,
    _shift,
)
from tierslieux.pipeline.harvest_record import (  # noqa: F401  (re-exported)
    HarvestReport,
    Progress,
    check_same_wiki,
    chunks,
    now_utc,
)
from tierslieux.pipeline.smw_types import PROPERTY_NAMESPACE
from tierslieux.pipeline.store import Store, UpsertCounts
from tierslieux.pipeline.wikiapi import BACKOFF, MAX_RETRIES, TIMEOUT, RequestStats, Wiki, connect

__all__ = ["harvest_dump", "harvest_wiki", "HarvestReport", "Progress", "now_utc", "chunks",
           "check_same_wiki", "LiveHarvest", "STATE_KEY", "API_BATCH", "SAFETY_OVERLAP",
           "DUMP_BATCH", "_base36_sha1", "_shift"]

#: pages per store transaction when importing a dump
DUMP_BATCH = 500


def harvest_dump(
    dump: str | Path,
    store: Store,
    *,
    namespaces: Iterable[int] | None = None,
    progress: Progress | None = None,
    reader: Callable[..., Iterator[PageRevision]] | None = None,
) -> HarvestReport:
    """Import an XML export into the store (``reader``: how its pages are read, by default
    ``read_dump``; ``multistream.py`` gives one that reads a multistream dump in parallel).

    An export is taken as a full snapshot of the chosen namespaces: stored pages of those
    namespaces that it no longer contains are recorded as deleted. The property namespace
    of Semantic MediaWiki (102) is read too when the export's wiki has it.
    """
    dump = Path(dump)
    site = read_site_info(dump)
    check_same_wiki(store, site)
    if site.article_path or store.site_info is None:
        store.set_site_info(site)
    wanted = None if namespaces is None else set(namespaces)
    if wanted and PROPERTY_NAMESPACE in dict(site.namespaces):
        # Semantic MediaWiki's property pages type the annotations of the other pages
        wanted.add(PROPERTY_NAMESPACE)
    source = f"dump:{dump.name}"
    harvest_id = store.begin_harvest(source, "dump", now_utc())
    counts = UpsertCounts()
    seen: set[int] = set()
    fetched = 0
    skipped: list[Issue] = []
    #: page id -> titles it was given under, for the ids the export gives more than once
    given: dict[int, list[str]] = {}

    def selected() -> Iterator[PageRevision]:
        for rev in (reader or read_dump)(dump, on_skip=skipped.append):
            if wanted is None or rev.namespace in wanted:
                given.setdefault(rev.page_id, []).append(rev.title)
                yield rev

    for batch in chunks(selected(), DUMP_BATCH):
        with store.transaction():
            counts += store.upsert(batch, harvest_id)
        seen.update(rev.page_id for rev in batch)
        fetched += len(batch)
        if progress:
            progress(fetched, None)

    # A page skipped for an unreadable revision keeps what the store holds of it.
    for issue in skipped:
        for namespace in (wanted or {0}):
            kept = store.page_id_of(namespace, issue.page_title)
            if kept is not None:
                seen.add(kept)
    problems = skipped + _duplicates(store, given)
    problems_changed = store.replace_problems(source, problems)
    deleted: list[str] = []
    with store.transaction():
        for page in list(store.pages(wanted)):
            if page.revision.page_id not in seen:
                store.delete(page.revision.page_id, harvest_id=harvest_id)
                deleted.append(page.revision.title)
    report = HarvestReport(
        source=source, mode="dump", pages_fetched=fetched, pages_new=counts.new,
        pages_changed=counts.changed, pages_unchanged=counts.unchanged,
        pages_deleted=len(deleted), deleted_titles=tuple(sorted(deleted)),
        notes=tuple(f"{issue.page_title}: {issue.message}" for issue in problems),
        problems_changed=problems_changed,
    )
    store.finish_harvest(harvest_id, finished=now_utc(), stats=report.stats())
    return report


def _duplicates(store: Store, given: dict[int, list[str]]) -> list[Issue]:
    """A warning for each page id the export gives more than once (the store kept the
    revision with the highest id, as for any two revisions of a page)."""
    issues = []
    for page_id, titles in sorted(given.items()):
        if len(titles) < 2:
            continue
        stored = store.get(page_id)
        kept = (f"revision {stored.revision.rev_id} ({stored.revision.title!r}) is kept"
                if stored is not None else "none is kept")
        issues.append(Issue(
            titles[-1], "warning", "page", f"page id {page_id}", "",
            f"page id {page_id} is given {len(titles)} times in the export "
            f"({', '.join(repr(t) for t in dict.fromkeys(titles))}): the latest {kept}"))
    return issues


def harvest_wiki(
    url: str,
    store: Store,
    *,
    namespaces: Iterable[int] = (0,),
    categories: Iterable[str] = (),
    full: bool = False,
    contact: str | None = None,
    delay: float = 0.0,
    max_retries: int = MAX_RETRIES,
    backoff: float = BACKOFF,
    timeout: float = TIMEOUT,
    deadline: float | None = None,
    batch_size: int = API_BATCH,
    overlap: int = SAFETY_OVERLAP,
    progress: Progress | None = None,
    credentials_from_env: bool = True,
    on_stop: Callable[[HarvestReport], None] | None = None,
) -> HarvestReport:
    """Harvest the wiki at ``url`` (any address of it) into ``store``.

    Incremental when the store holds a finished harvest of the same wiki and selection,
    full otherwise or when ``full``. An interrupted harvest of the same wiki and selection
    is resumed. ``categories`` restricts the harvest to members of those categories (named
    with or without prefix); ``namespaces`` to those namespaces. ``deadline``: seconds the
    whole harvest may take (None or 0: no limit); past it a HarvestError stops it, the store
    keeping what was fetched for the next run to go on from.

    When it stops on an exception (a KeyboardInterrupt too), ``on_stop`` is called first with
    what was done so far (requests sent, pages fetched…), for the runs history.
    """
    if not 1 <= batch_size <= 50:
        raise HarvestError(f"batch size {batch_size}: must be between 1 and 50")
    stats = RequestStats()
    try:
        wiki = connect(url, contact=contact, delay=delay, max_retries=max_retries,
                       backoff=backoff, timeout=timeout, deadline=deadline or None,
                       credentials_from_env=credentials_from_env, stats=stats)
    except BaseException:
        if on_stop is not None:
            on_stop(HarvestReport(
                source=url, mode="full", pages_fetched=0, pages_new=0, pages_changed=0,
                pages_unchanged=0, pages_deleted=0, requests=stats.requests))
        raise
    harvest = None
    try:
        harvest = LiveHarvest(wiki, store, namespaces, categories, batch_size, overlap,
                               progress)
        return harvest.run(full)
    except BaseException:
        if on_stop is not None:
            on_stop(_partial_report(wiki, harvest))
        raise
    finally:
        wiki.session.close()


def _partial_report(wiki: Wiki, harvest: LiveHarvest | None) -> HarvestReport:
    """What a harvest that stopped half-way had done."""
    state = harvest.state if harvest is not None and harvest.state else {}
    new, changed, unchanged = state.get("counts", [0, 0, 0])
    return HarvestReport(
        source=wiki.canonical_api, mode=state.get("mode", "full"),
        pages_fetched=state.get("fetched", 0), pages_new=new, pages_changed=changed,
        pages_unchanged=unchanged, pages_deleted=len(state.get("deleted", [])),
        requests=wiki.session.stats.requests, retries=wiki.session.stats.retries,
    )


