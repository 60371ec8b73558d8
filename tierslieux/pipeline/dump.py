"""Read MediaWiki XML exports (``export-0.x``: Special:Export, dumpBackup.php).

Streams ``.xml``, ``.xml.gz`` and ``.xml.bz2`` page by page in constant memory. Parsing goes
through defusedxml, so entity expansion ("billion laughs"), external entities and DTDs are
refused and nothing is ever fetched from the network.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from tierslieux.errors import DumpError
from tierslieux.model.iri import is_iri
from tierslieux.model.records import Issue, PageRevision, SiteInfo

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: MediaWiki's ids are unsigned 32-bit numbers in its database, 64-bit at most anywhere
_MAX_ID = (1 << 63) - 1
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")

#: called with the reason a page of the export was skipped (or taken in part)
OnSkip = Callable[[Issue], None]


class _Skip(Exception):
    """One page of the export cannot be read; the others can."""

    def __init__(self, title: str, original: str, message: str) -> None:
        super().__init__(message)
        self.issue = Issue(title, "warning", "page", original, "", message)


def _valid_timestamp(text: str) -> bool:
    if not _TIMESTAMP.fullmatch(text):
        return False
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


def _number(text: str | None, what: str, title: str, *, low: int = 1) -> int:
    """A number of the export, or _Skip naming it."""
    try:
        value = int((text or "").strip())
    except ValueError:
        raise _Skip(title, f"{what} {text!r}", f"{what} is not a number: page skipped") from None
    if not low <= value <= _MAX_ID:
        raise _Skip(title, f"{what} {value}", f"{what} out of range: page skipped")
    return value


def _open(path: Path) -> IO[bytes]:
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    if name.endswith(".xz"):
        return lzma.open(path, "rb")
    return open(path, "rb")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(elem: Element, name: str) -> Element | None:
    for child in elem:
        if _local(child.tag) == name:
            return child
    return None


def _text(elem: Element, name: str) -> str | None:
    child = _child(elem, name)
    return None if child is None else (child.text or "")


def _events(path: Path, stream: IO[bytes] | None = None) -> Iterator[tuple[str, Element]]:
    """(event, element) pairs, with every failure turned into a DumpError naming the file
    (``stream``: the bytes to read instead of the file's, e.g. a part of a multistream dump)."""
    if stream is None and not path.exists():
        raise DumpError(f"{path}: no such file")
    if stream is None and path.is_dir():
        raise DumpError(f"{path}: is a folder, not an XML export")
    try:
        with (_open(path) if stream is None else stream) as fh:
            yield from iterparse(
                fh, events=("start", "end"), forbid_dtd=True,
                forbid_entities=True, forbid_external=True,
            )
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        reason = str(exc).split(":")[0]
        raise DumpError(
            f"{path}: not a well-formed XML export ({reason}) at line {line}, column {column}"
        ) from None
    except DefusedXmlException as exc:
        raise DumpError(
            f"{path}: refused a hostile XML construct ({type(exc).__name__}); "
            "MediaWiki exports never contain DTDs or entity declarations"
        ) from None
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise DumpError(f"{path}: cannot be read ({exc})") from None


def _check_root(path: Path, elem: Element) -> None:
    if _local(elem.tag) != "mediawiki":
        raise DumpError(
            f"{path}: root element is <{_local(elem.tag)}>, expected <mediawiki> "
            "(a MediaWiki XML export)"
        )


def _paths_from_base(base: str) -> tuple[str, str]:
    """article path ($1) and index.php address from siteinfo's <base> (the main page URL)."""
    parts = urlsplit(base)
    root = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    if "/wiki/" in parts.path:
        prefix = parts.path.split("/wiki/", 1)[0]
        return f"{root}{prefix}/wiki/$1", f"{root}{prefix}/index.php"
    if parts.path.endswith("index.php"):
        return f"{root}{parts.path}?title=$1", f"{root}{parts.path}"
    prefix = parts.path.rsplit("/", 1)[0]
    return f"{root}{prefix}/$1", f"{root}{prefix}/index.php"


def read_site_info(path: str | Path) -> SiteInfo:
    """The ``<siteinfo>`` block at the top of an export (empty fields when absent)."""
    path = Path(path)
    lang = ""
    for event, elem in _events(path):
        tag = _local(elem.tag)
        if event == "start":
            if tag == "mediawiki":
                lang = elem.get(_XML_LANG, "")
            elif tag == "page":
                break
            continue
        if tag == "siteinfo":
            base = (_text(elem, "base") or "").strip()
            article_path, script_url = _paths_from_base(base) if base else ("", "")
            if base and not (is_iri(article_path.replace("$1", "X")) and is_iri(script_url)):
                # every page's address and revision are minted from it
                raise DumpError(f"{path}: <base>{base}</base> in <siteinfo> is not an IRI "
                                "(RFC 3987): not a MediaWiki export")
            namespaces: list[tuple[int, str]] = []
            ns_elem = _child(elem, "namespaces")
            if ns_elem is not None:
                for ns in ns_elem:
                    key = ns.get("key", "0")
                    try:
                        namespaces.append((int(key), ns.text or ""))
                    except ValueError:
                        raise DumpError(f"{path}: <namespace key={key!r}> in <siteinfo> is not "
                                        "a number: not a MediaWiki export") from None
            return SiteInfo(
                sitename=_text(elem, "sitename") or "",
                article_path=article_path,
                script_url=script_url,
                dbname=_text(elem, "dbname") or "",
                generator=_text(elem, "generator") or "",
                lang=lang,
                namespaces=tuple(sorted(namespaces)),
            )
    return SiteInfo(sitename="", article_path="", script_url="", lang=lang)


def read_dump(path: str | Path, on_skip: OnSkip | None = None, *,
              stream: IO[bytes] | None = None) -> Iterator[PageRevision]:
    """Yield the latest revision of every page of an export, in file order.

    Contributors of every revision in the file are collected on the latest one. A page that
    cannot be read (no title or id, an id that is not a number or out of range, no revision
    with a readable id) raises DumpError, or, with ``on_skip``, is skipped and reported to it;
    so is a revision with an unreadable id or a malformed timestamp (the others are used).
    ``stream`` gives the export's bytes instead of the file's (``path`` then names it).
    """
    path = Path(path)
    depth = 0
    seen_root = False
    for event, elem in _events(path, stream):
        if event == "start":
            if not seen_root:
                _check_root(path, elem)
                seen_root = True
            depth += 1
            continue
        depth -= 1
        if _local(elem.tag) == "page" and depth == 1:
            try:
                revision = _page(elem, on_skip)
            except _Skip as skip:
                if on_skip is None:
                    reason = str(skip).removesuffix(": page skipped")
                    raise DumpError(f"{path}: page {skip.issue.page_title!r} "
                                    f"({skip.issue.original}): {reason}") from None
                on_skip(skip.issue)
            else:
                yield revision
            elem.clear()
        elif depth == 1:
            elem.clear()   # siteinfo and unknown top-level blocks
    if not seen_root:
        raise DumpError(f"{path}: empty file, expected a MediaWiki XML export")


def _page(page: Element, on_skip: OnSkip | None) -> PageRevision:
    title = _text(page, "title")
    page_id = _text(page, "id")
    ns = _text(page, "ns")
    if not (title or "").strip() or not page_id:
        raise _Skip((title or "").strip() or f"(page id {page_id or '?'})", f"title={title!r}, id={page_id!r}",
                    "a <page> without <title> or <id>: page skipped")
    if len(title.encode("utf-8")) > 255:
        raise _Skip(title[:200] + "…", f"title of {len(title):,} characters",
                    "title longer than 255 bytes (MediaWiki's limit): page skipped")
    number = _number(page_id, "page id", title)
    namespace = _number(ns or "0", "namespace", title, low=-2)
    redirect_elem = _child(page, "redirect")
    redirect = redirect_elem.get("title") if redirect_elem is not None else None
    latest: Element | None = None
    latest_id = -1
    contributors: set[str] = set()
    for rev in page:
        if _local(rev.tag) != "revision":
            continue
        try:
            rev_id = _number(_text(rev, "id"), "revision id", title)
        except _Skip as skip:
            if on_skip is None:
                raise
            on_skip(Issue(title, "warning", "page", skip.issue.original, "",
                          "revision id is not a number or out of range: revision skipped"))
            rev.clear()
            continue
        contrib = _child(rev, "contributor")
        if contrib is not None:
            name = _text(contrib, "username") or _text(contrib, "ip")
            if name:
                contributors.add(name)
        if rev_id > latest_id:
            if latest is not None:
                latest.clear()
            latest, latest_id = rev, rev_id
        else:
            rev.clear()
    if latest is None:
        raise _Skip(title, f"page id {number}", "has no <revision> with a readable id: page skipped")
    contrib = _child(latest, "contributor")
    contributor = None
    if contrib is not None:
        contributor = _text(contrib, "username") or _text(contrib, "ip")
    parent_text = _text(latest, "parentid")
    parent = None
    if parent_text:
        try:
            parent = _number(parent_text, "parent revision id", title)
        except _Skip as skip:
            if on_skip is None:
                raise
            on_skip(Issue(title, "warning", "page", skip.issue.original, "",
                          "parent revision id is not a number or out of range: left out"))
    timestamp = (_text(latest, "timestamp") or "").strip()
    if timestamp and not _valid_timestamp(timestamp):
        if on_skip is None:
            raise _Skip(title, f"timestamp {timestamp!r}", "malformed timestamp")
        on_skip(Issue(title, "warning", "page", timestamp, "",
                      "revision timestamp is not YYYY-MM-DDTHH:MM:SSZ: left out"))
        timestamp = ""
    return PageRevision(
        page_id=number,
        namespace=namespace,
        title=title,
        rev_id=latest_id,
        parent_id=parent,
        timestamp=timestamp,
        sha1=_text(latest, "sha1") or None,
        contributor=contributor,
        text=_text(latest, "text") or "",
        redirect=redirect,
        comment=_text(latest, "comment"),
        model=_text(latest, "model") or "wikitext",
        contributors=tuple(sorted(contributors)),
    )
