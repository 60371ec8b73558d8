"""The gzipped N-Triples dump (``tierslieux.nt.gz`` and the diff files), written and read.

The exports never load an RDF library to write: they work on the N-Triples lines themselves
(``model/lines.py`` checks and orders them, ``model/rdf.py`` writes and reads their terms).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from tierslieux.model.lines import SortedLines

#: gzip level of every ``.nt.gz`` file; with mtime 0 and no file name the bytes depend only on
#: the content (and on the zlib version).
GZIP_LEVEL = 6


def write_ntriples_gz(lines: Iterable[str], path: Path) -> int:
    """Write lines (already in line order) as gzipped N-Triples; return how many were written.

    The gzip header carries mtime 0 and no file name, so equal lines give equal bytes.
    Lines that are at hand as bytes (``SortedLines.line_bytes``) are compressed as they are:
    deflate's output depends on the bytes, not on how they were handed to it.
    """
    blocks = lines.line_bytes() if isinstance(lines, SortedLines) else None
    with NTriplesGzWriter(path) as out:
        if blocks is not None:
            for block in blocks:
                out.write_bytes(block)
            out.count = len(lines)  # type: ignore[arg-type]
        else:
            for line in lines:
                out.write(line)
    return out.count


class NTriplesGzWriter:
    """``write_ntriples_gz`` one line at a time (a context manager); ``reset()`` starts the
    file again, empty."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._batch: list[str] = []
        self._open()

    def _open(self) -> None:
        self._raw = open(self.path, "wb")
        self._stream = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0,
                                     compresslevel=GZIP_LEVEL)

    def write(self, line: str) -> None:
        self._batch.append(line)
        if len(self._batch) >= 65536:
            self.count += _flush(self._stream, self._batch)

    def write_bytes(self, block: bytes) -> None:
        """Lines already encoded, each ending with a newline (counted by the caller)."""
        self.count += _flush(self._stream, self._batch)
        self._stream.write(block)

    def reset(self) -> None:
        self._close()
        self.count = 0
        self._batch.clear()
        self._open()

    def _close(self) -> None:
        try:
            self.count += _flush(self._stream, self._batch)
            self._stream.close()
        finally:
            self._raw.close()

    def __enter__(self) -> NTriplesGzWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()


def _flush(stream: BinaryIO, batch: list[str]) -> int:
    if not batch:
        return 0
    stream.write(("\n".join(batch) + "\n").encode("utf-8"))
    n = len(batch)
    batch.clear()
    return n
