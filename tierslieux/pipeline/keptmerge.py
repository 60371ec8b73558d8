"""The kept merge: a rebuild makes the merged release from the last build's and the changed pages.

A build merges the union of its pages' lines into one file per order (``lines``, ``triples``).
The merge of the last build is kept in the run folder, per order:

``keptmerge.<order>``          the de-duplicated union of the pages' lines, as
                               ``runs._merge_bytes`` writes it from the runs (before the label
                               fold, ``labels.py``)
``keptmerge.<order>.multi``    the lines held by more than one *page*, each as
                               ``<pages> <line>``, sorted (the others are in one page)
``keptmerge.<order>.json``     the page results merged (page id -> digest of the stored page,
                               as the cache names them), the runs, the line count, how the file
                               was made ("whole" or "kept"), and the size and modification
                               time of both files (a stale or damaged state is not used)
``keptmerge.<order>.changes``  after an update, the lines it added or removed (see
                               ``changes_path``; the label fold reads them); none after a
                               whole merge

The next build compares the page results it is made of with those the state records. The old
lines of a page that changed or left come from the cache (``cache.result_lines``: the cache
keeps a replaced result in its table ``gone`` until the merge is made), the new ones of a page
that changed or came likewise; each old line counts -1, each new line +1. A line whose count
falls to zero goes, a line that was in no page comes. Only those lines are looked for in the kept
file (a binary search over its bytes, ``mmap``); the stretches between them are copied as bytes.
The cost is that of the changed pages' lines, whatever the size of their runs, and the runs are
not needed at all: the build does not write the runs of the changed pages while the kept merge
can be updated (``updatable``). The result is the same bytes as a merge of all the runs
(``_merge_bytes``), tested on both ways.

When the changed pages hold more than ``WHOLE_FROM`` of the lines, or the state is missing,
stale or does not add up (a result that no longer is in the cache, a line to remove that the
file does not hold…), the runs are merged whole, which writes a new state: the number of pages
of a line is the number of runs that hold it, plus what each run's ``<id>.multi`` (the lines
several of its pages hold, ``runs.write_run``) adds. A whole merge whose runs are not all
written raises RunsMissing: the build writes them and merges again.
"""

from __future__ import annotations

import json
import mmap
import os
import sqlite3
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from tierslieux.pipeline import runs as runs_module
from tierslieux.pipeline.cache import result_lines

#: the first part of the kept files' names (``BuildCache.forget_runs`` keeps them)
PREFIX = "keptmerge"
#: ``(order, runs: the order's file in a run)``
ORDERS = (("lines", 0), ("triples", 1))
#: above this share of the kept merge's lines read from the changed pages (their old lines and
#: their new ones), a merge of every run costs less: the update hashes each of those lines in
#: Python where the whole merge copies sorted blocks in C
WHOLE_FROM = 0.25
_COPY = 1 << 22
#: the kernel's file-to-file copy (Linux), None where Python does not offer it
_COPY_RANGE = getattr(os, "copy_file_range", None)


class Stale(Exception):
    """The kept merge does not agree with the pages: merge the runs whole."""


class RunsMissing(Exception):
    """The runs must be merged whole and some of them are not written: write them first."""


def kept_paths(folder: Path, order: str) -> tuple[Path, Path, Path]:
    """(merged lines, multiplicities, state) of ``order``."""
    return (folder / f"{PREFIX}.{order}", folder / f"{PREFIX}.{order}.multi",
            folder / f"{PREFIX}.{order}.json")


def changes_path(folder: Path, order: str) -> Path:
    """The lines the last update changed (``labels.py`` folds from them): a first line
    ``= <size> <mtime>`` of the kept file before and after, then each changed line, sorted, as
    ``+ <line>`` or ``- <line>``; none after a whole merge."""
    return folder / f"{PREFIX}.{order}.changes"


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


def updatable(folder: Path) -> bool:
    """Whether both orders have a kept state an update can start from (the build then does
    not write the runs of its changed pages; an update that fails raises RunsMissing)."""
    return all(isinstance((_state(folder, order) or {}).get("pages"), dict)
               for order, _ in ORDERS)


def _save(folder: Path, order: str, names: Sequence[str], count: int,
          multi: dict[bytes, int], made: str, pages: Mapping[int, str] | None) -> None:
    """Record the state of the merged file just written (``kept_paths()[0]``)."""
    merged, multi_path, state = kept_paths(folder, order)
    runs_module.write_multi(multi_path, multi)
    tmp = state.with_name(f".{state.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({
        "names": list(names), "count": count, "made": made,
        "pages": None if pages is None else {str(p): d for p, d in sorted(pages.items())},
        "merged": _stamp(merged), "multi": _stamp(multi_path)}), encoding="utf-8")
    os.replace(tmp, state)


def forget(folder: Path) -> None:
    """Drop the kept merge (both orders)."""
    for order, _ in ORDERS:
        forget_order(folder, order)


def forget_order(folder: Path, order: str) -> None:
    for path in (*kept_paths(folder, order), changes_path(folder, order)):
        path.unlink(missing_ok=True)


def merge(folder: Path, names: Sequence[str], order: str, out: Path,
          pages: Mapping[int, str] | None = None, cache_path: str | Path | None = None) -> int:
    """Write the merge of the runs ``names`` in ``order`` to ``out`` (a hard link to the kept
    merge, which this updates); returns its number of lines. ``pages``: the page results
    (page id -> digest) the runs are made of, in the cache at ``cache_path``; without them the
    runs are merged whole and the next build cannot update the merge."""
    merged = kept_paths(folder, order)[0]
    state = _state(folder, order)
    count = None
    if state is not None and pages is not None and cache_path is not None:
        try:
            count = _update(folder, order, state, names, pages, cache_path)
        except (Stale, KeyError, TypeError, AttributeError, OSError, EOFError, zlib.error,
                ValueError, sqlite3.Error):
            count = None
    if count is None:
        forget_order(folder, order)
        count = _whole(folder, names, order, pages)
    out.unlink(missing_ok=True)
    try:
        os.link(merged, out)
    except OSError:  # a file system without hard links
        import shutil

        shutil.copyfile(merged, out)
    return count


def _whole(folder: Path, names: Sequence[str], order: str,
           pages: Mapping[int, str] | None) -> int:
    """Merge every run and record the state; raises RunsMissing when a run is not written."""
    missing = [n for n in names
               if not all(p.is_file() for p in runs_module.run_files(folder, n))]
    if missing:
        raise RunsMissing(f"{len(missing)} runs to write before the whole merge of {order}")
    index = dict(ORDERS)[order]
    multi: dict[bytes, int] = {}
    count = runs_module._merge_bytes([runs_module.run_paths(folder, n)[index] for n in names],
                                     kept_paths(folder, order)[0], multi=multi)
    # ``multi`` counts runs; a line several pages of one run hold counts those pages
    for name in names:
        for line, n in runs_module.read_multi(runs_module.run_files(folder, name)[2]).items():
            key = line if order == "lines" else runs_module.triple_key_bytes(line)
            multi[key] = multi.get(key, 1) + n - 1
    _save(folder, order, names, count, multi, "whole", pages)
    return count


def page_changes(before: Mapping[int, str], after: Mapping[int, str], cache_path: str | Path,
                 limit: float) -> dict[bytes, int]:
    """The change of the number of pages of each line (line order) from the page results
    ``before`` to those ``after``, lines whose number does not change left out; raises Stale
    when the changed pages hold more than ``limit`` lines (old and new), MissingResult
    (a KeyError) when a result is not in the cache."""
    removed = [(p, d) for p, d in before.items() if after.get(p) != d]
    added = [(p, d) for p, d in after.items() if before.get(p) != d]
    delta: Counter = Counter()
    read = 0
    for results, update in ((removed, delta.subtract), (added, delta.update)):
        for lines in result_lines(cache_path, sorted(results)):
            read += len(lines)
            if read > limit:
                raise Stale(f"the changed pages hold more than {limit:.0f} lines")
            update(lines)
    return {line: n for line, n in delta.items() if n}


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


def copy_bytes(out: BinaryIO, data: mmap.mmap | bytes, start: int, end: int,
               source: BinaryIO | None = None) -> None:
    """Copy ``data[start:end]`` (the bytes of the file ``source``, when given) to ``out``.

    With ``source``, the kernel copies the range from file to file (``os.copy_file_range``):
    no page of it is mapped or read into Python (at 8,000 pages a merged file is 179 MB, and a
    rebuild copies each one twice: the kept merge's update, then the label fold's rewrite);
    else, or where the kernel or the file system cannot, it is copied a few megabytes at a
    time."""
    at = start
    if source is not None and at < end and _COPY_RANGE is not None:
        out.flush()
        try:
            while at < end:
                copied = _COPY_RANGE(source.fileno(), out.fileno(), end - at, at)
                if copied <= 0:
                    break
                at += copied
        except OSError:
            pass  # the rest as bytes, from where the kernel stopped
        out.seek(0, os.SEEK_END)  # the buffered writer goes on where the copy ended
    for offset in range(at, end, _COPY):
        out.write(data[offset:min(end, offset + _COPY)])


def _update(folder: Path, order: str, state: dict, names: Sequence[str],
            pages: Mapping[int, str], cache_path: str | Path) -> int:
    """Make the kept merge that of the page results ``pages`` from the state's; returns its
    number of lines. Raises Stale when the kept files do not add up."""
    merged, multi_path, _ = kept_paths(folder, order)
    changes_path(folder, order).unlink(missing_ok=True)
    before = {int(p): d for p, d in state["pages"].items()}
    delta = page_changes(before, pages, cache_path, WHOLE_FROM * max(1, state["count"]))
    if order == "triples":
        delta = {runs_module.triple_key_bytes(line): n for line, n in delta.items()}
    multi = runs_module.read_multi(multi_path)
    changed: list[bytes] = []
    count = state["count"]
    tmp = merged.with_name(f".{merged.name}.{os.getpid()}.tmp")
    try:
        with open(merged, "rb") as source, open(tmp, "wb") as out:
            size = os.fstat(source.fileno()).st_size
            data = mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            try:
                done = 0
                for line in sorted(delta):
                    at = find(data, line, done)
                    present = data[at:at + len(line) + 1] == line + b"\n"
                    if line in multi and not present:
                        raise Stale(line)
                    held = multi.get(line, 1) if present else 0
                    now = held + delta[line]
                    if now < 0:
                        raise Stale(line)
                    if now > 1:
                        multi[line] = now
                    else:
                        multi.pop(line, None)
                    if held and not now:
                        copy_bytes(out, data, done, at, source)
                        done = at + len(line) + 1
                        count -= 1
                        changed.append(b"- " + line + b"\n")
                    elif now and not held:
                        copy_bytes(out, data, done, at, source)
                        out.write(line + b"\n")
                        done = at
                        count += 1
                        changed.append(b"+ " + line + b"\n")
                copy_bytes(out, data, done, size, source)
            finally:
                if size:
                    data.close()  # type: ignore[union-attr]
        os.replace(tmp, merged)
    finally:
        tmp.unlink(missing_ok=True)
    _save(folder, order, names, count, multi, "kept", pages)
    path = changes_path(folder, order)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    head = b"= %d %d %d %d\n" % (*state["merged"], *_stamp(merged))
    tmp.write_bytes(head + b"".join(changed))
    os.replace(tmp, path)
    return count
