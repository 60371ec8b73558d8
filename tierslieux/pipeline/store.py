"""The SQLite store: the seam between harvesting and building.

One row per page holds its latest revision; a table of deleted pages and a record of each
harvest complete it. Harvesters write it in transactions (one per batch); the build only
reads it, so a build never touches the network.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tierslieux.errors import StoreError
from tierslieux.model.rdf import clean_text
from tierslieux.model.records import Issue, PageRevision, SiteInfo, StoredPage

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS page (
    page_id INTEGER PRIMARY KEY,
    namespace INTEGER NOT NULL,
    title TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    rev_id INTEGER NOT NULL,
    parent_id INTEGER,
    timestamp TEXT NOT NULL,
    sha1 TEXT,
    contributor TEXT,
    comment TEXT,
    model TEXT NOT NULL DEFAULT 'wikitext',
    text TEXT NOT NULL,
    redirect TEXT,
    contributors TEXT NOT NULL DEFAULT '[]',
    alt_titles TEXT NOT NULL DEFAULT '[]',
    harvest_id INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS page_title ON page (namespace, title);
CREATE INDEX IF NOT EXISTS page_rev ON page (rev_id);
CREATE TABLE IF NOT EXISTS deleted (
    page_id INTEGER PRIMARY KEY,
    namespace INTEGER NOT NULL,
    title TEXT NOT NULL,
    key TEXT NOT NULL,
    rev_id INTEGER,
    deleted_at TEXT,
    harvest_id INTEGER
);
CREATE TABLE IF NOT EXISTS problem (
    source TEXT NOT NULL,
    page_id INTEGER,
    title TEXT NOT NULL,
    field TEXT NOT NULL,
    original TEXT NOT NULL,
    kept TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS problem_page ON problem (source, page_id);
CREATE TABLE IF NOT EXISTS harvest (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    mode TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    checkpoint TEXT,
    stats TEXT NOT NULL DEFAULT '{}'
);
"""


@dataclass(frozen=True)
class UpsertCounts:
    """What an upsert did."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.new + other.new, self.changed + other.changed, self.unchanged + other.unchanged
        )


@dataclass(frozen=True)
class HarvestRecord:
    """One harvest as recorded in the store."""

    id: int
    source: str
    mode: str
    started: str
    finished: str | None
    status: str
    checkpoint: str | None
    stats: dict




def _fits(value: int | None) -> bool:
    """Whether SQLite's INTEGER (a signed 64-bit number) holds ``value``."""
    return isinstance(value, int) and -(1 << 63) <= value < (1 << 63)


#: source of the problems a store records for pages it keeps with a change (see upsert)
STORE_SOURCE = "store"


def title_key(title: str) -> str:
    """The MediaWiki form of a title used in addresses: spaces as underscores."""
    return title.strip().replace(" ", "_")


class Store:
    """A tierslieux store in one SQLite file.

    Use as a context manager, or call :meth:`close`. Writes happen inside
    :meth:`transaction`; each public write method opens one when none is open.
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise StoreError(f"no store at {self.path}: run 'tierslieux harvest' first")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            version = self._meta("schema_version")
            if version is None:
                self._set_meta("schema_version", str(SCHEMA_VERSION))
            elif int(version) != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has store schema {version}, this tierslieux reads "
                    f"{SCHEMA_VERSION}: harvest into a new store"
                )
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a tierslieux store: {exc}") from None
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
    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def get_meta(self, key: str) -> str | None:
        """A free-form value stored by a harvester (e.g. a continuation token)."""
        return self._meta("x:" + key)

    def set_meta(self, key: str, value: str | None) -> None:
        with self.transaction():
            if value is None:
                self.db.execute("DELETE FROM meta WHERE key = ?", ("x:" + key,))
            else:
                self._set_meta("x:" + key, value)

    @property
    def site_info(self) -> SiteInfo | None:
        raw = self._meta("site_info")
        if raw is None:
            return None
        data = json.loads(raw)
        data["namespaces"] = tuple(tuple(ns) for ns in data.get("namespaces", ()))
        return SiteInfo(**data)

    def set_site_info(self, info: SiteInfo) -> None:
        with self.transaction():
            self._set_meta("site_info", json.dumps(asdict(info), ensure_ascii=False, sort_keys=True))

    # ------------------------------------------------------------------ pages
    def upsert(self, revisions: Iterable[PageRevision], harvest_id: int | None = None) -> UpsertCounts:
        """Store the latest revision of each page; older or identical revisions change nothing."""
        new = changed = unchanged = 0
        with self.transaction():
            for rev in revisions:
                if not self._storable(rev):
                    continue
                rev = self._clean(rev)
                row = self.db.execute(
                    "SELECT rev_id, title, namespace, key, alt_titles, contributors "
                    "FROM page WHERE page_id = ?",
                    (rev.page_id,),
                ).fetchone()
                if row is None:
                    self._free_title(rev.namespace, rev.title, rev.page_id)
                    self.db.execute(
                        "INSERT INTO page (page_id, namespace, title, key, rev_id, parent_id, "
                        "timestamp, sha1, contributor, comment, model, text, redirect, "
                        "contributors, alt_titles, harvest_id) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?)",
                        (
                            rev.page_id, rev.namespace, rev.title,
                            self._new_key(rev.title, rev.page_id),
                            rev.rev_id, rev.parent_id, rev.timestamp, rev.sha1,
                            rev.contributor, rev.comment, rev.model, rev.text, rev.redirect,
                            json.dumps(sorted(set(rev.contributors)), ensure_ascii=False),
                            harvest_id,
                        ),
                    )
                    self.db.execute("DELETE FROM deleted WHERE page_id = ?", (rev.page_id,))
                    new += 1
                    continue
                old_rev, old_title, old_ns, _key, alt_raw, contrib_raw = row
                contributors = sorted(set(json.loads(contrib_raw)) | set(rev.contributors))
                moved = (old_title, old_ns) != (rev.title, rev.namespace)
                if rev.rev_id < old_rev or (rev.rev_id == old_rev and not moved
                                            and contributors == json.loads(contrib_raw)):
                    unchanged += 1
                    continue
                alt = json.loads(alt_raw)
                if moved:
                    self._free_title(rev.namespace, rev.title, rev.page_id)
                    if old_title not in alt:
                        alt.append(old_title)
                    if rev.title in alt:
                        alt.remove(rev.title)
                self.db.execute(
                    "UPDATE page SET namespace = ?, title = ?, rev_id = ?, parent_id = ?, "
                    "timestamp = ?, sha1 = ?, contributor = ?, comment = ?, model = ?, text = ?, "
                    "redirect = ?, contributors = ?, alt_titles = ?, harvest_id = ? "
                    "WHERE page_id = ?",
                    (
                        rev.namespace, rev.title, rev.rev_id, rev.parent_id, rev.timestamp,
                        rev.sha1, rev.contributor, rev.comment, rev.model, rev.text,
                        rev.redirect, json.dumps(contributors, ensure_ascii=False),
                        json.dumps(alt, ensure_ascii=False), harvest_id, rev.page_id,
                    ),
                )
                changed += 1
        return UpsertCounts(new, changed, unchanged)

    def _storable(self, rev: PageRevision) -> bool:
        """False (and a problem recorded) for a revision whose numbers SQLite cannot hold."""
        numbers = {"page id": rev.page_id, "namespace": rev.namespace, "revision id": rev.rev_id,
                   "parent revision id": rev.parent_id}
        wrong = [f"{name} {value}" for name, value in numbers.items()
                 if value is not None and not _fits(value)]
        if not wrong:
            other = self.db.execute("SELECT title FROM page WHERE rev_id = ? AND page_id != ?",
                                    (rev.rev_id, rev.page_id)).fetchone()
            if other is None:
                return True
            # one revision cannot belong to two pages (its IRI would describe both)
            self._add_problem(STORE_SOURCE, None, rev.title, "page", f"revision id {rev.rev_id}",
                              "", f"revision id already held by page {other[0]!r}: "
                              "page not stored")
            return False
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

    def problems(self) -> list[Issue]:
        """What harvests could not store as delivered, as warnings about pages."""
        rows = self.db.execute(
            "SELECT DISTINCT title, field, original, kept, message FROM problem "
            "ORDER BY title, field, original, kept, message")
        return [Issue(title, "warning", field, original, kept, message)
                for title, field, original, kept, message in rows]

    def _new_key(self, title: str, page_id: int) -> str:
        key = title_key(title)
        taken = self.db.execute(
            "SELECT 1 FROM page WHERE key = ? AND page_id != ?", (key, page_id)
        ).fetchone()
        # A moved page keeps its key; a new page created at its old title gets a
        # distinct, still deterministic key.
        return f"{key}~{page_id}" if taken else key

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

    def page_id_of(self, namespace: int, title: str) -> int | None:
        row = self.db.execute(
            "SELECT page_id FROM page WHERE namespace = ? AND title = ?", (namespace, title)
        ).fetchone()
        return row[0] if row else None

    def title_of(self, page_id: int) -> tuple[int, str] | None:
        """(namespace, title) of a stored page, without reading its text."""
        row = self.db.execute(
            "SELECT namespace, title FROM page WHERE page_id = ?", (page_id,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def revision_ids(self) -> dict[int, int]:
        """page id -> stored revision id, for comparing a full listing with the store."""
        return dict(self.db.execute("SELECT page_id, rev_id FROM page"))

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM page").fetchone()[0]

    def newest_timestamp(self, namespaces: Iterable[int] | None = None) -> str:
        """The newest stored revision timestamp ("" for an empty store)."""
        if namespaces is None:
            row = self.db.execute("SELECT MAX(timestamp) FROM page").fetchone()
        else:
            ns = sorted(set(namespaces))
            row = self.db.execute(
                f"SELECT MAX(timestamp) FROM page WHERE namespace IN ({','.join('?' * len(ns))})",
                ns,
            ).fetchone()
        return row[0] or ""

    def get(self, page_id: int) -> StoredPage | None:
        row = self.db.execute(_SELECT + " WHERE page_id = ?", (page_id,)).fetchone()
        return _stored(row) if row else None

    def pages(self, namespaces: Iterable[int] | None = None) -> Iterator[StoredPage]:
        """Every stored page, in key order (so that builds are deterministic)."""
        if namespaces is None:
            cursor = self.db.execute(_SELECT + " ORDER BY key")
        else:
            ns = sorted(set(namespaces))
            marks = ",".join("?" * len(ns))
            cursor = self.db.execute(
                _SELECT + f" WHERE namespace IN ({marks}) ORDER BY key", ns
            )
        for row in cursor:
            yield _stored(row)

    def deleted(self) -> list[dict]:
        """Pages deleted on the wiki and removed from the store, by title."""
        cols = ("page_id", "namespace", "title", "key", "rev_id", "deleted_at", "harvest_id")
        return [
            dict(zip(cols, row))
            for row in self.db.execute(f"SELECT {', '.join(cols)} FROM deleted ORDER BY title")
        ]

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

    def harvests(self) -> list[HarvestRecord]:
        return [
            HarvestRecord(*row[:7], json.loads(row[7]))
            for row in self.db.execute(
                "SELECT id, source, mode, started, finished, status, checkpoint, stats "
                "FROM harvest ORDER BY id"
            )
        ]

    def last_harvest(self, source: str | None = None, status: str = "done") -> HarvestRecord | None:
        for record in reversed(self.harvests()):
            if record.status == status and (source is None or record.source == source):
                return record
        return None


_SELECT = (
    "SELECT page_id, namespace, title, rev_id, parent_id, timestamp, sha1, contributor, "
    "text, redirect, comment, model, contributors, key, alt_titles FROM page"
)


def _stored(row: tuple) -> StoredPage:
    revision = PageRevision(*row[:12], contributors=tuple(json.loads(row[12])))
    return StoredPage(revision=revision, key=row[13], alt_titles=tuple(json.loads(row[14])))
