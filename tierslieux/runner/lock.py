"""One run at a time per store: a lock file beside the store, held with ``flock``.

The kernel drops an ``flock`` when its holder exits, however it exits (SIGKILL, power cut of
the process, OOM killer), so a killed run never blocks the next one. The lock file records who
holds it (pid, host, start time, command) for the message of a run that finds it taken; a run
that finds the file but no flock on it knows the previous run was killed, takes the lock over
and says so (:attr:`Lock.took_over_stale`).

The file is deleted on a clean release. Because a waiting process may have opened the file just
before it was deleted, a new holder checks that the file it locked is still the one at the path.
Locks on network file systems (NFS) are not reliable: keep the store on a local disk.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import socket
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from tierslieux.errors import LockedError, StoreError

#: attempts when the lock file is replaced under us between open and flock
_ATTEMPTS = 20


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) a lock, as recorded in the lock file."""

    pid: int
    host: str
    started: str
    command: str

    def is_running(self) -> bool | None:
        """Whether the process still exists; None when it ran on another host."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # exists, owned by someone else
            return True
        return True

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, started {self.started} ({self.command})"


#: descriptors of the locks this process holds; a forked child closes its copies at once
_HELD_FDS: set[int] = set()


def _close_held_in_child() -> None:
    """In a forked child (e.g. a build worker): drop the inherited lock descriptors.

    A flock belongs to the open file, which a fork shares: a child that kept its copy would
    keep the store locked after its parent was killed, and the next run would be refused.
    """
    for fd in list(_HELD_FDS):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD_FDS.clear()


os.register_at_fork(after_in_child=_close_held_in_child)


class Lock:
    """A held lock; release it with :meth:`release` or by leaving the ``with`` block."""

    def __init__(self, path: Path, fd: int, holder: LockHolder,
                 stale: LockHolder | None) -> None:
        self.path = path
        self.holder = holder
        #: the holder recorded by a killed run whose lock was taken over, if any
        self.stale = stale
        self._fd: int | None = fd
        _HELD_FDS.add(fd)

    @property
    def took_over_stale(self) -> bool:
        """True when a lock file left by a killed run was found and taken over."""
        return self.stale is not None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Delete the lock file and drop the flock. Calling it twice is harmless."""
        if self._fd is None or os.getpid() != self.holder.pid:
            return   # released already, or a forked child: the lock is its parent's
        fd, self._fd = self._fd, None
        _HELD_FDS.discard(fd)
        try:
            # unlink while still holding the flock, so nobody can lock this path's file
            # between the two steps; openers of the old file notice it is gone (see acquire)
            self.path.unlink(missing_ok=True)
        finally:
            os.close(fd)

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "held" if self.held else "released"
        return f"<Lock {self.path} {state} by pid {self.holder.pid}>"


def lock_path(store_path: str | Path) -> Path:
    """The lock file of a store: ``<store>.lock`` beside it."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + ".lock")


def acquire_lock(store_path: str | Path, command: str | None = None) -> Lock:
    """Take the lock of a store, or raise LockedError naming the run that holds it.

    ``command`` is recorded for the message other runs print; default: this process's argv.
    """
    store_path = Path(store_path)
    path = lock_path(store_path)
    holder = LockHolder(
        pid=os.getpid(),
        host=socket.gethostname(),
        started=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        command=command if command is not None else _argv(),
    )
    for _ in range(_ATTEMPTS):
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = _read_holder(fd)
            os.close(fd)
            who = other.describe() if other else "a run that has not yet said who it is"
            raise LockedError(
                f"store {store_path} is in use by another run: {who}; "
                f"wait for it to finish (lock file {path})"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"cannot lock {path}: {exc.strerror}") from None
        if not _same_file(fd, path):
            # the previous holder deleted the file after we opened it: lock the new one
            os.close(fd)
            continue
        stale = _read_holder(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(asdict(holder), ensure_ascii=False) + "\n").encode(), 0)
        return Lock(path, fd, holder, stale)
    raise StoreError(f"cannot lock {path}: it keeps being replaced by other processes")


def _argv() -> str:
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "?"


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot create lock file {path}: {exc.strerror}") from None


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _read_holder(fd: int) -> LockHolder | None:
    """The holder recorded in the lock file; None when empty or unreadable (being written)."""
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        return LockHolder(pid=int(data["pid"]), host=str(data["host"]),
                          started=str(data["started"]), command=str(data["command"]))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
