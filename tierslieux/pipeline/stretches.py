"""Stretches of whole subjects of a merged triple-order file, for passes that share it out.

A writer that runs in shares side by side (the Linked Data site, exports/release.py) gives each
share the subjects of one stretch of the merged file (``runs.TripleOrder.part``): the file's
bytes cut in ``parts`` nearly equal stretches, each moved forward to the end of the subject it
falls in (the keys of one subject are contiguous: they sort by the subject first), so that
every subject lies in one stretch, and each share reads its stretch only. The cut depends only
on the file's bytes and the number of parts: every share computes the same one.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from pathlib import Path

from tierslieux.model.rdf import Triple

_READ = 1 << 22


def boundary(data: mmap.mmap | bytes, offset: int) -> int:
    """Where a stretch that would start at byte ``offset`` starts: the start of the first
    line after the subject of the line that holds ``offset`` (0 for 0, the size past it)."""
    size = len(data)
    if offset <= 0:
        return 0
    if offset >= size:
        return size
    start = data.rfind(b"\n", 0, offset) + 1
    prefix = data[start:data.find(b"\x01", start) + 1]  # "<subject\x01"
    while start < size and data[start:start + len(prefix)] == prefix:
        end = data.find(b"\n", start)
        start = size if end < 0 else end + 1
    return start


def stretch_bounds(path: Path, number: int, parts: int) -> tuple[int, int]:
    """(start, end) byte offsets of the ``number``-th of ``parts`` stretches of ``path``."""
    size = os.path.getsize(path)
    if size == 0:
        return 0, 0
    with open(path, "rb") as stream, \
            mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return (boundary(data, size * number // parts),
                boundary(data, size * (number + 1) // parts))


class Stretch:
    """The triples of one stretch of a merged triple-order file (re-iterable), as
    ``runs.TripleOrder`` gives the whole file's."""

    def __init__(self, path: Path, number: int, parts: int) -> None:
        self.path = path
        self.number = number
        self.parts = parts

    def __iter__(self) -> Iterator[Triple]:
        start, end = stretch_bounds(self.path, self.number, self.parts)
        with open(self.path, "rb") as stream:
            stream.seek(start)
            left = end - start
            rest = b""
            while left > 0:
                block = stream.read(min(_READ, left))
                if not block:
                    break
                left -= len(block)
                block = rest + block
                cut = block.rfind(b"\n") + 1
                rest = block[cut:]
                if cut:
                    keys = block[:cut - 1].decode("utf-8").split("\n")
                    yield from [(s[1:], p[1:], o[:-2])
                                for s, p, o in (key.split("\x01") for key in keys)]
            if rest:
                s, p, o = rest.decode("utf-8").split("\x01")
                yield s[1:], p[1:], o[:-2]
