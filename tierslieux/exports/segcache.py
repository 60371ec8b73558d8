"""The cache of rendered segments (segments.py): one entry per segment, stream and setup.

An entry is a folder named ``<segment digest>-<setup digest>-<stream>`` (the setup digest covers
what changes the rendering: tierslieux's version, the segment sizes, the prefixes, the JSON-LD
context, the base IRI; the stream is ``subjects`` or ``lines``, segcut.py) holding one file per
part and ``entry.json``: the SHA-256 and size of every part, the segment's statistics (subject
segments) and triple count, and its parse-back verdict. It is written
in a temporary folder renamed into place, so a reader sees a whole entry or none; an entry
whose parts no longer have their SHA-256 (a damaged disk, a hand edit) is ignored with a
warning, and the segment rendered again.

After a release is published, ``prune`` removes the entries used by neither it nor the release
before it (a failed build then leaves the next one as fast as it would have been).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierslieux.exports.catalog import GraphStats

if TYPE_CHECKING:
    from tierslieux.exports.segments import Rendered

log = logging.getLogger(__name__)

ENTRY_FILE = "entry.json"
#: the segment digests of the last published release, and of the one before
USED_FILES = ("used-current.txt", "used-previous.txt")


def setup_digest(version: str, sizes: Any, prefixes: Mapping[str, str],
                 context: Mapping[str, Any], base_iri: str) -> str:
    text = json.dumps([version, sizes, sorted(prefixes.items()), context, base_iri],
                      ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class SegmentCache:
    """A folder of rendered segments for one rendering setup."""

    def __init__(self, folder: Path, setup: str) -> None:
        self.folder = folder
        self.setup = setup
        #: the (stream, segment digest) the release being written uses
        self.used: set[tuple[str, str]] = set()
        folder.mkdir(parents=True, exist_ok=True)

    def _entry(self, stream: str, digest: str) -> Path:
        return self.folder / f"{digest}-{self.setup}-{stream}"

    def holds(self, stream: str, digest: str) -> bool:
        """Whether there is an entry for the segment (``get`` may still find it damaged)."""
        return (self._entry(stream, digest) / ENTRY_FILE).is_file()

    def get(self, stream: str, digest: str) -> Rendered | None:
        """The entry of a segment, None when there is none or it is damaged (logged)."""
        from tierslieux.exports.segments import Rendered, stream_parts

        entry = self._entry(stream, digest)
        try:
            meta = json.loads((entry / ENTRY_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            return self._damaged(entry, f"{ENTRY_FILE} unreadable ({exc})")
        try:
            parts, sums = {}, {}
            for name in stream_parts(stream):
                size, sha = meta["parts"][name]
                data = (entry / name).read_bytes()
                if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
                    return self._damaged(entry, f"part {name} does not match its SHA-256")
                parts[name], sums[name] = data, sha
            stats = meta["stats"]
            rendered = Rendered(
                stream=stream, digest=digest, triples=int(meta["triples"]), parts=parts,
                stats=None if stats is None else GraphStats(
                    triples=stats["triples"], distinct_subjects=stats["distinct_subjects"],
                    entities=stats["entities"],
                    classes=tuple((k, v) for k, v in stats["classes"]),
                    properties=tuple((k, v) for k, v in stats["properties"]),
                    newest_modified=stats["newest_modified"], oldest_date=stats["oldest_date"]),
                problems=tuple(meta["problems"]), sums=sums,
            )
        except (OSError, KeyError, TypeError, ValueError) as exc:
            return self._damaged(entry, f"{type(exc).__name__}: {exc}")
        return rendered

    def _damaged(self, entry: Path, why: str) -> None:
        log.warning("segment cache entry %s is damaged (%s): rendered again", entry.name, why)
        shutil.rmtree(entry, ignore_errors=True)

    def put(self, rendered: Rendered) -> None:
        """Keep a rendered segment (a segment whose parse-back failed is not kept)."""
        if rendered.problems:
            return
        entry = self._entry(rendered.stream, rendered.digest)
        if (entry / ENTRY_FILE).is_file():
            return
        tmp = self.folder / f".tmp-{os.getpid()}-{entry.name}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        parts = {}
        for name, data in rendered.parts.items():
            (tmp / name).write_bytes(data)
            parts[name] = [len(data), rendered.sums.get(name)
                           or hashlib.sha256(data).hexdigest()]
        stats = rendered.stats
        meta = {
            "triples": rendered.triples, "parts": parts, "problems": list(rendered.problems),
            "stats": None if stats is None else {
                "triples": stats.triples, "distinct_subjects": stats.distinct_subjects,
                "entities": stats.entities, "classes": [list(c) for c in stats.classes],
                "properties": [list(p) for p in stats.properties],
                "newest_modified": stats.newest_modified, "oldest_date": stats.oldest_date,
            },
        }
        (tmp / ENTRY_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        try:
            os.rename(tmp, entry)
        except OSError:  # another worker kept the same segment first
            shutil.rmtree(tmp, ignore_errors=True)

    def prune(self) -> int:
        """After publication: remember the entries this release used, and remove those that
        neither it nor the previous release used; return how many were removed."""
        current, previous = (self.folder / name for name in USED_FILES)
        before = set(current.read_text(encoding="utf-8").split()) if current.is_file() else set()
        names = sorted(self._entry(stream, digest).name for stream, digest in self.used)
        keep = set(names) | before
        if current.is_file():
            os.replace(current, previous)
        tmp = current.with_name(current.name + ".tmp")
        tmp.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
        os.replace(tmp, current)
        removed = 0
        with os.scandir(self.folder) as entries:  # (the kind of each entry without a stat)
            gone = [entry.path for entry in entries
                    if entry.is_dir(follow_symlinks=False) and entry.name not in keep]
        for path in gone:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        return removed
