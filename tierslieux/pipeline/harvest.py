"""Harvest a wiki into the store: from an XML export, or from a live MediaWiki API.

Both paths write the store in one transaction per batch, so an interrupted harvest leaves a
consistent store and the same command finishes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import TypeVar

from tierslieux.errors import StoreError
from tierslieux.pipeline.dump import read_dump, read_site_info
from tierslieux.pipeline.records import PageRevision, SiteInfo
from tierslieux.pipeline.store import Store, UpsertCounts

T = TypeVar("T")

#: pages per store transaction when importing a dump
DUMP_BATCH = 500

#: called with (pages done, total or None) after each batch
Progress = Callable[[int, "int | None"], None]


@dataclass(frozen=True)
class HarvestReport:
    """What one harvest did; it also goes into the store's harvest record and report.json."""

    source: str
    mode: str
    pages_fetched: int
    pages_new: int
    pages_changed: int
    pages_unchanged: int
    pages_deleted: int
    deleted_titles: tuple[str, ...] = ()
    moved: tuple[tuple[str, str], ...] = ()
    requests: int = 0
    notes: tuple[str, ...] = field(default=())

    def stats(self) -> dict:
        return {
            "pages_fetched": self.pages_fetched,
            "pages_new": self.pages_new,
            "pages_changed": self.pages_changed,
            "pages_unchanged": self.pages_unchanged,
            "pages_deleted": self.pages_deleted,
            "deleted_titles": list(self.deleted_titles),
            "moved": [list(m) for m in self.moved],
            "requests": self.requests,
            "notes": list(self.notes),
        }


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Successive lists of at most ``size`` items (the sink batches, the source streams)."""
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def check_same_wiki(store: Store, site: SiteInfo) -> None:
    """Refuse to mix two wikis in one store."""
    known = store.site_info
    if known is None:
        return
    if known.article_path and site.article_path and known.article_path != site.article_path:
        raise StoreError(
            f"{store.path} holds a harvest of {known.article_path.replace('$1', '')}, "
            f"not of {site.article_path.replace('$1', '')}: use another --store"
        )


def harvest_dump(
    dump: str | Path,
    store: Store,
    *,
    namespaces: Iterable[int] | None = None,
    progress: Progress | None = None,
) -> HarvestReport:
    """Import an XML export into the store.

    An export is taken as a full snapshot of the chosen namespaces: stored pages of those
    namespaces that it no longer contains are recorded as deleted.
    """
    dump = Path(dump)
    site = read_site_info(dump)
    check_same_wiki(store, site)
    if site.article_path or store.site_info is None:
        store.set_site_info(site)
    wanted = None if namespaces is None else set(namespaces)
    source = f"dump:{dump.name}"
    harvest_id = store.begin_harvest(source, "dump", now_utc())
    counts = UpsertCounts()
    seen: set[int] = set()
    fetched = 0

    def selected() -> Iterator[PageRevision]:
        for rev in read_dump(dump):
            if wanted is None or rev.namespace in wanted:
                yield rev

    for batch in chunks(selected(), DUMP_BATCH):
        with store.transaction():
            counts += store.upsert(batch, harvest_id)
        seen.update(rev.page_id for rev in batch)
        fetched += len(batch)
        if progress:
            progress(fetched, None)

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
    )
    store.finish_harvest(harvest_id, finished=now_utc(), stats=report.stats())
    return report
