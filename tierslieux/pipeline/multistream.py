"""Wikimedia's multistream dumps, read as independent bz2 streams, in parallel.

``*-pages-articles-multistream.xml.bz2`` is a concatenation of bz2 streams: the first holds the
export's header (``<mediawiki …>`` and ``<siteinfo>``), each of the next ones about a hundred
``<page>`` elements, the last one ends with ``</mediawiki>``. Its index,
``*-multistream-index.txt.bz2``, has one line ``offset:page_id:title`` per page, where
``offset`` is the byte offset in the dump of the stream that holds the page.

A partition is the byte range of one stream. Each worker (a local process, or a Dask worker
with ``--cluster``) reads and parses only its own ranges of the dump, by path (the dump must be
on a filesystem every worker sees); the pages come back in file order, a bounded number of
partitions at a time, and the process that owns the store writes them (``harvest.py``), so the
store is the same as the one-reader path makes of the same dump.
"""

from __future__ import annotations

import bz2
import io
import os
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tierslieux.errors import DumpError, MissingInputError
from tierslieux.model.records import Issue, PageRevision
from tierslieux.pipeline.dump import OnSkip, read_dump

#: a bz2 stream starts with "BZh", the block size, then a block or the end-of-stream magic
_STREAM_START = re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)")
_ROOT = re.compile(rb"<mediawiki\b[^>]*>")
_END = re.compile(rb"</mediawiki>\s*\Z")


def index_beside(dump: Path) -> Path | None:
    """The index Wikimedia publishes beside a multistream dump, if it is there:
    ``X-multistream.xml.bz2`` -> ``X-multistream-index.txt.bz2``."""
    name = dump.name
    if not name.endswith(".xml.bz2"):
        return None
    index = dump.with_name(name.removesuffix(".xml.bz2") + "-index.txt.bz2")
    return index if index.is_file() else None


@dataclass(frozen=True)
class Multistream:
    """What every partition's reader needs: the dump's path and its root element."""

    path: str
    #: the ``<mediawiki …>`` start tag of the header stream (its namespaces, xml:lang)
    root: bytes

    def close(self) -> None:
        """Nothing to close (the engines' shared objects may have something)."""


def stream_offsets(dump: Path, index: Path) -> list[int]:
    """The offsets of the page streams, checked: each is the start of a bz2 stream of the
    dump, after the header stream; DumpError otherwise, naming the index line."""
    size = dump.stat().st_size
    offsets: list[int] = []
    lines: dict[int, int] = {}
    try:
        with bz2.open(index, "rt", encoding="utf-8", newline="\n") as fh:
            for number, line in enumerate(fh, 1):
                offset, sep1, rest = line.partition(":")
                page_id, sep2, title = rest.partition(":")
                if not (sep1 and sep2 and offset.isdigit() and page_id.isdigit()
                        and title.strip("\n")):
                    raise DumpError(f"{index}: line {number} is not offset:page_id:title")
                value = int(offset)
                if offsets and value < offsets[-1]:
                    raise DumpError(f"{index}: line {number}: offset {value} is before the "
                                    "previous line's (the index is in dump order)")
                if not offsets or value != offsets[-1]:
                    offsets.append(value)
                    lines[value] = number
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DumpError(f"{index}: cannot be read as a bz2 multistream index ({exc})") from None
    if not offsets:
        raise DumpError(f"{index}: empty index")
    with open(dump, "rb") as fh:
        for offset in offsets:
            fh.seek(offset)
            if offset >= size or not _STREAM_START.match(fh.read(10)):
                where = "beyond the end of" if offset >= size else "not the start of a bz2 " \
                    "stream in"
                raise DumpError(f"{index}: line {lines[offset]}: offset {offset} is {where} "
                                f"{dump} (not this dump's index, or a truncated dump)")
    if offsets[0] == 0:
        raise DumpError(f"{index}: line 1: offset 0 is the header stream of {dump}, not a "
                        "stream of pages")
    return offsets


def open_multistream(dump: Path, index: Path) -> tuple[Multistream, list[tuple[int, int]]]:
    """The dump's shared part and its partitions (byte ranges of streams, in file order)."""
    offsets = stream_offsets(dump, index)
    with open(dump, "rb") as fh:
        header = _decompress(fh.read(offsets[0]), dump, 0)
    root = _ROOT.search(header)
    if root is None or b"<siteinfo" not in header:
        raise DumpError(f"{dump}: its first bz2 stream is not the export's header "
                        "(<mediawiki> and <siteinfo>)")
    ends = offsets[1:] + [dump.stat().st_size]
    return Multistream(str(dump), root.group(0)), list(zip(offsets, ends))


def _decompress(data: bytes, dump: Path | str, start: int) -> bytes:
    try:
        return bz2.decompress(data)
    except (OSError, ValueError, EOFError) as exc:
        raise DumpError(f"{dump}: the bz2 streams from byte {start} cannot be read ({exc}): "
                        "a truncated or damaged dump") from None


def read_partition(shared: Multistream, part: tuple[int, int]
                   ) -> list[tuple[PageRevision | None, Issue | None]]:
    """The pages of one byte range (and what was skipped), in file order. A task of the
    engines: runs in a worker process, reads the dump by path."""
    return parse_partition(shared, partition_bytes(shared, part), part[0])


def partition_bytes(shared: Multistream, part: tuple[int, int]) -> bytes:
    """The compressed bytes of one partition, read from the dump by path."""
    start, end = part
    with open(shared.path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    if len(data) != end - start:
        raise DumpError(f"{shared.path}: ends before byte {end}: a truncated dump")
    return data


def parse_partition(shared: Multistream, data: bytes, start: int
                    ) -> list[tuple[PageRevision | None, Issue | None]]:
    """The pages of the partition whose bytes, at byte ``start`` of the dump, are ``data``."""
    text = _END.sub(b"", _decompress(data, shared.path, start))
    document = io.BytesIO(shared.root + text + b"</mediawiki>")
    out: list[tuple[PageRevision | None, Issue | None]] = []
    try:
        for revision in read_dump(shared.path, on_skip=lambda issue: out.append((None, issue)),
                                  stream=document):
            out.append((revision, None))
    except DumpError as exc:
        raise DumpError(f"{exc} (in the bz2 stream at byte {start})") from None
    return out


#: ``engine(processes, shared)``: a context manager giving an engine of ``runner/engine.py``
#: (``bounded``, ``slots``) whose tasks receive ``shared``
EngineFactory = Callable[[int, Multistream], AbstractContextManager[Any]]


def multistream_reader(dump: Path, index: Path | None, engine: EngineFactory, *,
                       workers: int = 0) -> Callable[..., Iterator[PageRevision]] | None:
    """A reader for ``harvest_dump`` that parses the streams of a multistream dump in
    parallel on ``engine`` (``workers`` local processes, 0: one per core), or None for a dump
    that is not one (no index given nor beside it)."""
    if index is not None and not index.is_file():
        raise MissingInputError(f"{index}: no such file (--dump-index)")
    index = index or index_beside(dump)
    if index is None:
        return None
    if not dump.name.endswith(".bz2"):
        raise DumpError(f"{dump}: a multistream dump is a .xml.bz2 file (--dump-index "
                        f"{index} given)")

    def read(path: Path, on_skip: OnSkip | None = None) -> Iterator[PageRevision]:
        shared, parts = open_multistream(Path(path), index)
        count = 1 if len(parts) < 2 else (workers or os.cpu_count() or 1)
        with engine(count, shared) as running:
            for results in running.bounded(read_partition, parts, 4 * running.slots):
                for revision, issue in results:
                    if issue is not None:
                        if on_skip is None:  # as read_dump says it
                            raise DumpError(f"{path}: page {issue.page_title!r} "
                                            f"({issue.original}): "
                                            f"{issue.message.removesuffix(': page skipped')}")
                        on_skip(issue)
                    else:
                        yield revision

    return read
