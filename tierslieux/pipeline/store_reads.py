"""The read queries of the store: pages, deleted pages, problems, harvests, metadata.

``StoreReads`` is the half of ``store.Store`` that never writes: what the build, the survey
and an incremental harvest ask of a store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator

from tierslieux.model.records import Issue, SiteInfo, StoredPage
from tierslieux.pipeline.store_schema import PAGE_SELECT, HarvestRecord, stored_page


class StoreReads:
    """Read queries over the SQLite connection ``db`` of a store."""

    db: sqlite3.Connection

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def get_meta(self, key: str) -> str | None:
        """A free-form value stored by a harvester (e.g. a continuation token)."""
        return self._meta("x:" + key)

    @property
    def site_info(self) -> SiteInfo | None:
        raw = self._meta("site_info")
        if raw is None:
            return None
        data = json.loads(raw)
        data["namespaces"] = tuple(tuple(ns) for ns in data.get("namespaces", ()))
        return SiteInfo(**data)

    def problems(self) -> list[Issue]:
        """What harvests could not store as delivered, as warnings about pages."""
        rows = self.db.execute(
            "SELECT DISTINCT title, field, original, kept, message FROM problem "
            "ORDER BY title, field, original, kept, message")
        return [Issue(title, "warning", field, original, kept, message)
                for title, field, original, kept, message in rows]

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
        row = self.db.execute(PAGE_SELECT + " WHERE page_id = ?", (page_id,)).fetchone()
        return stored_page(row) if row else None

    def pages(self, namespaces: Iterable[int] | None = None) -> Iterator[StoredPage]:
        """Every stored page, in key order (so that builds are deterministic)."""
        if namespaces is None:
            cursor = self.db.execute(PAGE_SELECT + " ORDER BY key")
        else:
            ns = sorted(set(namespaces))
            marks = ",".join("?" * len(ns))
            cursor = self.db.execute(
                PAGE_SELECT + f" WHERE namespace IN ({marks}) ORDER BY key", ns
            )
        for row in cursor:
            yield stored_page(row)

    def deleted(self) -> list[dict]:
        """Pages deleted on the wiki and removed from the store, by title."""
        cols = ("page_id", "namespace", "title", "key", "rev_id", "deleted_at", "harvest_id")
        return [
            dict(zip(cols, row))
            for row in self.db.execute(f"SELECT {', '.join(cols)} FROM deleted ORDER BY title")
        ]

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
