"""The Dask engine (``engine.py``): imported only when a build names a cluster.

The build's ``Shared`` object reaches every worker once, by a ``WorkerPlugin`` (a worker that
joins later, or replaces a dead one, receives it too); each task names it by a token and finds
it in its worker process. Results come back in submission order, at most ``in_flight`` at a
time: nothing of the whole wiki waits in the scheduler's memory. The release's segments
(``exports/segments.py``) are rendered there too, each batch sent with the small rendering
setup; the segment cache must then be on the shared filesystem as well.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

from distributed import Client, WorkerPlugin, get_worker

from tierslieux.errors import ClusterError, ClusterUnreachableError

log = logging.getLogger("tierslieux.engine")

#: seconds to wait for the scheduler (and for a first worker) before giving up
CONNECT_TIMEOUT = 5.0

#: in a Dask worker process: token -> the Shared object of a build (set by SharedPlugin)
_WORKER_SHARED: dict[str, Any] = {}
#: (token, thread id) -> the copy of it a worker thread uses: a task opens the store in the
#: thread it runs in (SQLite connections belong to one thread), and a worker may have several
_THREAD_SHARED: dict[tuple[str, int], Any] = {}
_THREAD_LOCK = threading.Lock()


class SharedPlugin(WorkerPlugin):
    """Hands a worker the build's ``Shared`` object (pickled once per worker, not per task)."""

    def __init__(self, token: str, shared: Any) -> None:
        self.token = token
        self.shared = shared
        self.name = f"tierslieux-{token}"

    def setup(self, worker: Any) -> None:
        _WORKER_SHARED[self.token] = self.shared

    def teardown(self, worker: Any) -> None:
        _WORKER_SHARED.pop(self.token, None)
        with _THREAD_LOCK:
            copies = [_THREAD_SHARED.pop(key) for key in list(_THREAD_SHARED)
                      if key[0] == self.token]
        for held in copies:
            # the store was opened by another thread: SQLite refuses to close it from this
            # one, dropping the last reference closes it
            with contextlib.suppress(Exception):
                held.close()
            if getattr(held, "store", None) is not None:
                held.store = None
        del copies
        gc.collect()


def _thread_shared(token: str) -> Any:
    key = (token, threading.get_ident())
    with _THREAD_LOCK:
        shared = _THREAD_SHARED.get(key)
        if shared is None:
            try:
                shared = copy.copy(_WORKER_SHARED[token])
            except KeyError:
                raise ClusterError("a Dask worker has not received the build's data (its "
                                   "plugin failed: see the worker's log)") from None
            _THREAD_SHARED[key] = shared
    return shared


def _on_worker(token: str, fn: Callable, *args: Any) -> tuple[str, float, Any]:
    """Run ``fn(shared, *args)`` in a Dask worker: (worker address, seconds, result)."""
    start = time.perf_counter()
    result = fn(_thread_shared(token), *args)
    return get_worker().address, time.perf_counter() - start, result


def _render_on_worker(setup: Any, batch: list, folder: str | None) -> tuple[str, float, Any]:
    """Render a batch of the release's segments in a Dask worker (``segments.render_batch``)."""
    from tierslieux.exports.segments import render_batch

    start = time.perf_counter()
    result = render_batch(setup, batch, folder)
    return get_worker().address, time.perf_counter() - start, result


@dataclass
class _Throughput:
    tasks: int = 0
    #: pages (results of the tasks of ``bounded``) and the seconds they took
    items: int = 0
    seconds: float = 0.0
    #: segments of the release rendered
    segments: int = 0


class _RemoteBatch:
    """A batch of segments on the cluster, as ``segwrite.write_segments`` waits for it (the
    surface of a ``concurrent.futures.Future`` it uses; it is never taken back)."""

    def __init__(self, engine: DaskEngine, future: Any) -> None:
        self._engine = engine
        self._future = future

    def done(self) -> bool:
        return self._future.done()

    def cancel(self) -> bool:
        return False

    def result(self) -> Any:
        worker, _, rendered = self._future.result()
        self._engine._futures.discard(self._future)
        seen = self._engine.done.setdefault(worker, _Throughput())
        seen.tasks += 1
        seen.segments += len(rendered)
        return rendered


class SegmentRenderer:
    """The cluster's workers, for the release's segments (``Engine.segment_renderer``)."""

    def __init__(self, engine: DaskEngine) -> None:
        self._engine = engine
        self.slots = engine.slots

    def submit(self, setup: Any, batch: list, folder: str | None) -> _RemoteBatch:
        folder = os.path.abspath(folder) if folder else None
        future = self._engine.client.submit(_render_on_worker, setup, batch, folder,
                                            pure=False)
        self._engine._futures.add(future)
        return _RemoteBatch(self._engine, future)


@dataclass
class DaskEngine:
    """A ``dask.distributed`` cluster for the per-page work, a local pool (``local``, a
    ``LocalEngine``) for the rest."""

    client: Any
    token: str
    local: Any
    address: str
    #: worker threads of the cluster (tasks that can run at once)
    slots: int
    #: worker address -> what it did (logged at the end)
    done: dict[str, _Throughput] = field(default_factory=dict)
    _futures: set = field(default_factory=set)

    @property
    def name(self) -> str:
        return f"dask {self.address}"

    def submit(self, fn: Callable, /, *args: Any) -> Future:
        return self.local.submit(fn, *args)

    def _submit(self, fn: Callable, args: tuple) -> Any:
        # pure=False: the same call in a later build must run again (the files changed)
        future = self.client.submit(_on_worker, self.token, fn, *args, pure=False)
        self._futures.add(future)
        return future

    def _result(self, future: Any, *, items: bool = False) -> Any:
        worker, seconds, result = future.result()
        self._futures.discard(future)
        seen = self.done.setdefault(worker, _Throughput())
        seen.tasks += 1
        if items:  # a task of ``bounded`` returns one result per page (or per dump page)
            seen.items += len(result)
            seen.seconds += seconds
        return result

    def bounded(self, fn: Callable, tasks: Iterable[Any], in_flight: int) -> Iterator[Any]:
        pending: deque[Any] = deque()
        for task in tasks:
            pending.append(self._submit(fn, (task,)))
            if len(pending) >= in_flight:
                yield self._result(pending.popleft(), items=True)
        while pending:
            yield self._result(pending.popleft(), items=True)

    def each(self, fn: Callable, arguments: Sequence[tuple]) -> list[Any]:
        futures = [self._submit(fn, args) for args in arguments]
        return [self._result(future) for future in futures]

    def segment_renderer(self) -> SegmentRenderer:
        return SegmentRenderer(self)

    def cancel(self) -> None:
        """Cancel the tasks this build left on the cluster."""
        if self._futures:
            with contextlib.suppress(Exception):
                self.client.cancel(list(self._futures), force=True)
            self._futures.clear()

    def log_throughput(self) -> None:
        for worker, seen in sorted(self.done.items()):
            rate = seen.items / seen.seconds if seen.seconds else 0.0
            log.info("Dask worker %s: %d pages in %.1f s of work (%.0f pages/s), %d segments, "
                     "%d tasks", worker, seen.items, seen.seconds, rate, seen.segments,
                     seen.tasks)


def _absolute(shared: Any) -> Any:
    """``shared`` with its paths absolute (a worker's working folder is not ours)."""
    changes = {name: os.path.abspath(getattr(shared, name))
               for name in ("store_path", "cache_path", "path")
               if isinstance(getattr(shared, name, None), str)}
    return replace(shared, **changes) if changes else shared


@contextlib.contextmanager
def dask_engine(address: str, shared: Any, local: Any) -> Iterator[DaskEngine]:
    """Connect to the scheduler at ``address``, hand its workers ``shared``; to enter. Leaving
    with an exception (Ctrl-C included) cancels this build's tasks, then closes the client."""
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterUnreachableError(
            f"no Dask scheduler answered at {address} within {CONNECT_TIMEOUT:.0f} s "
            f"({reason}); start one with 'dask scheduler' or check --cluster") from None
    token = uuid.uuid4().hex
    plugin = SharedPlugin(token, _absolute(shared))
    try:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError):
            raise ClusterUnreachableError(
                f"the Dask scheduler at {address} has no worker (waited "
                f"{CONNECT_TIMEOUT:.0f} s); start some with 'dask worker {address}'") from None
        client.register_plugin(plugin, name=plugin.name)
        slots = sum(client.nthreads().values()) or 1
        engine = DaskEngine(client, token, local, address, slots)
        log.info("Engine: dask %s (%d worker threads)", address, slots)
        try:
            yield engine
        except BaseException:
            engine.cancel()
            raise
        engine.log_throughput()
    finally:
        with contextlib.suppress(Exception):
            client.unregister_worker_plugin(plugin.name)
        with contextlib.suppress(Exception):
            client.close(timeout=CONNECT_TIMEOUT)
