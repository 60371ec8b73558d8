"""Write a Wikimedia multistream dump (and its index) from a plain MediaWiki XML export, the way
Wikimedia writes them: bz2 streams concatenated (the header with <siteinfo>, then about a
hundred <page> elements each, then the closing tag), and an index of lines
``offset:page_id:title`` giving, for each page, the byte offset of the stream that holds it."""

from __future__ import annotations

import bz2
import html
import re
from pathlib import Path

_PAGE = re.compile(r"  <page>\n.*?</page>\n", re.S)
_TITLE = re.compile(r"<title>(.*?)</title>")
_ID = re.compile(r"</ns>\s*<id>(\d+)</id>")


def write_multistream(export: Path, folder: Path, name: str = "wiki-20261201",
                      pages_per_stream: int = 100) -> tuple[Path, Path]:
    """``<name>-pages-articles-multistream.xml.bz2`` and its ``-index.txt.bz2`` in ``folder``."""
    text = export.read_text(encoding="utf-8")
    pages = list(_PAGE.finditer(text))
    head, tail = text[:pages[0].start()], text[pages[-1].end():]
    dump = folder / f"{name}-pages-articles-multistream.xml.bz2"
    index = folder / f"{name}-pages-articles-multistream-index.txt.bz2"
    lines = []
    with open(dump, "wb") as out:
        out.write(bz2.compress(head.encode("utf-8")))
        for start in range(0, len(pages), pages_per_stream):
            offset = out.tell()
            group = pages[start:start + pages_per_stream]
            for page in group:
                xml = page.group(0)
                title = html.unescape(_TITLE.search(xml).group(1))
                lines.append(f"{offset}:{_ID.search(xml).group(1)}:{title}\n")
            out.write(bz2.compress("".join(p.group(0) for p in group).encode("utf-8")))
        out.write(bz2.compress(tail.encode("utf-8")))
    index.write_bytes(bz2.compress("".join(lines).encode("utf-8")))
    return dump, index
