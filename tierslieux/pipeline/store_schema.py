"""The store's SQLite schema, how a store file is opened, and the records its rows become.

``open_database`` creates the tables of a new store and refuses a file of another schema
version (``SCHEMA_VERSION``): a store is harvested again rather than migrated.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tierslieux.errors import StoreError
from tierslieux.model.records import PageRevision, StoredPage

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


def title_key(title: str) -> str:
    """The MediaWiki form of a title used in addresses: spaces as underscores."""
    return title.strip().replace(" ", "_")


def open_database(path: Path) -> sqlite3.Connection:
    """The SQLite connection of a store file (created with its tables when new, in WAL mode,
    autocommit: the store opens its own transactions). StoreError for a file that is not a
    store of this schema version."""
    try:
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                       (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            db.close()
            raise StoreError(
                f"{path} has store schema {row[0]}, this tierslieux reads "
                f"{SCHEMA_VERSION}: harvest into a new store"
            )
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a tierslieux store: {exc}") from None
    return db


PAGE_SELECT = (
    "SELECT page_id, namespace, title, rev_id, parent_id, timestamp, sha1, contributor, "
    "text, redirect, comment, model, contributors, key, alt_titles FROM page"
)


def stored_page(row: tuple) -> StoredPage:
    """The record of a row of ``PAGE_SELECT``."""
    revision = PageRevision(*row[:12], contributors=tuple(json.loads(row[12])))
    return StoredPage(revision=revision, key=row[13], alt_titles=tuple(json.loads(row[14])))
