"""The segments of a release cut ahead of their writer, in a thread of their own.

``segwrite.write_segments`` meets each segment of the cut in turn: a segment the segment cache
holds is written from it, the others are sent to the writers' pool. In a rebuild nearly every
segment is a kept one, and the cut is the SHA-256 of each kept range of the mapped merged files
(keptcut.py): hashlib (over 2 KB) lets other threads run, so the cut is made by a producer
thread (``ReadAhead``) while the writer assembles the files of the segments before.

The producer only says whether the cache holds each segment (``SegmentCache.holds``, one
``stat``): a segment it holds stays a ``keptcut.Span`` (a range of the mapped file, a few
bytes), the others are made whole (their lines and triples) for the pool. Only whole segments
count in the producer's bound (``DEPTH``): the cut runs ahead of the writer through every
segment it recognises, so the writer meets the segments to render, and sends them to the pool,
as soon as the cut has found them, not once it has written everything before them. The cached
entries are read (and their table pieces looked up) by a reader thread of the writer's, a few
entries ahead of it (``segwrite.READ_AHEAD``). The mapped files stay open until the writer is
done (``release_segments``' ``stack``): an entry found damaged when read is rendered from its
range then.

The writer meets the segments in the cut's order, as before: the files are the same, byte for
byte.

``ReadAhead`` (a context manager, iterated by the consumer):

- what the producer raises (in the cut, in a lookup) is raised by the consumer's ``next``, in
  its place: the items before it are handed on first;
- when the consumer leaves early (an exception, a ``break``), the producer is told to stop and
  the queue emptied; the source is closed in the producer's thread (a generator runs in one
  thread at a time: the cut does not keep a partial cut) and the thread is joined before the
  ``with`` block ends;
- at most ``depth`` results for which ``heavy`` is true (all, by default) wait in the queue, and
  one more is being made; the others do not count.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Generic, TypeVar

from tierslieux.exports import keptcut

T = TypeVar("T")
U = TypeVar("U")

#: whole segments cut ahead of the writer (each holds its lines and triples)
DEPTH = 8

_DONE = object()


class _Failed:
    """What the producer raised, in the queue."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class ReadAhead(Generic[U], Iterator[U]):
    """``look(item)`` of each item of ``source``, made in a thread ahead of the consumer."""

    def __init__(self, source: Iterable[T], look: Callable[[T], U], depth: int = DEPTH,
                 name: str = "read-ahead", heavy: Callable[[U], bool] | None = None) -> None:
        self._source = source
        self._look = look
        self._heavy = heavy
        #: (result, whether it took a slot); never full: the slots bound the heavy results
        self._queue: queue.Queue[Any] = queue.Queue()
        self._slots = threading.Semaphore(max(1, depth))
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
                heavy = self._heavy is None or self._heavy(result)
                if heavy and not self._take_slot():
                    return
                self._queue.put((result, heavy))
            self._queue.put((_DONE, False))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._queue.put((_Failed(exc), False))  # (emptied unread if the consumer stopped)
        finally:
            close = getattr(source, "close", None)
            try:
                if close is not None:
                    close()
            except BaseException as exc:  # noqa: BLE001 - raised once the consumer is out
                self._late = exc

    def _take_slot(self) -> bool:
        """A slot for a heavy result, once the consumer has taken one; False if told to stop."""
        while not self._slots.acquire(timeout=0.05):
            if self._stopping.is_set():
                return False
        return not self._stopping.is_set()

    def __next__(self) -> U:
        if self._finished:
            raise StopIteration
        item, heavy = self._queue.get()
        if heavy:
            self._slots.release()
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
            try:  # what waits is dropped (a producer waiting for a slot sees the stop)
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        if self._thread.ident is not None:
            self._thread.join()


def segments_ahead(job: Any, cache_folder: Path | None, cache: Any, stack: ExitStack
                   ) -> ReadAhead[tuple[Any, bool]]:
    """The segments of ``job``'s release (``keptcut.release_segments``, its mapped files
    closed by ``stack``), each with whether the segment cache (``cache``, a ``SegmentCache``)
    holds it: ``(segment, held)``, the segment whole when it is not held."""

    def look(segment: Any) -> tuple[Any, bool]:
        held = cache is not None and cache.holds(segment.kind, segment.digest)
        if not held:
            segment = keptcut.whole(segment)
            segment.digest  # noqa: B018 - hashed here, not by the writer
        return segment, held

    return ReadAhead(keptcut.release_segments(job.lines, job.ordered, cache_folder, stack),
                     look, name="segments-ahead",
                     heavy=lambda found: not isinstance(found[0], keptcut.Span))
