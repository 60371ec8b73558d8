"""The store's upsert rules, in one place: what storing one revision does to the pages held.

A store keeps one row per page, its latest revision. Storing a revision:

- is refused (a problem recorded) when another page holds its revision id: one revision
  cannot belong to two pages (its IRI would describe both);
- for a page not held yet: frees its title (another page still holding it is stale, e.g. a
  page moved over a redirect whose deletion was not seen) and gives it the key of its title,
  or ``key~page_id`` when another page holds that key (a page created at a moved page's old
  title); its contributors sorted, no earlier title;
- for a page held: changes nothing when the revision is older, or the same with the same
  title and contributors (``merge``); otherwise the page keeps its key, gains the
  contributors, and a move frees the new title and keeps the old one as an earlier title.

``Store.upsert`` (store.py, over SQLite) and the store-less build's replay of a dump
(``runner/partitions.py``, over dictionaries) both run :meth:`PageTable.upsert`, which applies
these rules through a handful of primitive reads and writes each of them implements, so the
two cannot drift apart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum

from tierslieux.model.iri import clean_text
from tierslieux.model.records import Issue, PageRevision
from tierslieux.pipeline.store_schema import title_key


class Upserted(Enum):
    """What storing one revision did."""

    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


@dataclass(frozen=True)
class Held:
    """What the upsert reads of a page already held."""

    rev_id: int
    namespace: int
    title: str
    alt: tuple[str, ...]
    contributors: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    """What storing a revision of a held page writes besides the revision."""

    contributors: tuple[str, ...]
    alt: tuple[str, ...]
    #: the title or namespace changed: the new title is freed first
    moved: bool


def merge(rev: PageRevision, held: Held) -> Change | None:
    """The change ``rev`` makes to the held page, or None when it changes nothing."""
    contributors = tuple(sorted(set(held.contributors) | set(rev.contributors)))
    moved = (held.title, held.namespace) != (rev.title, rev.namespace)
    if rev.rev_id < held.rev_id or (rev.rev_id == held.rev_id and not moved
                                    and contributors == held.contributors):
        return None
    alt = list(held.alt)
    if moved:
        if held.title not in alt:
            alt.append(held.title)
        if rev.title in alt:
            alt.remove(rev.title)
    return Change(contributors, tuple(alt), moved)


def clash_issue(rev: PageRevision, holder_title: str) -> Issue:
    """The problem of a revision whose id another page (titled ``holder_title``) holds."""
    return Issue(clean_text(rev.title)[0], "warning", "page", f"revision id {rev.rev_id}", "",
                 f"revision id already held by page {holder_title!r}: page not stored")


class PageTable(ABC):
    """Pages held one row per page; :meth:`upsert` is the rules, the rest its primitives."""

    def upsert(self, rev: PageRevision) -> Upserted:
        """Store ``rev`` if it is its page's latest revision (the module's rules)."""
        holder = self.rev_holder(rev.rev_id, rev.page_id)
        if holder is not None:
            self.refuse(clash_issue(rev, holder))
            return Upserted.REFUSED
        rev = self.clean(rev)
        held = self.held(rev.page_id)
        if held is None:
            self.free_title(rev.namespace, rev.title, rev.page_id)
            key = title_key(rev.title)
            if self.key_taken(key, rev.page_id):  # e.g. a new page at a moved page's title
                key = f"{key}~{rev.page_id}"
            self.insert(rev, key, tuple(sorted(set(rev.contributors))))
            return Upserted.NEW
        change = merge(rev, held)
        if change is None:
            return Upserted.UNCHANGED
        if change.moved:
            self.free_title(rev.namespace, rev.title, rev.page_id)
        self.update(rev, held, change)
        return Upserted.CHANGED

    def clean(self, rev: PageRevision) -> PageRevision:
        """The revision as the table can hold it (the store: without lone surrogates)."""
        return rev

    @abstractmethod
    def rev_holder(self, rev_id: int, page_id: int) -> str | None:
        """The title of another page than ``page_id`` holding revision ``rev_id``, if any."""

    @abstractmethod
    def refuse(self, issue: Issue) -> None:
        """Record the problem of a revision not stored."""

    @abstractmethod
    def held(self, page_id: int) -> Held | None:
        """The page ``page_id`` as held, None when it is not."""

    @abstractmethod
    def free_title(self, namespace: int, title: str, page_id: int) -> None:
        """Delete any other page than ``page_id`` holding ``title`` in ``namespace``."""

    @abstractmethod
    def key_taken(self, key: str, page_id: int) -> bool:
        """Whether another page than ``page_id`` holds ``key``."""

    @abstractmethod
    def insert(self, rev: PageRevision, key: str, contributors: tuple[str, ...]) -> None:
        """Hold a new page (no earlier title)."""

    @abstractmethod
    def update(self, rev: PageRevision, held: Held, change: Change) -> None:
        """Replace a held page's revision (it keeps its key)."""
