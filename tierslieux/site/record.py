"""The record of the last site written, so that a rebuild links the documents that did not change.

An entity's four documents (``SUFFIXES``) are a pure function of what its page shows (the
context pages.py gives its template: label, types, links in and out, list items, rows,
alternates, site name, root), of its triples, of the prefixes, of the templates and of the
code. So, when the release has a cache folder, each entity gets a *key*: the SHA-256 of the
*setup* (``setup_digest``: the prefixes, the base IRI, the site name, the templates' bytes, the
versions of Jinja2 and MarkupSafe and the code, model/code.py) and of the JSON of its context
and triples. Once the release is published, release.py keeps in the cache folder

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
from collections.abc import Mapping
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


@dataclass(frozen=True)
class Kept:
    """What the record says of one entity."""

    key: str
    #: one Stamp per SUFFIXES
    files: tuple[Stamp, ...]


@dataclass(frozen=True)
class SiteRecord:
    """The entities of a site as written: name (path under ``site/``) -> Kept."""

    setup: str
    entities: dict[str, Kept] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Keep the record at ``path`` (atomically); on failure, no record is left there."""
        body = "".join([
            f"{name}\t{kept.key}\t" + "\t".join(f"{s}\t{n}\t{m}\t{i}" for s, n, m, i in kept.files)
            + "\n" for name, kept in self.entities.items()]).encode("utf-8")
        head = json.dumps({"format": FORMAT, "setup": self.setup,
                           "sha256": hashlib.sha256(body).hexdigest()})
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as out:
                out.write(head.encode("ascii") + b"\n")
                out.write(body)
            os.replace(tmp, path)
        except OSError as exc:
            log.debug("site record not kept at %s: %s", path, exc)
            tmp.unlink(missing_ok=True)
            forget(path)

    @classmethod
    def load(cls, path: Path, setup: str) -> SiteRecord | None:
        """The record kept at ``path`` for ``setup``; None when there is none, or it is
        damaged or for another setup (logged at debug level)."""
        try:
            with open(path, "rb") as stream:
                head = json.loads(stream.readline())
                body = stream.read()
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.debug("site record %s unreadable (%s): every page rendered", path, exc)
            return None
        if not isinstance(head, dict) or head.get("format") != FORMAT \
                or head.get("setup") != setup:
            log.debug("site record %s is for another setup: every page rendered", path)
            return None
        if head.get("sha256") != hashlib.sha256(body).hexdigest():
            log.debug("site record %s does not match its SHA-256: every page rendered", path)
            return None
        entities: dict[str, Kept] = {}
        try:
            for line in body.decode("utf-8").split("\n")[:-1]:
                name, key, *cells = line.split("\t")
                if len(cells) != 4 * len(SUFFIXES):
                    raise ValueError(f"{len(cells)} cells for {name!r}")
                entities[name] = Kept(key, tuple(
                    (cells[n], int(cells[n + 1]), int(cells[n + 2]), int(cells[n + 3]))
                    for n in range(0, len(cells), 4)))
        except ValueError as exc:  # UnicodeDecodeError included
            log.debug("site record %s is damaged (%s): every page rendered", path, exc)
            return None
        return cls(setup, entities)


def forget(path: Path) -> None:
    """Remove the record at ``path`` (a release without a site, or one not recorded)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("site record %s not removed: %s", path, exc)


def keep_site_record(cache_folder: Path, record: SiteRecord | None) -> None:
    """Once a release is published: keep the record of its site in ``cache_folder``, or
    remove the one there when the release has no site (or was written without a record)."""
    path = Path(cache_folder) / RECORD_FILE
    if record is None:
        forget(path)
    else:
        record.save(path)


class Reuse:
    """The documents of the published site that the site being written may link to."""

    def __init__(self, setup: str, published: Path | None, record: SiteRecord | None) -> None:
        self.setup = setup
        #: ``<out>/site/`` of the release in place
        self.top = f"{published}/" if published is not None else ""
        self.kept = record.entities if record is not None and published is not None else {}

    def link(self, name: str, key: str, stem: str) -> tuple[Stamp, ...] | None:
        """Link the four published files of entity ``name`` at ``stem`` + suffix when the
        record holds them under ``key`` and they are still the files it describes; their
        stamps, or None when the documents must be rendered (files already linked are then
        replaced as they are written)."""
        kept = self.kept.get(name)
        if kept is None or kept.key != key:
            return None
        old = self.top + name
        try:
            for suffix, (_, size, mtime, inode) in zip(SUFFIXES, kept.files):
                found = os.lstat(old + suffix)
                if (found.st_size, found.st_mtime_ns, found.st_ino) != (size, mtime, inode):
                    return None
            for suffix in SUFFIXES:
                os.link(old + suffix, stem + suffix, follow_symlinks=False)
        except OSError:
            return None
        return kept.files
