"""The rows of a store file as SQLite holds them, read without the store's code (tests)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def page_rows(path: Path) -> tuple[list[tuple], list[tuple]]:
    """Every row of the page and deleted tables, as stored."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        pages = db.execute("SELECT * FROM page ORDER BY page_id").fetchall()
        deleted = db.execute("SELECT * FROM deleted ORDER BY page_id").fetchall()
    finally:
        db.close()
    return pages, deleted


def content_rows(path: Path) -> list[tuple]:
    """The page rows without the columns that record how the store learnt them."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute(
            "SELECT page_id, namespace, title, rev_id, parent_id, timestamp, sha1, contributor, "
            "comment, model, text, redirect, contributors FROM page ORDER BY page_id"
        ).fetchall()
    finally:
        db.close()
