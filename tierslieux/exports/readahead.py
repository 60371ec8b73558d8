"""The segments of a release read ahead of their writer, in a thread of their own.

``segments.write_segments`` meets each segment of the cut in turn, looks it up in the segment
cache and the table pieces' cache, and writes what it finds or sends the segment to the
writers' pool. In a rebuild nearly every segment is a kept one: the cut is the SHA-256 of each
kept range of the mapped merged files (keptcut.py), a lookup the reads and SHA-256 of the
cached parts and the parsing of their JSON. hashlib (over 2 KB) and file reads let other threads
run, so here the cut and the lookups are made by a producer thread (``ReadAhead``), at most
``DEPTH`` segments ahead of the writer, while the writer assembles the files of the segments
before: the main process's wall time is no longer the sum of both.

The writer meets the segments in the cut's order, as before: the files are the same, byte for
byte. The producer only reads (its lookups hold no state of the writer's: ``PieceFlow.meet``
is still the writer's, given what ``PieceFlow.lookup`` found) and hands on whole segments
(``keptcut.whole``) wherever the writer reads their lines or triples, read while the cut's
mapped files are open: the cut closes them once read whole, possibly before the writer is
done. A ``Span`` handed on is only read for its kind and digest.

``ReadAhead`` (a context manager, iterated by the consumer):

- what the producer raises (in the cut, in a lookup) is raised by the consumer's ``next``, in
  its place: the items before it are handed on first;
- when the consumer leaves early (an exception, a ``break``), the producer is told to stop and
  the queue emptied so that it is not blocked; the source is closed in the producer's thread
  (a generator runs in one thread at a time: the cut closes its mapped files and does not keep
  a partial cut) and the thread is joined before the ``with`` block ends;
- at most ``depth`` results wait in the queue, and one more is being made.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from tierslieux.exports import keptcut
from tierslieux.exports.segcut import SUBJECTS

T = TypeVar("T")
U = TypeVar("U")

#: segments looked up ahead of the writer (each holds a segment's lines, or its cached parts)
DEPTH = 8

_DONE = object()


class _Failed:
    """What the producer raised, in the queue."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class ReadAhead(Generic[U], Iterator[U]):
    """``look(item)`` of each item of ``source``, made in a thread ahead of the consumer."""

    def __init__(self, source: Iterable[T], look: Callable[[T], U], depth: int = DEPTH,
                 name: str = "read-ahead") -> None:
        self._source = source
        self._look = look
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
        self._stopping = threading.Event()
        self._finished = False
        #: what closing the source raised once the consumer had stopped reading
        self._late: BaseException | None = None
        self._thread = threading.Thread(target=self._produce, name=name, daemon=True)

    def __enter__(self) -> ReadAhead[U]:
        self._thread.start()
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        self.close()
        if self._late is not None and error is None:
            raise self._late

    def _produce(self) -> None:
        source = iter(self._source)
        try:
            for item in source:
                if self._stopping.is_set():
                    return
                result = self._look(item)
                if self._stopping.is_set():
                    return
                self._queue.put(result)
            self._queue.put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._queue.put(_Failed(exc))  # (emptied unread if the consumer has stopped)
        finally:
            close = getattr(source, "close", None)
            try:
                if close is not None:
                    close()
            except BaseException as exc:  # noqa: BLE001 - raised once the consumer is out
                self._late = exc

    def __next__(self) -> U:
        if self._finished:
            raise StopIteration
        item = self._queue.get()
        if item is _DONE or isinstance(item, _Failed):
            self._finished = True
            if item is _DONE:
                raise StopIteration
            raise item.error
        return item

    def close(self) -> None:
        """Stop the producer (if it still runs) and wait for its thread."""
        self._finished = True
        self._stopping.set()
        while self._thread.is_alive():
            try:  # a producer blocked on a full queue takes its next item, then sees the stop
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        if self._thread.ident is not None:
            self._thread.join()


def segments_ahead(job: Any, cache_folder: Path | None, cache: Any, flow: Any
                   ) -> ReadAhead[tuple[Any, Any, Any]]:
    """The segments of ``job``'s release (``keptcut.release_segments``), each with what the
    segment cache (``cache``, a ``SegmentCache``) and the table pieces (``flow``, a
    ``PieceFlow``) hold of it: ``(segment, rendered or None, piece or None)``, the segment
    whole where the writer reads it (not in the cache, or a piece to make from it)."""

    def look(segment: Any) -> tuple[Any, Any, Any]:
        found = cache.get(segment.kind, segment.digest) if cache is not None else None
        subjects = flow is not None and segment.kind == SUBJECTS
        piece = flow.lookup(segment.digest) if subjects else None
        if found is None or (subjects and piece is None):
            segment = keptcut.whole(segment)
            segment.digest  # noqa: B018 - hashed here, not by the writer
        return segment, found, piece

    return ReadAhead(keptcut.release_segments(job.lines, job.ordered, cache_folder), look,
                     name="segments-ahead")
