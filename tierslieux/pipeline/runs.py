"""Sorted run files: the union of the pages' N-Triples lines, merged without holding it.

A release is the sorted, de-duplicated union of the lines of every page. Holding it as Python
strings (plus a set, plus a sorted list, plus the tuples of the triple order) costs about a
kilobyte a triple; a wiki of 50,000 pages has tens of millions of triples. So the build writes
the union of each group of consecutive pages (a *run*, about ``RUN_PAGES`` pages) to two
files, and the exports read the release as a k-way merge of the runs (``heapq.merge``), which
holds one line per run:

``<id>.lines.gz``    the run's distinct lines, in line order (``tierslieux.nt.gz``, the diff)
``<id>.triples.gz``  the same lines as their triple-order keys (``triple_key``), sorted:
                     Turtle, JSON-LD, the tables and the statistics read the triple order
``<id>.multi``       the lines several pages of the run hold, each as ``<pages> <line>``,
                     sorted (often empty): a merge of the runs counts the pages of each line
                     from them (``keptmerge.py``)

Runs are grouped by a hash of the page key, so that a changed or new page changes only its own
run, and are named by a digest of their pages' cached results: an incremental build rewrites
the runs of the changed pages and reuses the others.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import heapq
import io
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from tierslieux.model.lines import SortedLines
from tierslieux.model.rdf import Triple

#: pages in a run, on average (a run is cut where a page key's hash says so, see group_runs)
RUN_PAGES = 128
_BUFFER = 1 << 16
_READ = 1 << 22
#: lines of a run encoded and compressed at a time
_WRITE_LINES = 20_000


def triple_key(line: str) -> str:
    """A string whose code-point order is the triple order of ``line`` (see ntriples.py).

    ``<s> <p> o .`` becomes ``<s\\x01<p\\x01o .``: the subject and the predicate IRIs hold no
    ``>``, and ``\\x01`` is below every character a canonical line holds, so an IRI sorts
    before the IRIs it is a prefix of, as in a tuple comparison.
    """
    return line.replace("> ", "\x01", 2)


def key_triple(key: str) -> Triple:
    """(subject, predicate, object) of a triple key, as ``triple_order`` gives them."""
    subject, predicate, rest = key.split("\x01")
    return subject[1:], predicate[1:], rest[:-2]


def group_runs(keys: Sequence[str], size: int = RUN_PAGES) -> list[tuple[int, int]]:
    """``(start, end)`` slices of ``keys`` (page keys in sorted order) that make the runs.

    A run ends before a key whose hash is a multiple of ``size`` (so a new page only splits
    the run it falls in), or after ``2 * size`` pages (the largest run sets the peak memory of
    a build).
    """
    runs = []
    start = 0
    for index in range(1, len(keys) + 1):
        if index == len(keys):
            runs.append((start, index))
            break
        digest = int.from_bytes(hashlib.blake2b(keys[index].encode("utf-8"),
                                                digest_size=8).digest(), "big")
        if digest % size == 0 or index - start >= 2 * size:
            runs.append((start, index))
            start = index
    return runs


def run_id(version: str, members: Iterable[str]) -> str:
    """The name of a run made of pages whose cached results are named ``members``."""
    digest = hashlib.sha256(version.encode("utf-8"))
    for member in members:
        digest.update(b"\n" + member.encode("utf-8"))
    return digest.hexdigest()[:40]


def run_paths(folder: Path, name: str) -> tuple[Path, Path]:
    """The two files of a run (gzip level 1: the lines share long prefixes, so a run takes
    about a tenth of its size, and reading it back costs little more)."""
    return folder / f"{name}.lines.gz", folder / f"{name}.triples.gz"


def run_files(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """Every file of a run: ``run_paths`` and the lines several of its pages hold."""
    return (*run_paths(folder, name), folder / f"{name}.multi")


def read_multi(path: Path) -> dict[bytes, int]:
    """The ``<count> <line>`` rows of a multiplicity file (``run_files()[2]``, keptmerge.py)."""
    multi: dict[bytes, int] = {}
    with open(path, "rb") as stream:
        for row in stream:
            count, line = row[:-1].split(b" ", 1)
            multi[line] = int(count)
    return multi


def write_multi(path: Path, multi: dict[bytes, int]) -> None:
    """Write ``multi`` as ``read_multi`` reads it, sorted, atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as out:
        out.writelines(b"%d %s\n" % (multi[line], line) for line in sorted(multi))
    os.replace(tmp, path)


def write_run(folder: Path, name: str, pages: Iterable[Iterable[str] | Iterable[bytes]]
              ) -> None:
    """Write the union of ``pages`` (each page's lines, as ``str`` or as UTF-8 ``bytes``, as
    ``cache.unpack_line_bytes`` gives them) as run ``name``, atomically.

    The lines are sorted and written as bytes (UTF-8 byte order is code-point order, so the
    order is the same). At most two copies of the run's lines are alive at a time (the line
    order, then the triple order) and they are written a block at a time: the peak memory of a
    build is the largest run's. Each page's lines are distinct, so the pages of a line are its
    count (``run_files()[2]`` keeps those above one).
    """
    unique: Counter = Counter()
    total = 0
    for lines in pages:
        if not isinstance(lines, (list, tuple)):
            lines = list(lines)
        if lines and type(lines[0]) is str:
            lines = [line.encode("utf-8") for line in lines]
        unique.update(lines)
        total += len(lines)
    line_path, triple_path, multi_path = run_files(folder, name)
    write_multi(multi_path, {line: n for line, n in unique.items() if n > 1}
                if total > len(unique) else {})
    in_line_order = sorted(unique)
    del unique
    _write_sorted(line_path, in_line_order)
    # the two orders differ only here and there: timsort makes the second sort almost linear
    in_triple_order = sorted(_triple_keys(in_line_order))
    del in_line_order
    _write_sorted(triple_path, in_triple_order)


def triple_key_bytes(line: bytes) -> bytes:
    """``triple_key`` of a line given as UTF-8 bytes."""
    return line.replace(b"> ", b"\x01", 2)


def _triple_keys(lines: list[bytes]) -> list[bytes]:
    """``triple_key_bytes`` of many lines (inlined: a call per line costs more than the work)."""
    return [line.replace(b"> ", b"\x01", 2) for line in lines]


def _write_sorted(path: Path, items: list[bytes]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                              mtime=0, compresslevel=1) as out:
        for start in range(0, len(items), _WRITE_LINES):
            out.write(b"\n".join(items[start:start + _WRITE_LINES]) + b"\n")
    os.replace(tmp, path)


def _read_block(stream: io.BufferedReader, size: int) -> list[bytes] | None:
    """The next lines of a run file (about ``size`` bytes of whole lines, without their
    newlines), None at its end."""
    data = stream.read(size)
    if not data:
        return None
    if not data.endswith(b"\n"):
        data += stream.readline()
    lines = data.split(b"\n")
    if not lines[-1]:
        lines.pop()
    return lines


def _merge_bytes(paths: Sequence[Path], keep: Path, block: int | None = None,
                 multi: dict[bytes, int] | None = None) -> int:
    """Merge sorted run files into ``keep``, dropping repeated lines; the number of distinct
    lines. The file holds the same bytes as a complete pass of ``_merge`` writes.

    The merge is done a window at a time, in C: each run holds a block of its lines; every line
    up to the smallest of the blocks' last lines (``bound``) is in the blocks already (the runs
    are sorted and distinct), so those lines, cut with ``bisect``, are the next window of the
    merge once de-duplicated and sorted (``sorted(set(…))``, timsort merges the runs' sorted
    pieces). Bytes compare as UTF-8, i.e. in code-point order; the lines are compared without
    their newline, which orders them alike (no canonical line is a prefix of another). Memory:
    a block per run, 16 MB in all whatever the size of the wiki (64 KB a run at least,
    from 256 runs on). With ``multi``, it gets the number of runs of each line held by more
    than one (``keptmerge.py``)."""
    size = block or max(1 << 16, min(1 << 20, (16 << 20) // max(1, len(paths))))
    enough_open_files(len(paths) + 64)
    files = [io.BufferedReader(gzip.GzipFile(p, "rb"), _BUFFER) for p in paths]
    tmp = keep.with_name(f".{keep.name}.{os.getpid()}.{id(files)}.tmp")
    count = 0
    try:
        active = []
        for stream in files:
            lines = _read_block(stream, size)
            if lines:
                active.append([lines, 0, stream])
        with open(tmp, "wb", buffering=_BUFFER) as out:
            while active:
                bound = min(entry[0][-1] for entry in active)
                several = len(active) > 1
                taken: list[bytes] = []
                still = []
                for entry in active:
                    lines, start, stream = entry
                    end = bisect.bisect_right(lines, bound, start)
                    taken.extend(lines[start:end] if start or end < len(lines) else lines)
                    if end == len(lines):
                        lines = _read_block(stream, size)
                        if lines is None:
                            continue
                        entry[0], entry[1] = lines, 0
                    else:
                        entry[1] = end
                    still.append(entry)
                active = still
                if several:
                    distinct = set(taken)
                    if multi is not None and len(distinct) < len(taken):
                        multi.update((line, n) for line, n in Counter(taken).items() if n > 1)
                    window = sorted(distinct)
                else:
                    window = taken
                if window:
                    out.write(b"\n".join(window) + b"\n")
                    count += len(window)
        os.replace(tmp, keep)
    finally:
        for stream in files:
            stream.close()
        tmp.unlink(missing_ok=True)
    return count


def enough_open_files(needed: int) -> None:
    """Raise this process's soft limit of open files towards ``needed`` (a wiki of 130,000
    pages has over a thousand runs, the usual soft limit), as far as the hard limit allows.
    Called by the merges, which open every run at once, in the process that merges (a worker
    forked before the merge does not get a limit its parent raises then)."""
    try:
        import resource
    except ImportError:  # not POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        if target > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))

def _open(path: Path) -> TextIO:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(io.BufferedReader(gzip.GzipFile(path, "rb"), _BUFFER),
                                encoding="utf-8", newline="\n")
    return open(path, encoding="utf-8", newline="\n", buffering=_BUFFER)


def _blocks(path: Path) -> Iterator[list[str]]:
    """The lines of a plain file (without their newlines), a few megabytes at a time."""
    with open(path, encoding="utf-8", newline="\n") as stream:
        rest = ""
        while True:
            block = stream.read(_READ)
            if not block:
                break
            block = rest + block
            cut = block.rfind("\n") + 1
            rest = block[cut:]
            if cut:
                yield block[:cut - 1].split("\n")
        if rest:
            yield [rest]


def _merge(paths: Sequence[Path], keep: Path | None = None) -> Iterator[str]:
    """The distinct lines (with their final newline) of sorted files, in order.

    With ``keep``, a complete pass also writes them to that file (see ``materialize``).
    """
    enough_open_files(len(paths) + 64)
    files = [_open(p) for p in paths]
    out = None
    if keep is not None:
        tmp = keep.with_name(f".{keep.name}.{os.getpid()}.{id(files)}.tmp")
        out = open(tmp, "w", encoding="utf-8", newline="\n", buffering=_BUFFER)
    try:
        merged = files[0] if len(files) == 1 else heapq.merge(*files)
        previous = None
        write = out.write if out is not None else None
        for line in merged:
            if line != previous:
                previous = line
                if write is not None:
                    write(line)
                yield line
        if out is not None:
            out.close()
            os.replace(tmp, keep)  # type: ignore[arg-type]
            out = None
    finally:
        for stream in files:
            stream.close()
        if out is not None:  # an interrupted pass leaves no half file behind
            out.close()
            tmp.unlink(missing_ok=True)


class RunSet(SortedLines):
    """The union of some runs, as the SortedLines a release is written from.

    The first complete pass in each order keeps the merged lines in ``merged_paths()``; the
    next passes read them from there.
    """

    def __init__(self, folder: Path, names: Sequence[str]) -> None:
        self.folder = folder
        self.names = tuple(names)
        #: number of distinct lines, once a pass has counted them
        self.count: int | None = None
        self.merged_name = "merged-" + run_id("", self.names)[:32]
        #: the predicates whose lines a rewrite of the merged lines changed, when they were
        #: the kept merge before it (``rewriting``); None: unknown
        self._rewritten: frozenset[str] | None = None

    def merged_paths(self) -> tuple[Path, Path]:
        """Where the merged lines are kept during a build (plain text: read several times)."""
        return (self.folder / f"{self.merged_name}.lines",
                self.folder / f"{self.merged_name}.triples")

    def forget_merged(self) -> None:
        for path in self.merged_paths():
            path.unlink(missing_ok=True)

    def line_paths(self) -> list[Path]:
        return [run_paths(self.folder, n)[0] for n in self.names]

    def triple_paths(self) -> list[Path]:
        return [run_paths(self.folder, n)[1] for n in self.names]

    def __iter__(self) -> Iterator[str]:
        if not self.names:
            self.count = 0
            return
        kept = self.merged_paths()[0]
        count = 0
        if kept.is_file():
            for lines in _blocks(kept):
                count += len(lines)
                yield from lines
        else:
            for line in _merge(self.line_paths(), kept):
                count += 1
                yield line[:-1]
        self.count = count

    def __len__(self) -> int:
        if self.count is None:
            self.count = sum(1 for _ in self) if self.names else 0
        return self.count

    def in_triple_order(self) -> TripleOrder:
        return TripleOrder(self.triple_paths(), self.merged_paths()[1])

    def _kept_except(self) -> frozenset[str] | None:
        """The predicates whose lines the merged lines file may hold differently from the
        kept merge (``keptmerge.py``): none when it is the kept merge (a hard link); None when
        it is not known to come from it."""
        if self._rewritten is not None:
            return self._rewritten
        from tierslieux.pipeline import keptmerge

        try:
            same = os.path.samefile(self.merged_paths()[0],
                                    keptmerge.kept_paths(self.folder, "lines")[0])
        except OSError:
            return None
        return frozenset() if same else None

    def rewriting(self, predicates: Iterable[str]) -> None:
        """Say that the merged files are about to be rewritten with only the lines of
        ``predicates`` changed (the label fold, ``labels.py``)."""
        before = self._kept_except()
        self._rewritten = None if before is None else before | frozenset(predicates)

    def triples_with(self, predicates: Iterable[str]) -> Iterator[Triple]:
        """``SortedLines.triples_with``, from the kept selection (``keptselect.py``) when the
        merged lines are the kept merge's for those predicates (and kept for the next build
        when read)."""
        wanted = set(predicates)
        differs = self._kept_except() if self.names else None
        if not wanted or differs is None or wanted & differs:
            yield from super().triples_with(wanted)
            return
        from tierslieux.pipeline import keptselect

        selected = keptselect.lines(self.folder, wanted)
        if selected is None:
            selected = [f"<{s}> <{p}> {o} ." for s, p, o in super().triples_with(wanted)]
            keptselect.save(self.folder, wanted, selected)
        for line in selected:
            s, p, rest = line.split(" ", 2)
            yield s[1:-1], p[1:-1], rest[:-2]

    def line_bytes(self) -> Iterator[bytes] | None:
        kept = self.merged_paths()[0]
        if not self.names or not kept.is_file():
            return None

        def blocks() -> Iterator[bytes]:
            with open(kept, "rb") as stream:
                while block := stream.read(_READ):
                    yield block
        return blocks()


class TripleOrder:
    """The triples of some runs in triple order (merged once, then read from ``keep``)."""

    def __init__(self, paths: Sequence[Path], keep: Path | None = None) -> None:
        self.paths = list(paths)
        self.keep = keep

    def __iter__(self) -> Iterator[Triple]:
        if not self.paths:
            return
        if self.keep is not None and self.keep.is_file():
            for keys in _blocks(self.keep):
                yield from [(s[1:], p[1:], o[:-2])
                            for s, p, o in (key.split("\x01") for key in keys)]
            return
        for key in _merge(self.paths, self.keep):
            subject, predicate, rest = key.split("\x01")
            yield subject[1:], predicate[1:], rest[:-3]

    def part(self, number: int, parts: int) -> Iterable[Triple] | None:
        """The triples of the ``number``-th of ``parts`` stretches of whole subjects of the
        merged file (``stretches.py``), re-iterable; None before it is merged."""
        from tierslieux.pipeline.stretches import Stretch

        if self.keep is None or not self.keep.is_file():
            return None
        return Stretch(self.keep, number, parts)


def materialize(folder: str, names: Sequence[str], order: str,
                pages: Mapping[int, str] | None = None, cache_path: str | None = None) -> int:
    """Merge the runs ``names`` once into the kept file of ``order`` ("lines" or "triples")
    and return how many distinct lines it holds; the build runs both orders in parallel
    workers before the exports read them. The merge is made from the last build's and the
    changed pages when it can (``pages``: the page results of the runs, page id -> digest, in
    the cache at ``cache_path``; ``keptmerge.py``), which may raise ``keptmerge.RunsMissing``."""
    from tierslieux.pipeline import keptmerge

    runs = RunSet(Path(folder), names)
    lines_kept, triples_kept = runs.merged_paths()
    if not runs.names:
        return 0
    if order == "lines":
        if lines_kept.is_file():
            return sum(1 for _ in runs)
        runs.count = keptmerge.merge(runs.folder, runs.names, "lines", lines_kept, pages,
                                     cache_path)
        return runs.count
    if triples_kept.is_file():
        return sum(1 for _ in runs.in_triple_order())
    return keptmerge.merge(runs.folder, runs.names, "triples", triples_kept, pages, cache_path)
