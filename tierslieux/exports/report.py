"""report.json and SHA256SUMS: the last two files of a release."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierslieux import __version__
from tierslieux.exports.diff import DIFF_ADDED, DIFF_REMOVED, REPORT_LIST_LIMIT, ReleaseDiff

if TYPE_CHECKING:
    from tierslieux.exports.catalog import GraphStats
    from tierslieux.exports.release import ReleaseMeta
    from tierslieux.exports.tablepieces import TableSummary


def release_report(meta: ReleaseMeta, stats: GraphStats, diff: ReleaseDiff,
                   tables: Sequence[TableSummary], warnings: Sequence[str],
                   validators: Sequence[str], staging: Path, files: Sequence[str]
                   ) -> dict[str, Any]:
    """What report.json says (the only file with the run's clock times)."""
    def cut(kind: str) -> dict[str, Any]:
        items = diff.entities(kind)
        count = diff.count(kind)
        entry: dict[str, Any] = {"count": count, "iris": list(items[:REPORT_LIST_LIMIT])}
        if count > REPORT_LIST_LIMIT:
            entry["truncated"] = True
        return entry

    if diff.previous_triples is None:
        diff_entry: dict[str, Any] = {"previous_release": False}
    else:
        diff_entry = {
            "previous_release": True,
            "previous_triples": diff.previous_triples,
            "triples_added": diff.triples_added,
            "triples_removed": diff.triples_removed,
            "entities_added": cut("added"),
            "entities_removed": cut("removed"),
            "entities_modified": cut("modified"),
        }
    diff_entry["files"] = [DIFF_ADDED, DIFF_REMOVED]
    issues = sorted(
        meta.issues, key=lambda i: (i.page_title, i.field, i.severity, i.message, i.original)
    )
    severities = ("error", "warning", "info")
    return {
        "tool": {"name": "tierslieux", "version": __version__},
        "run": {
            "started": meta.started,
            "finished": meta.finished or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "wiki": {"sitename": meta.sitename, "address": meta.source_url},
        "newest_revision": meta.newest_revision or stats.newest_modified,
        "pages": meta.counts.as_report(),
        "graph": {
            "triples": stats.triples,
            "entities": stats.entities,
            "distinct_subjects": stats.distinct_subjects,
            "classes": dict(stats.classes),
        },
        "tables": {
            t.spec.file: {"rows": t.rows, "neutralised_cells": t.neutralised} for t in tables
        },
        "files": {name: (staging / name).stat().st_size for name in files},
        "validation": list(validators),
        "diff": diff_entry,
        "warnings": list(warnings),
        "issues": {
            "count": {s: sum(1 for i in issues if i.severity == s)
                      + (meta.info_issues if s == "info" else 0) for s in severities},
            "list": [asdict(i) for i in issues if i.severity != "info"],
        },
    }


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, in hexadecimal."""
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def release_files(folder: Path) -> list[str]:
    """Every file of a release folder (sub-folders such as ``site/`` included), as sorted
    ``/``-separated paths, but SHA256SUMS and report.json (one ``scandir`` a folder: a site
    is a hundred thousand files and more)."""
    found: list[str] = []
    _files(str(folder), "", found)
    return sorted(name for name in found if name not in ("SHA256SUMS", "report.json"))


def _files(path: str, prefix: str, found: list[str]) -> None:
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                _files(entry.path, f"{prefix}{entry.name}/", found)
            elif entry.is_file():
                found.append(prefix + entry.name)


def sums_line(digest: str, name: str) -> str:
    """One line of SHA256SUMS as GNU ``sha256sum`` writes it (a name holding a backslash or a
    line break is escaped, and the line starts with a backslash)."""
    if "\\" in name or "\n" in name or "\r" in name:
        escaped = name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return f"\\{digest}  {escaped}\n"
    return f"{digest}  {name}\n"


def write_sums(folder: Path, known: Mapping[str, str] | None = None) -> None:
    """``SHA256SUMS`` of every file of ``folder`` (and of its sub-folders) but itself and
    report.json; ``known`` gives the SHA-256 of files hashed while they were written (they are
    not read again)."""
    known = known or {}
    text = "".join(sums_line(known.get(name) or sha256_file(folder / name), name)
                   for name in release_files(folder))
    (folder / "SHA256SUMS").write_text(text, encoding="utf-8", newline="\n")
