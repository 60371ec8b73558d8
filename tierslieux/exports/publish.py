"""Staging folders and the atomic swap of a release.

Layout, for ``--out exports``::

    exports/                     the current release: a plain folder, a stable path for web servers
    exports.previous/            the release it replaced (one generation is kept)
    .exports.staging-<pid>-<r>/  a build in progress; gone when the build ends, well or not

A build writes and validates everything in its staging folder, beside ``exports/`` on the same
file system. Publishing then swaps the two folders with one ``renameat2(RENAME_EXCHANGE)``
call (Linux ≥ 3.15, glibc ≥ 2.28, on ext4, xfs, btrfs, tmpfs…): at every instant ``exports/``
is either the whole old release or the whole new one. The old release, now at the staging path,
becomes ``exports.previous/``. Where the exchange is not available, two ``rename`` calls are
made instead (``exports`` → temporary name, staging → ``exports``), leaving ``exports/`` absent
for the time between them, never half-written.

A build killed with SIGKILL cannot remove its staging folder: the next build does, for every
``.exports.staging-<pid>-<r>/`` (and ``.exports.old-<pid>-<r>/``) whose process is gone — no
process has that id, or the process with that id started after the folder was last written
(the id was reused). The folder of a build still running beside this one is left alone.

A folder is only ever replaced or deleted if it is a release (it holds ``SHA256SUMS``) or is
empty, so that ``--out`` pointed at a folder of other files fails instead of moving it away.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
import secrets
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path

from tierslieux.errors import PublishError

MARKER = "SHA256SUMS"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def previous_dir(out_dir: Path) -> Path:
    return out_dir.with_name(out_dir.name + ".previous")


def is_release(folder: Path) -> bool:
    """True for an existing release folder, or an empty one."""
    return folder.is_dir() and ((folder / MARKER).is_file() or not any(folder.iterdir()))


def check_target(out_dir: Path) -> None:
    """Refuse before any work a target this module must not replace."""
    for folder in (out_dir, previous_dir(out_dir)):
        if folder.is_symlink() or (folder.exists() and not is_release(folder)):
            raise PublishError(
                f"{folder} exists and is not a tierslieux release (no {MARKER}); "
                "choose a new or empty folder for --out"
            )


def _alive(pid: int, since: float) -> bool:
    """Whether the process ``pid`` may still own a folder last written at ``since``."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    except OSError:
        return True
    started = _start_time(pid)
    # a process that started after the folder was last written did not write it
    return started is None or started <= since + 1


def _start_time(pid: int) -> float | None:
    """When ``pid`` started (seconds since the epoch), where /proc tells; else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text()
                    .splitlines() if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def remove_stale(out_dir: Path) -> list[Path]:
    """Remove the staging (and old-release) folders of ``out_dir`` left by builds that were
    killed; return them."""
    removed = []
    pattern = re.compile(rf"\.{re.escape(out_dir.name)}\.(?:staging|old)-(\d+)-[0-9a-f]+")
    try:
        candidates = list(out_dir.parent.iterdir())
    except OSError:
        return removed
    for path in sorted(candidates):
        match = pattern.fullmatch(path.name)
        if match is None or path.is_symlink() or not path.is_dir():
            continue
        try:
            written = path.stat().st_mtime
        except OSError:
            continue
        if not _alive(int(match.group(1)), written):
            if ".old-" in path.name and not out_dir.exists() and is_release(path):
                # killed between the two renames of the fallback: this is the release
                os.rename(path, out_dir)
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def make_staging(out_dir: Path) -> Path:
    """A new, empty staging folder beside ``out_dir`` (created with the usual permissions),
    once the folders of killed builds are removed."""
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale(out_dir)
        staging = parent / f".{out_dir.name}.staging-{os.getpid()}-{secrets.token_hex(4)}"
        staging.mkdir()
    except OSError as exc:
        raise PublishError(f"cannot create a staging folder in {parent}: {exc.strerror}") from exc
    return staging


def remove_tree(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def fsync_tree(folder: Path) -> None:
    """Flush every file of a folder, then the folder, to disk."""
    for path in sorted(folder.iterdir()):
        _fsync(path)
    _fsync_dir(folder)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Flush:
    """Files flushed to disk in a thread while the caller goes on (``fsync`` lets other
    threads run): the dumps, written first, are on disk by the time ``fsync_tree`` comes to
    them. ``wait()`` raises what a flush raised."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, args=(list(paths),), name="flush",
                                        daemon=True)
        self._thread.start()

    def _run(self, paths: list[Path]) -> None:
        try:
            for path in paths:
                _fsync(path)
        except OSError as exc:
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def publish(staging: Path, out_dir: Path) -> Path | None:
    """Make ``staging`` the release at ``out_dir``; return where the old release went, if any."""
    check_target(out_dir)
    previous = previous_dir(out_dir)
    try:
        if not out_dir.exists():
            os.rename(staging, out_dir)
            _fsync_dir(out_dir.parent)
            return None
        if _exchange(staging, out_dir):
            old = staging
        else:
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{secrets.token_hex(4)}")
            os.rename(out_dir, old)
            os.rename(staging, out_dir)
        _fsync_dir(out_dir.parent)
    except OSError as exc:
        raise PublishError(f"cannot publish into {out_dir}: {exc.strerror or exc}") from exc
    # The new release is in place; what follows only keeps the old one.
    try:
        if not any(old.iterdir()):
            old.rmdir()
            return None
        if previous.exists():
            shutil.rmtree(previous)
        os.rename(old, previous)
        _fsync_dir(out_dir.parent)
        return previous
    except OSError as exc:
        shutil.rmtree(old, ignore_errors=True)
        raise PublishError(
            f"published {out_dir}, but the previous release could not be kept as {previous}: "
            f"{exc.strerror or exc}"
        ) from exc


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with renameat2; False where the system cannot."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
