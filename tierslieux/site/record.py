"""The record of the last site written, so that a rebuild links the documents that did not change.

An entity's four documents (``SUFFIXES``) are a pure function of what its page shows (the
context pages.py gives its template: label, types, links in and out, list items, rows,
alternates, site name, root), of its triples, of the prefixes, of the templates and of the
code. So, when the release has a cache folder, each entity gets a *key*: the SHA-256 of the
*setup* (``setup_digest``: the prefixes, the base IRI, the site name, the templates' bytes, the
versions of Jinja2 and MarkupSafe and the code, model/code.py) and of the JSON of its context
and triples. The site's writer writes the record of what it wrote at a path of its own in the
cache folder (``pending_path``), which release.py puts in place once the release is published
(``keep_site_record``; a refused release leaves the record of the one in place):

``site.record``  a first line, JSON: the format, the setup and the SHA-256 of the rest; then one
                 line per entity: its name (its path under ``site/``, without extension), its
                 key, and for each of its four files the SHA-256, size, mtime_ns and inode, all
                 tab-separated (a name holds no control character: paths.py)

The next build links (``os.link``) an entity's four files from the published release
(``<out>/site``) into its staging folder when the entity's key is the record's and each file
still has the recorded size, mtime_ns and inode, and takes their SHA-256 from the record;
otherwise it renders them. The release in place is never written to: the staging folder is
new in each build, publish.py renames it into place, and pages.py ``_write`` replaces a file
that is already there (a link) instead of writing through it. A record whose release is no
longer in place matches none of its files; a damaged or stale record is ignored (logged at
debug level) and everything is rendered: same bytes either way.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tierslieux.model.code import add_code, digest_adder
from tierslieux.site.render import template_sources

log = logging.getLogger(__name__)

#: bumped when what the record holds, or how a key is made, changes
FORMAT = 1
RECORD_FILE = "site.record"
#: an entity's documents, in the record's order
SUFFIXES = (".html", ".ttl", ".jsonld", ".nt")
#: the packages whose code makes the documents: the site, the model's terms, and the exports,
#: whose Turtle writer the site is given (exports/writers.py)
SITE_CODE = ("model", "site", "exports")

#: (SHA-256, size, mtime_ns, inode) of one document as written
Stamp = tuple[str, int, int, int]


def setup_digest(prefixes: Mapping[str, str], base: str, sitename: str) -> str:
    """The digest of what every entity's documents depend on besides their own context and
    triples."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    add = digest_adder(digest)
    add("format", str(FORMAT))
    add("prefixes", json.dumps(list(prefixes.items())))  # in order: the Turtle writes them so
    add("base", base)
    add("sitename", sitename)
    for name, data in template_sources():
        add("template " + name, data)
    for library in ("jinja2", "markupsafe"):
        add(library, version(library))
    add_code(add, SITE_CODE)
    return digest.hexdigest()


def entity_key(setup: str, context: Mapping[str, Any], pairs: list[tuple[str, str]]) -> str:
    """The key of an entity's documents: its context's dicts are built in a fixed order, and
    its Markup values are strings, so the JSON is canonical."""
    text = json.dumps([context, pairs], check_circular=False)  # ASCII: no surrogate trouble
    return hashlib.sha256(setup.encode("ascii") + text.encode("ascii")).hexdigest()


def record_entry(key: str, stamps: Sequence[Stamp]) -> str:
    """An entity's line of the record, without its name: its key, then each file's SHA-256,
    size, mtime_ns and inode, tab-separated. The record holds these lines as they are read and
    written (a big site has tens of thousands: parsed objects would cost several times the
    memory), and a linked entity keeps the line it had."""
    return key + "".join([f"\t{sha}\t{size}\t{mtime}\t{inode}"
                          for sha, size, mtime, inode in stamps])


def entry_sums(entry: str) -> list[str]:
    """The SHA-256 of each of an entity's files (SUFFIXES), from its line of the record."""
    return entry.split("\t")[1::4]


#: the tabs of an entry: after the key, four cells per file
_ENTRY_TABS = 4 * len(SUFFIXES)


@dataclass(frozen=True)
class SiteRecord:
    """The entities of a site as written: name (path under ``site/``) -> its entry
    (``record_entry``)."""

    setup: str
    entities: dict[str, str] = field(default_factory=dict)

    def save(self, path: Path) -> bool:
        """Write the record at ``path`` (atomically, one line at a time: no copy of the whole
        in memory), its entities in name order (the same whether the site was written in one
        pass or in shares); False, and nothing left there, when it cannot be written."""
        digest = hashlib.sha256()
        names = sorted(self.entities)
        for name in names:
            digest.update(f"{name}\t{self.entities[name]}\n".encode("utf-8"))
        head = json.dumps({"format": FORMAT, "setup": self.setup, "sha256": digest.hexdigest()})
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as out:
                out.write(head.encode("ascii") + b"\n")
                out.writelines(f"{name}\t{self.entities[name]}\n".encode("utf-8")
                               for name in names)
            os.replace(tmp, path)
        except OSError as exc:
            log.debug("site record not written at %s: %s", path, exc)
            tmp.unlink(missing_ok=True)
            forget(path)
            return False
        return True

    @classmethod
    def load(cls, path: Path, setup: str) -> SiteRecord | None:
        """The record kept at ``path`` for ``setup``; None when there is none, or it is
        damaged or for another setup (logged at debug level)."""
        entities: dict[str, str] = {}
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as stream:
                head = json.loads(stream.readline())
                if not isinstance(head, dict) or head.get("format") != FORMAT \
                        or head.get("setup") != setup:
                    log.debug("site record %s is for another setup: every page rendered", path)
                    return None
                for raw in stream:
                    digest.update(raw)
                    name, _, entry = raw.decode("utf-8").partition("\t")
                    if entry.count("\t") != _ENTRY_TABS or entry[-1:] != "\n":
                        raise ValueError(f"a line of {entry.count(chr(9)) + 2} cells for "
                                         f"{name!r}")
                    entities[name] = entry[:-1]
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # UnicodeDecodeError included
            log.debug("site record %s unreadable (%s): every page rendered", path, exc)
            return None
        if head.get("sha256") != digest.hexdigest():
            log.debug("site record %s does not match its SHA-256: every page rendered", path)
            return None
        return cls(setup, entities)


def pending_path(cache_folder: Path) -> Path:
    """Where this process writes the record of the site it writes, until the release is
    published (``keep_site_record``)."""
    return Path(cache_folder) / f".{RECORD_FILE}.{os.getpid()}.new"


def forget(path: Path) -> None:
    """Remove the record at ``path`` (a release without a site, or one not recorded)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("site record %s not removed: %s", path, exc)


def keep_site_record(cache_folder: Path, pending: Path | None) -> None:
    """Once a release is published: make the record of its site (written at ``pending`` by
    the site's writer) the one of ``cache_folder``, or remove the one there when the release
    has no site (or was written without a record). The records of builds that failed (each
    left at its own pending path) go too."""
    path = Path(cache_folder) / RECORD_FILE
    if pending is None:
        forget(path)
    else:
        try:
            os.replace(pending, path)
        except OSError as exc:
            log.debug("site record %s not kept: %s", pending, exc)
            forget(path)
    for stale in Path(cache_folder).glob(f".{RECORD_FILE}.*.new"):
        forget(stale)


class Reuse:
    """The documents of the published site that the site being written may link to."""

    def __init__(self, setup: str, published: Path | None, record: SiteRecord | None,
                 pending: Path) -> None:
        self.setup = setup
        #: where the record of the site being written goes (``pending_path``)
        self.pending = pending
        #: ``<out>/site/`` of the release in place
        self.top = f"{published}/" if published is not None else ""
        self.kept = record.entities if record is not None and published is not None else {}

    def link(self, name: str, key: str, stem: str) -> str | None:
        """Link the four published files of entity ``name`` at ``stem`` + suffix when the
        record holds them under ``key`` and they are still the files it describes; the
        entity's entry, or None when its documents must be rendered (files already linked are
        then replaced as they are written)."""
        entry = self.kept.get(name)
        if entry is None:
            return None
        cells = entry.split("\t")
        if cells[0] != key:
            return None
        old = self.top + name
        try:
            for n, suffix in enumerate(SUFFIXES):
                found = os.lstat(old + suffix)
                if (found.st_size, found.st_mtime_ns, found.st_ino) != (
                        int(cells[4 * n + 2]), int(cells[4 * n + 3]), int(cells[4 * n + 4])):
                    return None
            for suffix in SUFFIXES:
                os.link(old + suffix, stem + suffix, follow_symlinks=False)
        except (OSError, ValueError):
            return None
        return entry
