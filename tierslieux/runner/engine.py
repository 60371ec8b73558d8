"""Where the per-page work of a build (and the parsing of a multistream dump) runs.

Two engines, one interface:

- ``LocalEngine``: the local pool of ``tierslieux.workers.shared_pool`` (forked processes that
  inherit the ``Shared`` object, or this process alone), as every build had before;
- ``DaskEngine``: a ``dask.distributed`` cluster named by its scheduler's address
  (``--cluster tcp://host:8786``). Dask is imported only then (the extra
  ``tierslieux[cluster]``).

Both offer:

- ``bounded(fn, tasks, in_flight)``: ``fn(shared, task)`` for every task, at most ``in_flight``
  at a time, results in submission order (so the caller's output cannot depend on which worker
  answered first);
- ``each(fn, argument_tuples)``: ``fn(shared, *args)`` for each, waited for, results in order;
- ``submit(fn, *args)``: one task on the *local* pool (the merges and the SHACL check of a
  build stay on the machine that writes the release);
- ``segment_renderer()``: where the release renders the segments of its RDF dumps
  (``exports/segments.py``): None for the local pool (the writers' pool renders them), the
  cluster's workers for a Dask engine.

A cluster's workers receive the ``Shared`` object once (``engine_dask.py``: a ``WorkerPlugin``).
Tasks read the store and write run files by path: the store and the build cache must be on a
filesystem every worker sees.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any

from tierslieux.errors import ConfigError
from tierslieux.workers import SharedPool, shared_pool


#: the engines' common type (``LocalEngine`` or ``engine_dask.DaskEngine``)
Engine = Any


class LocalEngine:
    """The local pool (``workers.shared_pool``)."""

    def __init__(self, pool: SharedPool, workers: int) -> None:
        self._pool = pool
        #: tasks that can run at once
        self.slots = max(1, workers)
        self.name = f"local ({self.slots} worker{'s' if self.slots > 1 else ''})"

    def submit(self, fn: Callable, /, *args: Any) -> Future:
        return self._pool.submit(fn, *args)

    def bounded(self, fn: Callable, tasks: Iterable[Any], in_flight: int) -> Iterator[Any]:
        pending: deque[Future] = deque()
        for task in tasks:
            pending.append(self._pool.submit(fn, task))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def each(self, fn: Callable, arguments: Sequence[tuple]) -> list[Any]:
        futures = [self._pool.submit(fn, *args) for args in arguments]
        return [future.result() for future in futures]

    def segment_renderer(self) -> None:
        return None  # the release's own writers' pool renders the segments


@contextlib.contextmanager
def open_engine(cluster: str | None, workers: int, shared: Any) -> Iterator[Any]:
    """The engine of a build: the cluster at ``cluster`` when given (``engine_dask.py``), else
    the local pool of ``workers`` processes sharing ``shared``; to enter. The local pool is
    there in both cases, started before any Dask thread (its workers are forked)."""
    with shared_pool(workers, shared) as pool:
        local = LocalEngine(pool, workers)
        if not cluster:
            yield local
            return
        try:
            from tierslieux.runner.engine_dask import dask_engine
        except ImportError:
            raise ConfigError(f"--cluster {cluster}: Dask is not installed; install it with "
                              "pip install 'tierslieux[cluster]'") from None
        with dask_engine(cluster, shared, local) as engine:
            yield engine

