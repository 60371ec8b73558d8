"""The build cache: what parse, map and the per-page checks made of each page revision.

Parsing and mapping a page is a pure function of its stored revision (and of the mapping, the
ontology, the base IRI, the wiki's SiteInfo and the code), so a rebuild only has to redo the
pages whose revision changed. The cache lives beside the store:

``<store>.buildcache.sqlite``  one row per page: a digest of what the build reads of the page,
                               its sorted N-Triples lines (zlib), its issues, and the
                               ``sh:class`` checks it could not decide (see shacl.py)
``<store>.buildcache.d/``      the sorted run files of the last build (see runs.py) and its
                               merge of them (keptmerge.py)
``<store>.buildcache.smwtypes.json``  the types the property pages declare (kept_property_types)

A page result that ``put`` replaces or ``forget`` drops keeps its lines in the table ``gone``
until the build's merge is made (``forget_gone``): the kept merge (keptmerge.py) takes the
old lines of the changed pages from there.

The cache carries a *version*: a digest of the mapping file, the ontology and shapes files,
the base IRI, the SiteInfo, the tierslieux version and the source of the packages that turn
a revision into triples (CODE_PACKAGES). Opening the cache with another version empties it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from importlib import resources
from operator import attrgetter
from pathlib import Path

from tierslieux.errors import StoreError
from tierslieux.model.code import add_code, digest_adder
from tierslieux.model.records import Issue, SiteInfo

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS page (
    page_id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL,
    triples INTEGER NOT NULL,
    lines BLOB NOT NULL,
    issues BLOB NOT NULL,
    unresolved TEXT NOT NULL,
    flags INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS gone (
    page_id INTEGER NOT NULL,
    digest TEXT NOT NULL,
    lines BLOB NOT NULL,
    PRIMARY KEY (page_id, digest)
);
"""
#: a page whose triples define classes (rdfs:subClassOf): the compiled shapes do not see them
FLAG_CLASS_AXIOMS = 1
#: packages whose code may decide what a revision becomes: the source of every module in them
#: is part of the version (more than needed, never less: a moved module stays counted)
CODE_PACKAGES = ("geography", "model", "ontology", "pipeline", "runner", "validation")


@dataclass(frozen=True)
class PageResult:
    """What the build keeps of one page revision."""

    page_id: int
    #: digest of the stored page (page_digest)
    digest: str
    #: number of distinct lines
    triples: int
    #: zlib of the sorted, distinct N-Triples lines joined by newlines
    lines: bytes
    #: zlib of the issues as JSON
    issues: bytes
    #: JSON list of [value IRI, class IRI] sh:class checks the page could not decide
    unresolved: str
    flags: int = 0


def pack_lines(lines: list[str]) -> bytes:
    return pack_text("\n".join(lines))


def pack_text(text: str) -> bytes:
    """``pack_lines`` of the lines already joined by newlines."""
    return zlib.compress(text.encode("utf-8"), 1)


def unpack_lines(blob: bytes) -> list[str]:
    text = zlib.decompress(blob).decode("utf-8")
    return text.split("\n") if text else []


def unpack_line_bytes(blob: bytes) -> list[bytes]:
    """The lines of ``pack_lines`` as UTF-8 bytes, undecoded (for the run files)."""
    data = zlib.decompress(blob)
    return data.split(b"\n") if data else []


def pack_issues(issues: Iterable[Issue]) -> bytes:
    return zlib.compress(json.dumps([_issue_row(i) for i in issues],
                                    ensure_ascii=False).encode("utf-8"), 1)


_ISSUE_FIELDS = attrgetter(*(f.name for f in fields(Issue)))


def _issue_row(issue: Issue) -> list:
    """The values of an issue's fields, as ``asdict`` gives them (it copies them deeply:
    only needed when one is not a str)."""
    row = list(_ISSUE_FIELDS(issue))
    if all(type(value) is str for value in row):
        return row
    return list(asdict(issue).values())


def unpack_issues(blob: bytes) -> list[Issue]:
    return [Issue(*fields) for fields in json.loads(zlib.decompress(blob))]


def build_version(*, mapping_bytes: bytes, base_iri: str, site: SiteInfo,
                  smw_types: dict[str, str] | None = None) -> str:
    """The digest that names everything a page's cached result depends on besides the page
    (``smw_types``: the types the store's property pages declare)."""
    from tierslieux import geography

    digest = hashlib.sha256()
    add = digest_adder(digest)
    add("mapping", mapping_bytes)
    ontology = resources.files("tierslieux.ontology")
    for name in ("ontology.ttl", "shapes.ttl", "inline_templates.yaml"):
        add(name, ontology.joinpath(name).read_bytes())
    add("geography", geography.SOURCE["sha256"])  # the vendored data, by its digest
    add("base", base_iri)
    add("site", json.dumps(asdict(site), sort_keys=True, ensure_ascii=False))
    if smw_types:
        add("smw_types", json.dumps(smw_types, sort_keys=True, ensure_ascii=False))
    add_code(add, CODE_PACKAGES)
    return digest.hexdigest()


def kept_property_types(store_path: Path | None, rows: Iterable[tuple],
                        compute: Callable[[], dict[str, str]]) -> dict[str, str]:
    """``compute()`` (the types the store's property pages declare, ``smw_types.py``), kept
    beside the store in ``<store>.buildcache.smwtypes.json`` under a digest of the code and of
    the property pages' stored fields (``rows``, as ``page_digest`` reads them: the revision
    stands for the text, as for a page's cached result); ``store_path`` None: not kept. A
    rebuild no longer parses every property page."""
    if store_path is None:
        return compute()
    digest = hashlib.sha256()
    add = digest_adder(digest)
    add_code(add, CODE_PACKAGES)
    for row in rows:
        add("page", page_digest(row))
    key = digest.hexdigest()
    path = store_path.with_name(store_path.name + ".buildcache.smwtypes.json")
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        if kept["key"] == key and isinstance(kept["types"], dict):
            return dict(kept["types"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    types = compute()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"key": key, "types": types}, ensure_ascii=False,
                                  sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:  # a read-only folder: computed again next time
        tmp.unlink(missing_ok=True)
    return types


def page_digest(row: tuple) -> str:
    """Digest of a stored page's fields the build reads, its text excepted: the revision id
    (and the wiki's sha1 of the text) stand for the text."""
    return hashlib.sha256(json.dumps(row, ensure_ascii=False).encode("utf-8")).hexdigest()[:32]


#: keep the lines of the result of a page that is replaced or deleted (``result_lines``)
_TO_GONE = ("INSERT OR IGNORE INTO gone (page_id, digest, lines) "
            "SELECT page_id, digest, lines FROM page WHERE page_id = ?")


class MissingResult(KeyError):
    """A page result the cache no longer holds, not even in ``gone``."""


def result_lines(cache_path: str | Path, results: Iterable[tuple[int, str]]
                 ) -> Iterator[list[bytes]]:
    """The lines (UTF-8 bytes, as ``unpack_line_bytes``) of each ``(page_id, digest)`` result,
    from the pages or from the results replaced since (``gone``); raises MissingResult. Opens
    a connection of its own: callable from a worker process."""
    db = sqlite3.connect(cache_path, timeout=60)
    try:
        for page_id, digest in results:
            row = db.execute("SELECT lines FROM page WHERE page_id = ? AND digest = ?",
                             (page_id, digest)).fetchone()
            if row is None:
                row = db.execute("SELECT lines FROM gone WHERE page_id = ? AND digest = ?",
                                 (page_id, digest)).fetchone()
            if row is None:
                raise MissingResult((page_id, digest))
            yield unpack_line_bytes(row[0])
    finally:
        db.close()


class BuildCache:
    """The cache of one store; use as a context manager."""

    def __init__(self, store_path: str | Path, version: str) -> None:
        base = Path(store_path)
        self.path = base.with_name(base.name + ".buildcache.sqlite")
        self.run_dir = base.with_name(base.name + ".buildcache.d")
        self.version = version
        try:
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            row = self.db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if row is None or row[0] != version:
                self.db.execute("BEGIN IMMEDIATE")
                self.db.execute("DELETE FROM page")
                self.db.execute("DELETE FROM gone")
                self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)",
                                (version,))
                self.db.execute("COMMIT")
                shutil.rmtree(self.run_dir, ignore_errors=True)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a tierslieux build cache ({exc}); "
                             "delete it and build again") from None
        self.run_dir.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> BuildCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ pages
    def digests(self) -> dict[int, str]:
        return dict(self.db.execute("SELECT page_id, digest FROM page"))

    def put(self, results: Iterable[PageResult]) -> None:
        """Store the results, the lines of the results they replace going to ``gone``."""
        results = list(results)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(_TO_GONE + " AND digest != ?",
                                [(r.page_id, r.digest) for r in results])
            self.db.executemany(
                "INSERT OR REPLACE INTO page (page_id, digest, triples, lines, issues, "
                "unresolved, flags) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.page_id, r.digest, r.triples, r.lines, r.issues, r.unresolved, r.flags)
                 for r in results],
            )
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def forget(self, keep: set[int]) -> int:
        """Drop the pages not in ``keep`` (deleted from the store); returns how many."""
        gone = [pid for (pid,) in self.db.execute("SELECT page_id FROM page")
                if pid not in keep]
        if gone:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(_TO_GONE, [(p,) for p in gone])
            self.db.executemany("DELETE FROM page WHERE page_id = ?", [(p,) for p in gone])
            self.db.execute("COMMIT")
        return len(gone)

    def forget_gone(self) -> None:
        """Drop the lines of replaced and deleted results (once the merge is made from the
        results the cache holds)."""
        self.db.execute("DELETE FROM gone")

    def lines(self, page_ids: Iterable[int]) -> Iterator[list[str]]:
        for page_id in page_ids:
            row = self.db.execute("SELECT lines FROM page WHERE page_id = ?",
                                  (page_id,)).fetchone()
            yield unpack_lines(row[0])

    def summary(self, page_ids: Iterable[int]) -> Iterator[tuple[int, bytes, str, int]]:
        """(triples, issues blob, unresolved JSON, flags) of each page, in the given order."""
        for page_id in page_ids:
            yield self.db.execute(
                "SELECT triples, issues, unresolved, flags FROM page WHERE page_id = ?",
                (page_id,)).fetchone()

    # ------------------------------------------------------------------ runs
    def forget_runs(self, keep: set[str]) -> None:
        """Remove the run files of the runs not in ``keep`` (the kept merge stays:
        ``keptmerge.py``)."""
        from tierslieux.pipeline.keptmerge import PREFIX

        for path in self.run_dir.iterdir():
            if path.name.split(".")[0] not in keep | {PREFIX}:
                path.unlink(missing_ok=True)
