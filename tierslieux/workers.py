"""Worker processes that behave: the one process pool every stage uses.

``process_pool(n)`` is a ``concurrent.futures.ProcessPoolExecutor`` of forked workers (they
inherit what the main process prepared: the mapper, the compiled shapes) that:

- ignore SIGINT: Ctrl-C reaches the whole process group, but only the main process decides
  what to do with it (a worker interrupted while it sends a result leaves half a message in the
  pool's pipe, and the pool's thread, then the main process's exit, waiting for the rest
  forever). The workers are all started when the pool is entered, with SIGINT blocked until
  they ignore it, so that no Ctrl-C falls between the fork and that;
- die with the main process: on Linux each worker asks the kernel for SIGTERM when its parent
  dies (``PR_SET_PDEATHSIG``), so a build killed with SIGKILL leaves no worker behind. The
  kernel means the parent *thread*: enter and leave the pool in the same thread;
- are terminated when the ``with`` block ends with an exception (KeyboardInterrupt included),
  instead of being waited for: the pending tasks are cancelled and the running ones killed.

``InlineExecutor`` is its stand-in when one process is enough: the same ``submit`` and
``with``, each task run when it is submitted.

``shared_pool(workers, shared)`` hands every task one object prepared by the caller (the build's
mapper and compiled shapes, the lines a release is written from) without pickling it: a forked
worker receives it at fork time, as an argument of its initializer; each task is then called as
``fn(shared, *args)``. No stage keeps the object in a module of its own: the only copy outside
the caller is the one each forked worker process holds for the pool's lifetime.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

_PR_SET_PDEATHSIG = 1
#: seconds a terminated worker, then the pool's thread, is given to go
_GRACE = 5.0


#: in a worker of ``shared_pool``: the object its tasks receive (set once, at fork)
_SHARED: Any = None


def _init_worker(parent: int, shared: Any = None) -> None:
    global _SHARED
    _SHARED = shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not a handler inherited from the parent
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a pending Ctrl-C is dropped
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request above was made
        os._exit(1)


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT held back in this thread (and in the processes and threads it starts)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def process_pool(workers: int, shared: Any = None) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` forked processes; see the module's docstring. ``shared`` is
    inherited by each worker at fork time (not pickled); see ``shared_pool``."""
    # with the fork start method the initializer's arguments reach the child by the fork itself
    pool = ProcessPoolExecutor(max_workers=max(1, workers),
                               mp_context=multiprocessing.get_context("fork"),
                               initializer=_init_worker, initargs=(os.getpid(), shared))
    try:
        with _sigint_blocked():
            pool.submit(os.getpid)  # a forking pool starts all its workers at the first task
        yield pool
        pool.shutdown(wait=True)
    except BaseException:
        terminate(pool)
        raise


class InlineExecutor(Executor):
    """An executor that runs each task in this process when it is submitted."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - handed to whoever waits on it
            future.set_exception(exc)  # (a Ctrl-C is not: it stops the caller at once)
        return future


class SharedPool:
    """An executor whose tasks all receive the same object first: ``submit(fn, *args)`` runs
    ``fn(shared, *args)``, in this process or in a forked worker (``fn`` and ``args`` are
    pickled, ``shared`` is not)."""

    def __init__(self, executor: Executor, shared: Any, inline: bool, workers: int = 1
                 ) -> None:
        self._executor = executor
        self._shared = shared
        self._inline = inline
        #: the processes that run the tasks (1: this one)
        self.workers = 1 if inline else workers

    def submit(self, fn: Callable, /, *args: Any) -> Future:
        if self._inline:
            return self._executor.submit(fn, self._shared, *args)
        return self._executor.submit(_call_shared, fn, *args)


def _call_shared(fn: Callable, *args: Any) -> Any:
    return fn(_SHARED, *args)


@contextlib.contextmanager
def shared_pool(workers: int, shared: Any) -> Iterator[SharedPool]:
    """``workers`` forked processes sharing ``shared`` (one: this process), to enter."""
    if workers <= 1:
        yield SharedPool(InlineExecutor(), shared, inline=True)
        return
    with process_pool(workers, shared) as pool:
        yield SharedPool(pool, shared, inline=False, workers=workers)


def terminate(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started, kill the workers, and reap them (and the pool's thread).

    A second Ctrl-C while this runs (in the main thread) is ignored: stopping half-way would
    leave what this is meant to clean up."""
    previous = signal.getsignal(signal.SIGINT)  # None: not set from Python, cannot be reset
    if threading.current_thread() is not threading.main_thread() or previous is None:
        _terminate(pool)
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _terminate(pool)
    finally:
        signal.signal(signal.SIGINT, previous)


def _terminate(pool: ProcessPoolExecutor) -> None:
    # shutdown() forgets these: take them first
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    results = getattr(pool, "_result_queue", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.terminate()
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError, AssertionError):
            process.join(timeout=_GRACE)
            if process.is_alive():
                process.kill()
                process.join(timeout=_GRACE)
    # A worker killed while it sent a result left half a message in the pipe, and the pool's
    # thread waits for the rest (and the interpreter, at exit, for that thread). The workers'
    # ends of the pipe died with them: once this last one is closed, that thread reads the end
    # of the pipe instead, and gives up.
    with contextlib.suppress(OSError, AttributeError):
        results._writer.close()  # type: ignore[union-attr]
    if manager is not None and manager is not threading.current_thread():
        manager.join(timeout=_GRACE)
