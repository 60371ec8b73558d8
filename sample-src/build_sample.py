"""Build the bundled sample wiki, ``tierslieux/sample/movilab-sample.xml``.

Reads ``sample-src/pages.yaml`` and the wikitext files in ``sample-src/pages/`` and writes
a MediaWiki XML export in the ``export-0.11`` format, byte for byte as MediaWiki 1.39's
``XmlDumpWriter`` lays it out (Special:Export, dumpBackup.php): same element order and
indentation, ``<origin>``, ``<text bytes=".." sha1=".." xml:space="preserve">``, base-36
SHA-1, ``htmlspecialchars`` escaping. Same input, same bytes.

Usage::

    python sample-src/build_sample.py            # write the XML
    python sample-src/build_sample.py --check    # exit 1 if the XML is missing or stale

Only the standard library and PyYAML are needed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = HERE / "pages.yaml"
PAGES_DIR = HERE / "pages"
RENDERED_DIR = HERE / "rendered"
OUTPUT = ROOT / "tierslieux" / "sample" / "movilab-sample.xml"

EXPORT_VERSION = "0.11"
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
_REDIRECT = re.compile(r"#(?:REDIRECTION|REDIRECT)\s*\[\[([^\]|#]+)", re.IGNORECASE)


class SampleError(Exception):
    """The sample sources are inconsistent."""


@dataclass(frozen=True)
class Revision:
    rev_id: int
    parent: int | None
    timestamp: str
    contributor: str
    contributor_id: int
    comment: str
    text: str


@dataclass(frozen=True)
class Page:
    title: str
    ns: int
    page_id: int
    redirect: str | None
    revisions: tuple[Revision, ...]


# ------------------------------------------------------------------- MediaWiki helpers


def base36_sha1(text: str) -> str:
    """SHA-1 of the UTF-8 text in base 36, zero-padded to 31 digits (as MediaWiki stores it)."""
    number = int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16)
    digits = ""
    while number:
        number, rest = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
    return digits.rjust(31, "0")


def escape_text(text: str) -> str:
    """PHP ``htmlspecialchars($s, ENT_NOQUOTES)``, used for element contents."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attr(text: str) -> str:
    """MediaWiki ``Sanitizer::encodeAttribute`` (``htmlspecialchars`` with ENT_QUOTES)."""
    text = escape_text(text).replace('"', "&quot;").replace("'", "&#039;")
    return text.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


def element(name: str, contents: str, attrs: dict[str, str] | None = None) -> str:
    """``Xml::element``: ``<name a="v">contents</name>``, or ``<name a="v" />`` when empty."""
    attr_text = "".join(f' {k}="{escape_attr(v)}"' for k, v in (attrs or {}).items())
    if contents == "":
        return f"<{name}{attr_text} />"
    return f"<{name}{attr_text}>{escape_text(contents)}</{name}>"


# ------------------------------------------------------------------------ load sources


def _load_text(name: str, where: str) -> str:
    path = PAGES_DIR / name
    if not path.is_file():
        raise SampleError(f"{where}: file {path.relative_to(ROOT)} not found")
    raw = path.read_bytes()
    if b"\r" in raw:
        raise SampleError(f"{where}: {name} has CR characters; use LF line ends")
    text = raw.decode("utf-8")
    if unicodedata.normalize("NFC", text) != text:
        raise SampleError(f"{where}: {name} is not in Unicode NFC (MediaWiki stores NFC)")
    # MediaWiki strips trailing whitespace when a page is saved.
    return text.rstrip()


def load_spec(spec_path: Path = SPEC) -> tuple[dict, list[Page]]:
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    site = spec["siteinfo"]
    namespaces = {int(k): str(v) for k, v in site["namespaces"].items()}
    users = {str(k): int(v) for k, v in spec["contributors"].items()}
    pages: list[Page] = []
    seen_pages: set[int] = set()
    seen_titles: set[str] = set()
    seen_revs: set[int] = set()
    for entry in spec["pages"]:
        title, ns, page_id = entry["title"], int(entry["ns"]), int(entry["id"])
        where = f"page {title!r}"
        prefix = namespaces.get(ns)
        if prefix is None:
            raise SampleError(f"{where}: unknown namespace {ns}")
        if prefix and not title.startswith(prefix + ":"):
            raise SampleError(f"{where}: namespace {ns} titles start with {prefix!r}:")
        if not prefix and any(title.startswith(p + ":") for p in namespaces.values() if p):
            raise SampleError(f"{where}: has a namespace prefix but ns is 0")
        if page_id in seen_pages or title in seen_titles:
            raise SampleError(f"{where}: duplicate page id {page_id} or title")
        rendered = entry.get("rendered")
        if rendered and not (RENDERED_DIR / rendered).is_file():
            raise SampleError(f"{where}: rendered capture {rendered!r} not found in rendered/")
        seen_pages.add(page_id)
        seen_titles.add(title)
        revisions: list[Revision] = []
        previous: Revision | None = None
        for rev in entry["revisions"]:
            rev_id = int(rev["id"])
            rwhere = f"{where}, revision {rev_id}"
            if rev_id in seen_revs:
                raise SampleError(f"{rwhere}: duplicate revision id")
            seen_revs.add(rev_id)
            parent = rev.get("parent")
            expected_parent = previous.rev_id if previous else None
            if parent != expected_parent:
                raise SampleError(f"{rwhere}: parent is {parent}, expected {expected_parent}")
            timestamp = str(rev["timestamp"])
            if not _TIMESTAMP.match(timestamp):
                raise SampleError(f"{rwhere}: timestamp {timestamp!r} is not YYYY-MM-DDTHH:MM:SSZ")
            if previous and (rev_id <= previous.rev_id or timestamp <= previous.timestamp):
                raise SampleError(f"{rwhere}: revisions must be listed oldest first")
            user = str(rev["contributor"])
            if user not in users:
                raise SampleError(f"{rwhere}: contributor {user!r} is not in `contributors`")
            previous = Revision(
                rev_id=rev_id,
                parent=parent,
                timestamp=timestamp,
                contributor=user,
                contributor_id=users[user],
                comment=str(rev.get("comment") or ""),
                text=_load_text(str(rev["file"]), rwhere),
            )
            revisions.append(previous)
        if not revisions:
            raise SampleError(f"{where}: no revisions")
        redirect = entry.get("redirect")
        match = _REDIRECT.match(revisions[-1].text)
        target = match.group(1).strip() if match else None
        if redirect != target:
            raise SampleError(f"{where}: `redirect` is {redirect!r} but the text redirects to {target!r}")
        pages.append(Page(title, ns, page_id, redirect, tuple(revisions)))
    pages.sort(key=lambda p: p.page_id)
    return site, pages


# ----------------------------------------------------------------------------- render


def render(site: dict, pages: list[Page]) -> str:
    ver = EXPORT_VERSION
    out = [
        f'<mediawiki xmlns="http://www.mediawiki.org/xml/export-{ver}/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="http://www.mediawiki.org/xml/export-{ver}/ '
        f'http://www.mediawiki.org/xml/export-{ver}.xsd" '
        f'version="{ver}" xml:lang="{escape_attr(site["lang"])}">\n',
        "  <siteinfo>\n",
        f"    {element('sitename', site['sitename'])}\n",
        f"    {element('dbname', site['dbname'])}\n",
        f"    {element('base', site['base'])}\n",
        f"    {element('generator', site['generator'])}\n",
        f"    {element('case', site['case'])}\n",
        "    <namespaces>\n",
    ]
    for key, name in sorted((int(k), str(v)) for k, v in site["namespaces"].items()):
        attrs = {"key": str(key), "case": site["case"]}
        out.append(f"      {element('namespace', name, attrs)}\n")
    out += ["    </namespaces>\n", "  </siteinfo>\n"]
    for page in pages:
        out += [
            "  <page>\n",
            f"    {element('title', page.title)}\n",
            f"    {element('ns', str(page.ns))}\n",
            f"    {element('id', str(page.page_id))}\n",
        ]
        if page.redirect:
            out.append(f"    {element('redirect', '', {'title': page.redirect})}\n")
        for rev in page.revisions:
            sha1 = base36_sha1(rev.text)
            out += [
                "    <revision>\n",
                f"      {element('id', str(rev.rev_id))}\n",
            ]
            if rev.parent:
                out.append(f"      {element('parentid', str(rev.parent))}\n")
            out += [
                f"      {element('timestamp', rev.timestamp)}\n",
                "      <contributor>\n",
                f"        {element('username', rev.contributor)}\n",
                f"        {element('id', str(rev.contributor_id))}\n",
                "      </contributor>\n",
            ]
            if rev.comment:
                out.append(f"      {element('comment', rev.comment)}\n")
            text_attrs = {
                "bytes": str(len(rev.text.encode("utf-8"))),
                "sha1": sha1,
                "xml:space": "preserve",
            }
            out += [
                f"      {element('origin', str(rev.rev_id))}\n",
                f"      {element('model', 'wikitext')}\n",
                f"      {element('format', 'text/x-wiki')}\n",
                f"      {element('text', rev.text, text_attrs)}\n",
                f"      {element('sha1', sha1)}\n",
                "    </revision>\n",
            ]
        out.append("  </page>\n")
    out.append("</mediawiki>\n")
    return "".join(out)


def build() -> bytes:
    site, pages = load_spec()
    return render(site, pages).encode("utf-8")


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the XML differs from the sources")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the XML")
    args = parser.parse_args(argv)
    try:
        data = build()
    except (SampleError, KeyError, ValueError, yaml.YAMLError) as exc:
        print(f"build_sample: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if not args.output.is_file() or args.output.read_bytes() != data:
            print(f"build_sample: {args.output} is out of date; run "
                  "python sample-src/build_sample.py", file=sys.stderr)
            return 1
        return 0
    _write_atomic(args.output, data)
    print(f"build_sample: wrote {args.output} ({len(data)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
