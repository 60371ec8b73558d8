"""The kept selection: the lines of a few predicates of the kept merge, updated from its changes.

The tables' index (``exports/tablepieces.collect_index``) reads the lines of about ten
predicates of the release (``SortedLines.triples_with``): about 30,000 of the 1.7 million lines
at 8,000 sample pages, but found by a byte search of the whole merged lines file (179 MB), one
needle a predicate: 0.6 s of the main process in every build, before the first row is made.
A rebuild after a few changed pages changes a few of those lines, and the kept merge
(``keptmerge.py``) writes them down. So the selection of the last build is kept beside the
kept merge (``BuildCache.forget_runs`` keeps every ``keptmerge.*`` file):

``keptmerge.lines.select``  a first line, JSON: the format, tierslieux's version, the sorted
                            predicates, the size and modification time of the kept merge of
                            the line order it was read from and the SHA-256 of the rest; then
                            the selected lines, in line order

``lines`` answers from it when it holds the predicates asked for and the kept merge is the one
it was read from, or the one ``keptmerge.lines.changes`` leads to from it (the changed lines of
those predicates are then put in and taken out, and the selection kept again: a line to take
out that it does not hold, or one to put in that it holds, makes it unusable). Otherwise, or when anything is damaged, the
caller reads the lines again and ``save`` keeps them. The answer is the byte search's, line for
line (tested: lines added and removed, another set of predicates, a whole merge in between, a
damaged file).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from tierslieux import __version__
from tierslieux.pipeline import keptmerge

#: bumped when what the file holds changes
FORMAT = 1
NAME = f"{keptmerge.PREFIX}.lines.select"


def _path(folder: Path) -> Path:
    return folder / NAME


def _stamp(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _predicate(line: str) -> str:
    """The predicate IRI of a canonical line ``<s> <p> o .`` (no IRI holds a space)."""
    return line.split(" ", 2)[1][1:-1]


def lines(folder: Path, predicates: Iterable[str]) -> list[str] | None:
    """The lines (no newline) of the kept merge of ``folder`` whose predicate is one of
    ``predicates``, in line order, from the kept selection; None when it cannot tell."""
    wanted = sorted(set(predicates))
    kept = keptmerge.kept_paths(folder, "lines")[0]
    try:
        now = _stamp(kept)
        with open(_path(folder), "rb") as stream:
            head = json.loads(stream.readline())
            body = stream.read()
        if head != {"format": FORMAT, "version": __version__, "predicates": wanted,
                    "kept": head.get("kept"), "sha256": hashlib.sha256(body).hexdigest()}:
            return None
        selected = body.decode("utf-8").split("\n")
    except (OSError, ValueError, AttributeError):
        return None
    if selected.pop() != "":
        return None
    if head["kept"] == now:
        return selected
    changed = _changes(folder, head["kept"], now, set(wanted))
    if changed is None:
        return None
    removed, added = changed
    held = set(selected)
    if len(held) != len(selected) or not removed <= held or added & held:
        return None
    selected = sorted((held - removed) | added)
    save(folder, wanted, selected)  # for the next update
    return selected


def _changes(folder: Path, since: list[int], now: list[int], wanted: set[str]
             ) -> tuple[set[str], set[str]] | None:
    """(lines taken out, lines put in) of ``wanted`` predicates by the last update of the
    kept merge, when it leads from ``since`` to ``now``; None otherwise."""
    removed: set[str] = set()
    added: set[str] = set()
    try:
        with open(keptmerge.changes_path(folder, "lines"), "rb") as stream:
            head = stream.readline().split()
            if head[:1] != [b"="] or [int(n) for n in head[1:]] != since + now:
                return None
            for row in stream:
                sign, line = row[:2], row[2:].rstrip(b"\n").decode("utf-8")
                if sign not in (b"+ ", b"- ") or line[:1] != "<":
                    return None
                if _predicate(line) in wanted:
                    (added if sign == b"+ " else removed).add(line)
    except (OSError, ValueError, IndexError):
        return None
    return removed, added


def save(folder: Path, predicates: Iterable[str], selected: Iterable[str]) -> None:
    """Keep ``selected`` (the lines of ``predicates`` in the kept merge as it is now, in line
    order) for the next build (atomically)."""
    kept = keptmerge.kept_paths(folder, "lines")[0]
    try:
        stamp = _stamp(kept)
    except OSError:
        return
    body = "".join(f"{line}\n" for line in selected).encode("utf-8")
    head = json.dumps({"format": FORMAT, "version": __version__,
                       "predicates": sorted(set(predicates)), "kept": stamp,
                       "sha256": hashlib.sha256(body).hexdigest()})
    path = _path(folder)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(head.encode("utf-8") + b"\n" + body)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def forget(folder: Path) -> None:
    _path(folder).unlink(missing_ok=True)
