"""The SQLite store: the seam between harvesting and building.

One row per page holds its latest revision; a table of deleted pages and a record of each
harvest complete it. Harvesters write it in transactions (one per batch); the build only
reads it, so a build never touches the network.

This module holds the writes (pages, moves, deletions, problems, harvests); the reads are
``store_reads.py``, the schema and the records ``store_schema.py``, the rules of the upsert
``upsert.py`` (applied here to the ``page`` table by ``_SqlPages``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path

from tierslieux.errors import StoreError
from tierslieux.model.iri import clean_text
from tierslieux.model.records import Issue, PageRevision, SiteInfo
from tierslieux.pipeline.store_reads import StoreReads
from tierslieux.pipeline.store_schema import (  # re-exported: the store's records
    HarvestRecord,
    UpsertCounts,
    open_database,
    title_key,
)
from tierslieux.pipeline.upsert import Change, Held, PageTable, Upserted

__all__ = ["HarvestRecord", "STORE_SOURCE", "Store", "UpsertCounts", "title_key"]


def _fits(value: int | None) -> bool:
    """Whether SQLite's INTEGER (a signed 64-bit number) holds ``value``."""
    return isinstance(value, int) and -(1 << 63) <= value < (1 << 63)


#: source of the problems a store records for pages it keeps with a change (see upsert)
STORE_SOURCE = "store"


class Store(StoreReads):
    """A tierslieux store in one SQLite file: its writes here, its reads in ``StoreReads``
    (store_reads.py), its schema in store_schema.py.

    Use as a context manager, or call :meth:`close`. Writes happen inside
    :meth:`transaction`; each public write method opens one when none is open.
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise StoreError(f"no store at {self.path}: run 'tierslieux harvest' first")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = open_database(self.path)
        self._depth = 0

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside are committed together, or not at all."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._depth = 0

    # ------------------------------------------------------------------ metadata
    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def set_meta(self, key: str, value: str | None) -> None:
        with self.transaction():
            if value is None:
                self.db.execute("DELETE FROM meta WHERE key = ?", ("x:" + key,))
            else:
                self._set_meta("x:" + key, value)

    def set_site_info(self, info: SiteInfo) -> None:
        with self.transaction():
            self._set_meta("site_info", json.dumps(asdict(info), ensure_ascii=False, sort_keys=True))

    # ------------------------------------------------------------------ pages
    def upsert(self, revisions: Iterable[PageRevision], harvest_id: int | None = None) -> UpsertCounts:
        """Store the latest revision of each page; older or identical revisions change nothing
        (the rules: ``upsert.py``)."""
        table = _SqlPages(self, harvest_id)
        done = {outcome: 0 for outcome in Upserted}
        with self.transaction():
            for rev in revisions:
                if self._in_range(rev):
                    done[table.upsert(rev)] += 1
        return UpsertCounts(done[Upserted.NEW], done[Upserted.CHANGED],
                            done[Upserted.UNCHANGED])

    def _in_range(self, rev: PageRevision) -> bool:
        """False (and a problem recorded) for a revision whose numbers SQLite cannot hold."""
        numbers = {"page id": rev.page_id, "namespace": rev.namespace, "revision id": rev.rev_id,
                   "parent revision id": rev.parent_id}
        wrong = [f"{name} {value}" for name, value in numbers.items()
                 if value is not None and not _fits(value)]
        if not wrong:
            return True
        self._add_problem(STORE_SOURCE, None, rev.title, "page", ", ".join(wrong), "",
                          "number out of range (more than 64 bits): page not stored")
        return False

    def _clean(self, rev: PageRevision) -> PageRevision:
        """The revision without lone surrogates (SQLite, like every output, stores UTF-8);
        a problem recorded for the page when it had some, cleared when it has none."""
        self.db.execute("DELETE FROM problem WHERE source = ? AND page_id = ?",
                        (STORE_SOURCE, rev.page_id))
        changes: dict = {}
        texts = {"title": rev.title, "text": rev.text, "redirect": rev.redirect,
                 "contributor": rev.contributor, "comment": rev.comment, "sha1": rev.sha1,
                 "timestamp": rev.timestamp, "model": rev.model}
        for name, value in texts.items():
            if value is not None and clean_text(value)[1]:
                changes[name] = clean_text(value)[0]
        contributors = tuple(clean_text(c)[0] for c in rev.contributors)
        if contributors != rev.contributors:
            changes["contributors"] = contributors
        if not changes:
            return rev
        rev = replace(rev, **changes)
        self._add_problem(STORE_SOURCE, rev.page_id, rev.title, "page", "", "",
                          "lone surrogate(s) (no valid character) replaced by U+FFFD in "
                          + ", ".join(sorted(changes)))
        return rev

    def _add_problem(self, source: str, page_id: int | None, title: str, field: str,
                     original: str, kept: str, message: str) -> None:
        self.db.execute(
            "INSERT INTO problem (source, page_id, title, field, original, kept, message) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (source, page_id if _fits(page_id) else None, clean_text(title)[0], field,
             clean_text(original)[0], clean_text(kept)[0], message))

    def replace_problems(self, source: str, issues: Iterable[Issue]) -> bool:
        """Replace the problems a harvest of ``source`` found (e.g. pages a dump could not
        give): the build reports them in report.json and quality.csv. True when they differ
        from the ones they replace."""
        query = ("SELECT title, field, original, kept, message FROM problem WHERE source = ? "
                 "ORDER BY 1, 2, 3, 4, 5")
        with self.transaction():
            before = self.db.execute(query, (source,)).fetchall()
            self.db.execute("DELETE FROM problem WHERE source = ?", (source,))
            for issue in issues:
                self._add_problem(source, None, issue.page_title, issue.field, issue.original,
                                  issue.kept, issue.message)
            return self.db.execute(query, (source,)).fetchall() != before

    def _free_title(self, namespace: int, title: str, page_id: int) -> None:
        """Another page may still hold this title in the store (e.g. a page moved over a
        redirect whose deletion was not seen yet): that other row is stale."""
        for (other,) in self.db.execute(
            "SELECT page_id FROM page WHERE namespace = ? AND title = ? AND page_id != ?",
            (namespace, title, page_id),
        ).fetchall():
            self.delete(other)

    def move(self, page_id: int, namespace: int, new_title: str) -> bool:
        """Record a move: the page keeps its key, the old title becomes an alternative."""
        with self.transaction():
            row = self.db.execute(
                "SELECT title, namespace, alt_titles FROM page WHERE page_id = ?", (page_id,)
            ).fetchone()
            if row is None:
                return False
            old_title, old_ns, alt_raw = row
            if (old_title, old_ns) == (new_title, namespace):
                return False
            self._free_title(namespace, new_title, page_id)
            alt = [t for t in json.loads(alt_raw) if t != new_title]
            if old_title not in alt:
                alt.append(old_title)
            self.db.execute(
                "UPDATE page SET title = ?, namespace = ?, alt_titles = ? WHERE page_id = ?",
                (new_title, namespace, json.dumps(alt, ensure_ascii=False), page_id),
            )
            return True

    def delete(self, page_id: int, *, deleted_at: str | None = None,
               harvest_id: int | None = None) -> bool:
        """Remove a page; it is remembered in the ``deleted`` table."""
        with self.transaction():
            row = self.db.execute(
                "SELECT namespace, title, key, rev_id FROM page WHERE page_id = ?", (page_id,)
            ).fetchone()
            if row is None:
                return False
            self.db.execute(
                "INSERT OR REPLACE INTO deleted (page_id, namespace, title, key, rev_id, "
                "deleted_at, harvest_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (page_id, *row, deleted_at, harvest_id),
            )
            self.db.execute("DELETE FROM page WHERE page_id = ?", (page_id,))
            self.db.execute("DELETE FROM problem WHERE source = ? AND page_id = ?",
                            (STORE_SOURCE, page_id))
            return True

    # ------------------------------------------------------------------ harvests
    def begin_harvest(self, source: str, mode: str, started: str) -> int:
        with self.transaction():
            # revisions not stored by the last harvest are reported until the next one
            self.db.execute("DELETE FROM problem WHERE source = ? AND page_id IS NULL",
                            (STORE_SOURCE,))
            cur = self.db.execute(
                "INSERT INTO harvest (source, mode, started) VALUES (?, ?, ?)",
                (source, mode, started),
            )
            return int(cur.lastrowid)

    def finish_harvest(self, harvest_id: int, *, finished: str, status: str = "done",
                       checkpoint: str | None = None, stats: dict | None = None) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE harvest SET finished = ?, status = ?, checkpoint = ?, stats = ? "
                "WHERE id = ?",
                (finished, status, checkpoint,
                 json.dumps(stats or {}, sort_keys=True, ensure_ascii=False), harvest_id),
            )





class _SqlPages(PageTable):
    """The upsert rules' primitives over a store's ``page`` table (inside its transaction)."""

    def __init__(self, store: Store, harvest_id: int | None) -> None:
        self.store, self.db, self.harvest_id = store, store.db, harvest_id

    def rev_holder(self, rev_id: int, page_id: int) -> str | None:
        other = self.db.execute("SELECT title FROM page WHERE rev_id = ? AND page_id != ?",
                                (rev_id, page_id)).fetchone()
        return None if other is None else other[0]

    def refuse(self, issue: Issue) -> None:
        self.store._add_problem(STORE_SOURCE, None, issue.page_title, issue.field,
                                issue.original, issue.kept, issue.message)

    def clean(self, rev: PageRevision) -> PageRevision:
        return self.store._clean(rev)

    def held(self, page_id: int) -> Held | None:
        row = self.db.execute("SELECT rev_id, namespace, title, alt_titles, contributors "
                              "FROM page WHERE page_id = ?", (page_id,)).fetchone()
        if row is None:
            return None
        rev_id, namespace, title, alt, contributors = row
        return Held(rev_id, namespace, title, tuple(json.loads(alt)),
                    tuple(json.loads(contributors)))

    def free_title(self, namespace: int, title: str, page_id: int) -> None:
        self.store._free_title(namespace, title, page_id)

    def key_taken(self, key: str, page_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM page WHERE key = ? AND page_id != ?",
                               (key, page_id)).fetchone() is not None

    def insert(self, rev: PageRevision, key: str, contributors: tuple[str, ...]) -> None:
        self.db.execute(
            "INSERT INTO page (page_id, namespace, title, key, rev_id, parent_id, "
            "timestamp, sha1, contributor, comment, model, text, redirect, "
            "contributors, alt_titles, harvest_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?)",
            (rev.page_id, rev.namespace, rev.title, key, rev.rev_id, rev.parent_id,
             rev.timestamp, rev.sha1, rev.contributor, rev.comment, rev.model, rev.text,
             rev.redirect, json.dumps(list(contributors), ensure_ascii=False),
             self.harvest_id))
        self.db.execute("DELETE FROM deleted WHERE page_id = ?", (rev.page_id,))

    def update(self, rev: PageRevision, held: Held, change: Change) -> None:
        self.db.execute(
            "UPDATE page SET namespace = ?, title = ?, rev_id = ?, parent_id = ?, "
            "timestamp = ?, sha1 = ?, contributor = ?, comment = ?, model = ?, text = ?, "
            "redirect = ?, contributors = ?, alt_titles = ?, harvest_id = ? "
            "WHERE page_id = ?",
            (rev.namespace, rev.title, rev.rev_id, rev.parent_id, rev.timestamp, rev.sha1,
             rev.contributor, rev.comment, rev.model, rev.text, rev.redirect,
             json.dumps(list(change.contributors), ensure_ascii=False),
             json.dumps(list(change.alt), ensure_ascii=False), self.harvest_id, rev.page_id))
