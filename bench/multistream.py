"""Write a Wikimedia multistream dump (and its index) from a plain MediaWiki XML export, the way
Wikimedia writes them: bz2 streams concatenated (the header with <siteinfo>, then about a
hundred <page> elements each, then the closing tag), and an index of lines
``offset:page_id:title`` giving, for each page, the byte offset of the stream that holds it.

Used by the tests (tests/multistream.py loads this file) and by the multistream benchmark
(bench/cluster.py). The export is read a line at a time and the dump written a stream at a
time, so a dump of any size is written in the memory of one stream of pages.
"""

from __future__ import annotations

import bz2
import html
import re
from collections.abc import Iterator
from pathlib import Path

_TITLE = re.compile(r"<title>(.*?)</title>")
_ID = re.compile(r"</ns>\s*<id>(\d+)</id>")
_START = "  <page>\n"


def _parts(export: Path) -> Iterator[tuple[str, str]]:
    """``("head", text)``, then ``("page", xml)`` for each ``<page>`` element, then
    ``("tail", text)``: the export cut as ``write_multistream`` always cut it (a page from a
    line ``  <page>`` to the next line ending in ``</page>``; element text is escaped, so
    ``</page>`` only ends a page); the tail is what follows the last page."""
    head: list[str] = []
    page: list[str] | None = None
    tail: list[str] | None = None
    with open(export, encoding="utf-8", newline="") as stream:
        for line in stream:
            if page is not None:
                page.append(line)
                if line.endswith("</page>\n"):
                    yield "page", "".join(page)
                    page, tail = None, []
            elif line == _START:
                if tail is None:
                    yield "head", "".join(head)
                page = [line]
            elif tail is None:
                head.append(line)
            else:
                tail.append(line)
    if tail is None or page is not None:
        raise ValueError(f"{export}: no <page> element, or an unfinished one")
    yield "tail", "".join(tail)


def write_multistream(export: Path, folder: Path, name: str = "wiki-20261201",
                      pages_per_stream: int = 100) -> tuple[Path, Path]:
    """``<name>-pages-articles-multistream.xml.bz2`` and its ``-index.txt.bz2`` in ``folder``."""
    dump = folder / f"{name}-pages-articles-multistream.xml.bz2"
    index = folder / f"{name}-pages-articles-multistream-index.txt.bz2"
    lines = bz2.BZ2Compressor()
    group: list[str] = []
    with open(dump, "wb") as out, open(index, "wb") as index_out:

        def flush() -> None:
            offset = out.tell()
            for xml in group:
                title = html.unescape(_TITLE.search(xml).group(1))
                index_out.write(lines.compress(
                    f"{offset}:{_ID.search(xml).group(1)}:{title}\n".encode("utf-8")))
            out.write(bz2.compress("".join(group).encode("utf-8")))
            group.clear()

        for kind, text in _parts(export):
            if kind == "head":
                out.write(bz2.compress(text.encode("utf-8")))
            elif kind == "page":
                group.append(text)
                if len(group) == pages_per_stream:
                    flush()
            else:
                if group:
                    flush()
                out.write(bz2.compress(text.encode("utf-8")))
        index_out.write(lines.flush())
    return dump, index
