"""The kept merge: a rebuild makes the merged release from the last build's, not from every run.

A build merges its sorted runs (``runs.py``) into one file per order. The merge of the last
build is kept in the run folder, per order (``lines``, ``triples``):

``keptmerge.<order>``        the de-duplicated union of the runs, as ``runs._merge_bytes``
                             writes it (before the label fold, ``labels.py``)
``keptmerge.<order>.multi``  the lines held by more than one run, each as ``<count> <line>``,
                             sorted (a line can be in several runs; the others are in one)
``keptmerge.<order>.json``   the names of the runs merged, the line count, how the file was
                             made ("whole" or "kept"), and the size and modification time of
                             both files (a stale or damaged state is not used)

The next build knows the runs that left (their files are still there: ``forget_runs`` keeps the
last build's runs until the merge is done) and the new ones. A line of a run that left goes when
no run left holds it (its count falls to zero); a line of a new run comes in when no kept run held
it. Only those lines are looked for in the kept file (a binary search over its bytes, ``mmap``);
the stretches between them are copied as bytes. The result is the same bytes as a merge of all
the runs (``_merge_bytes``), tested on both ways. When too many runs changed, the state is
missing, stale or does not add up, the runs are merged whole, which writes a new state.
"""

from __future__ import annotations

import json
import mmap
import os
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from tierslieux.pipeline import runs as runs_module

#: the first part of the kept files' names (``BuildCache.forget_runs`` keeps them)
PREFIX = "keptmerge"
#: above this share of the runs' bytes changed (the runs that left plus the new ones, against
#: all the runs), a merge of every run costs less: updating reads and hashes every line of the
#: changed runs, old and new, where the whole merge copies sorted blocks in C (measured at
#: 8,000 pages: 10 changed runs holding 40 % of the lines took 2.5 s to update, 1.9 s whole)
WHOLE_FROM = 0.25
_COPY = 1 << 22


class Stale(Exception):
    """The kept merge does not agree with the runs: merge them whole."""


def kept_paths(folder: Path, order: str) -> tuple[Path, Path, Path]:
    """(merged lines, multiplicities, state) of ``order``."""
    return (folder / f"{PREFIX}.{order}", folder / f"{PREFIX}.{order}.multi",
            folder / f"{PREFIX}.{order}.json")


def _stamp(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _state(folder: Path, order: str) -> dict | None:
    """The kept state of ``order`` when its files are those it recorded, else None."""
    merged, multi, state = kept_paths(folder, order)
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
        if data["merged"] != _stamp(merged) or data["multi"] != _stamp(multi):
            return None
        return data
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save(folder: Path, order: str, names: Sequence[str], count: int,
          multi: dict[bytes, int], made: str) -> None:
    """Record the state of the merged file just written (``kept_paths()[0]``)."""
    merged, multi_path, state = kept_paths(folder, order)
    tmp = multi_path.with_name(f".{multi_path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as out:
        out.writelines(b"%d %s\n" % (multi[line], line) for line in sorted(multi))
    os.replace(tmp, multi_path)
    tmp = state.with_name(f".{state.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"names": list(names), "count": count, "made": made,
                               "merged": _stamp(merged), "multi": _stamp(multi_path)}),
                   encoding="utf-8")
    os.replace(tmp, state)


def _load_multi(path: Path) -> dict[bytes, int]:
    multi: dict[bytes, int] = {}
    with open(path, "rb") as stream:
        for row in stream:
            count, line = row[:-1].split(b" ", 1)
            multi[line] = int(count)
    return multi


def forget(folder: Path) -> None:
    """Drop the kept merge (both orders)."""
    for order in ("lines", "triples"):
        for path in kept_paths(folder, order):
            path.unlink(missing_ok=True)


def merge(folder: Path, names: Sequence[str], order: str, out: Path) -> int:
    """Write the merge of the runs ``names`` in ``order`` to ``out`` (a hard link to the kept
    merge, which this updates); returns its number of lines."""
    index = 0 if order == "lines" else 1
    merged = kept_paths(folder, order)[0]
    state = _state(folder, order)
    count = None
    if state is not None:
        before = state["names"]
        left = sorted(set(before) - set(names))
        new = sorted(set(names) - set(before))
        if _changed_share(folder, index, names, left, new) <= WHOLE_FROM:
            try:
                count = _update(folder, order, state, names,
                                [runs_module.run_paths(folder, n)[index] for n in left],
                                [runs_module.run_paths(folder, n)[index] for n in new])
            except (Stale, OSError, EOFError, zlib.error, ValueError):
                count = None
    if count is None:
        forget_order(folder, order)
        multi: dict[bytes, int] = {}
        count = runs_module._merge_bytes(
            [runs_module.run_paths(folder, n)[index] for n in names], merged, multi=multi)
        _save(folder, order, names, count, multi, "whole")
    out.unlink(missing_ok=True)
    try:
        os.link(merged, out)
    except OSError:  # a file system without hard links
        import shutil

        shutil.copyfile(merged, out)
    return count


def _changed_share(folder: Path, index: int, names: Sequence[str], left: Sequence[str],
                   new: Sequence[str]) -> float:
    """The bytes of the runs that left and of the new runs, against the bytes of all the runs
    (run files compressed alike: their sizes go with their lines); 1.0 when a file is
    missing (the update could not be made anyway)."""
    try:
        def size(name: str) -> int:
            return runs_module.run_paths(folder, name)[index].stat().st_size

        total = sum(size(n) for n in names)
        return (sum(size(n) for n in left) + sum(size(n) for n in new)) / max(1, total)
    except OSError:
        return 1.0


def forget_order(folder: Path, order: str) -> None:
    for path in (*kept_paths(folder, order), changes_path(folder, order)):
        path.unlink(missing_ok=True)


def changes_path(folder: Path, order: str) -> Path:
    """The lines the last update changed (``labels.py`` folds from them): a first line
    ``= <size> <mtime>`` of the kept file before and after, then each changed line, sorted, as
    ``+ <line>`` or ``- <line>``; none after a whole merge."""
    return folder / f"{PREFIX}.{order}.changes"


def _read_run(path: Path) -> list[bytes]:
    import gzip

    with gzip.open(path, "rb") as stream:
        data = stream.read()
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return lines


def _lines_of(paths: Iterable[Path]) -> tuple[set[bytes], dict[bytes, int]]:
    """The union of some runs' lines, and the number of runs of those in more than one."""
    sets = [set(_read_run(path)) for path in paths]
    union: set[bytes] = set().union(*sets)
    if sum(map(len, sets)) == len(union):
        return union, {}
    counts: Counter = Counter()
    for lines in sets:
        counts.update(lines)
    return union, {line: n for line, n in counts.items() if n > 1}


def find(data: mmap.mmap | bytes, line: bytes, lo: int = 0) -> int:
    """The offset of the first line of ``data`` (sorted lines, each ending with a newline) that
    is not below ``line``, searching from ``lo`` (a line start); ``len(data)`` if none."""
    hi = len(data)
    while lo < hi:
        mid = (lo + hi) // 2
        start = data.rfind(b"\n", lo, mid)
        start = lo if start < 0 else start + 1
        end = data.find(b"\n", start)
        if data[start:end] < line:
            lo = end + 1
        else:
            hi = start
    return lo


def copy_bytes(out: BinaryIO, data: mmap.mmap | bytes, start: int, end: int) -> None:
    """Copy ``data[start:end]`` a few megabytes at a time."""
    for at in range(start, end, _COPY):
        out.write(data[at:min(end, at + _COPY)])


def _update(folder: Path, order: str, state: dict, names: Sequence[str],
            left: Sequence[Path], new: Sequence[Path]) -> int:
    """Make the kept merge that of ``names`` from the runs that ``left`` and the ``new``
    ones; returns its number of lines. Raises Stale when the kept files do not add up."""
    merged, multi_path, _ = kept_paths(folder, order)
    changes_path(folder, order).unlink(missing_ok=True)
    changed: list[bytes] = []
    multi = _load_multi(multi_path)
    gone_lines, gone_several = _lines_of(left)
    came_lines, came_several = _lines_of(new)

    def gone(line: bytes) -> int:
        return gone_several.get(line, 1) if line in gone_lines else 0

    def came(line: bytes) -> int:
        return came_several.get(line, 1) if line in came_lines else 0

    # a line in as many runs that left as new ones does not change (most lines of a
    # changed page's run are in its new run too)
    changes = sorted((gone_lines ^ came_lines) | {
        line for line in gone_several.keys() | came_several.keys() if gone(line) != came(line)})
    count = state["count"]
    tmp = merged.with_name(f".{merged.name}.{os.getpid()}.tmp")
    try:
        with open(merged, "rb") as source, open(tmp, "wb") as out:
            size = os.fstat(source.fileno()).st_size
            data = mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            try:
                done = 0
                for line in changes:
                    at = find(data, line, done)
                    present = data[at:at + len(line) + 1] == line + b"\n"
                    before = multi.get(line, 1) if present else 0
                    if line in multi and not present:
                        raise Stale(line)
                    after = before + came(line) - gone(line)
                    if after < 0 or (before and gone(line) > before):
                        raise Stale(line)
                    if after > 1:
                        multi[line] = after
                    else:
                        multi.pop(line, None)
                    if before and not after:
                        copy_bytes(out, data, done, at)
                        done = at + len(line) + 1
                        count -= 1
                        changed.append(b"- " + line + b"\n")
                    elif after and not before:
                        copy_bytes(out, data, done, at)
                        out.write(line + b"\n")
                        done = at
                        count += 1
                        changed.append(b"+ " + line + b"\n")
                copy_bytes(out, data, done, size)
            finally:
                if size:
                    data.close()  # type: ignore[union-attr]
        os.replace(tmp, merged)
    finally:
        tmp.unlink(missing_ok=True)
    _save(folder, order, names, count, multi, "kept")
    path = changes_path(folder, order)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    head = b"= %d %d %d %d\n" % (*state["merged"], *_stamp(merged))
    tmp.write_bytes(head + b"".join(changed))
    os.replace(tmp, path)
    return count
