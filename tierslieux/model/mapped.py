"""Pages of a file mapped read-only given back behind a forward pass.

A pass over a mapped file (``mmap``) makes every page it reads resident: they count in the
process's memory until the map is closed, i.e. the whole file by the end of the pass (190 MB
for a merged file of 8,000 sample pages). ``Releaser.release(at)`` gives the pages behind
``at`` back to the kernel every ``RELEASE`` bytes (``madvise(MADV_DONTNEED)``); a read behind
``at`` later reads them again from the file, so it is only a cost, never a wrong byte.
"""

from __future__ import annotations

import mmap
from typing import Any

#: bytes of a mapped file read past before their pages are given back
RELEASE = 1 << 24 if hasattr(mmap, "MADV_DONTNEED") else 1 << 62


class Releaser:
    """Gives back the pages of ``data`` (an ``mmap``; anything else is left alone) behind a
    position that only moves forward."""

    def __init__(self, data: Any, every: int | None = None) -> None:
        self.data = data if isinstance(data, mmap.mmap) else None
        self.every = RELEASE if every is None else every
        #: where the pages given back end
        self.released = 0

    def release(self, at: int) -> None:
        if self.data is None or at - self.released < self.every:
            return
        end = at - at % mmap.PAGESIZE
        self.data.madvise(mmap.MADV_DONTNEED, self.released, end - self.released)
        self.released = end
