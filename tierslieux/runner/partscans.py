"""The scans of a multistream dump's partitions, kept in the state folder by their bytes.

The phase "scan" of a store-less build (``partitions.py``) lists the pages of every partition
without their text. Between two dumps of a wiki most bz2 streams hold no edited page and are
the same bytes, at another offset when an earlier stream changed length. So each worker hashes
the compressed bytes of the partitions it reads (SHA-256) and, when the state keeps a scan of
those bytes, sends it back instead of decompressing and parsing the stream again; the command's
process keeps the scan of each partition read again. An entry is keyed by the digest of the
bytes, not by the offset, and by a setup digest (``scan_setup``: tierslieux's version, the
source of the code that reads a dump, the dump's root element, which the streams are parsed
under). It holds the pages as the scan gives them and a SHA-256 of them: an entry that is not
valid JSON, not of the expected shape or whose digest does not match is damaged, removed and
its partition read again. Entries neither this build nor the previous one used are pruned.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from tierslieux.model.code import digest_adder
from tierslieux.model.records import Issue, PageRevision
from tierslieux.validation.shacl_cache import EntryFolder

#: the kept scans' folder in the state folder
STATE_SCANS = "scans.d"
#: the entries' format (bump when it changes)
SCAN_FORMAT = 1
#: the code a scan's result depends on, besides the dump's bytes
SCAN_CODE = ("model/records.py", "pipeline/dump.py", "pipeline/multistream.py",
             "runner/partscans.py")

#: what the scan of one partition gives: its pages without their text, and what was skipped
Scanned = list[tuple[PageRevision | None, Issue | None]]


@dataclass(frozen=True)
class PartitionScan:
    """What the task "scan" sends back for one partition."""

    #: the SHA-256 of its compressed bytes
    digest: str
    #: decompressed and parsed (no scan of these bytes was kept)
    read: bool
    pages: Scanned

    def __len__(self) -> int:
        """Its pages and skipped pages: the engines count a task's items by ``len``."""
        return len(self.pages)


def scan_setup(root: bytes) -> str:
    """The digest of what a scan depends on besides the partition's bytes."""
    from tierslieux import __version__

    digest = hashlib.sha256()
    add = digest_adder(digest)
    add("format", str(SCAN_FORMAT))
    add("tierslieux", __version__)
    add("python", sys.version)
    package = Path(str(resources.files("tierslieux")))
    for name in SCAN_CODE:
        add(name, (package / name).read_bytes())
    add("root", root)
    return digest.hexdigest()[:16]


def bytes_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ScanCache(EntryFolder):
    """The kept scans of one setup, ``<bytes digest>-<setup>.json``."""

    what = "kept scan"
    again = "its partition is read again"

    def get(self, digest: str) -> Scanned | None:
        return self.read(digest, _decode)

    def put(self, digest: str, scanned: Scanned) -> None:
        items = _encode(scanned)
        self.write(digest, {"sha256": _items_digest(items), "items": items})


def _items_digest(items: list) -> str:
    text = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _encode(scanned: Scanned) -> list:
    out: list[list] = []
    for rev, issue in scanned:
        if rev is None:
            assert issue is not None
            out.append(["skip", issue.page_title, issue.severity, issue.field, issue.original,
                        issue.kept, issue.message])
        else:
            out.append(["page", rev.page_id, rev.namespace, rev.title, rev.rev_id,
                        rev.parent_id, rev.timestamp, rev.sha1, rev.contributor, rev.redirect,
                        rev.comment, rev.model, list(rev.contributors)])
    return out


def _typed(value: Any, kind: type, optional: bool = False) -> Any:
    if (value is None and optional) or (type(value) is kind):
        return value
    raise TypeError(f"{value!r} is not {'None or ' if optional else ''}{kind.__name__}")


def _decode(data: Any) -> Scanned:
    """The scan of an entry's JSON; ValueError, KeyError or TypeError when it is damaged."""
    items = data["items"]
    if not isinstance(items, list) or data["sha256"] != _items_digest(items):
        raise ValueError("its digest does not match its pages")
    out: Scanned = []
    for item in items:
        if item[0] == "skip" and len(item) == 7:
            out.append((None, Issue(*(_typed(x, str) for x in item[1:]))))
            continue
        if item[0] != "page" or len(item) != 13:
            raise ValueError(f"not a page nor a skipped page: {str(item)[:80]}")
        (_, page_id, namespace, title, rev_id, parent_id, timestamp, sha1, contributor,
         redirect, comment, model, contributors) = item
        out.append((PageRevision(
            page_id=_typed(page_id, int), namespace=_typed(namespace, int),
            title=_typed(title, str), rev_id=_typed(rev_id, int),
            parent_id=_typed(parent_id, int, True), timestamp=_typed(timestamp, str, True),
            sha1=_typed(sha1, str, True), contributor=_typed(contributor, str, True),
            text="", redirect=_typed(redirect, str, True), comment=_typed(comment, str, True),
            model=_typed(model, str, True),
            contributors=tuple(_typed(c, str) for c in _typed(contributors, list))), None))
    return out
