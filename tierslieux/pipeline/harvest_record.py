"""What a harvest did, and the bookkeeping both harvests share.

What a harvest did and the bookkeeping both harvests share: the report, the clock,
batches, the check that a store holds one wiki."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from typing import TypeVar

from tierslieux.errors import StoreError
from tierslieux.model.records import SiteInfo
from tierslieux.pipeline.store import Store

__all__ = ["HarvestReport", "Progress", "now_utc", "chunks", "check_same_wiki"]

T = TypeVar("T")

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
    #: HTTP retries after 429/5xx/timeouts/connection errors, and waits for maxlag
    retries: int = 0
    #: the wiki's clock at the start of the harvest: the next incremental run starts there
    checkpoint: str | None = None
    #: the pages the source could not give (reported by the build) are not those of the last
    #: harvest: the release must be rebuilt to say so
    problems_changed: bool = False

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
            "retries": self.retries,
            "checkpoint": self.checkpoint,
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
