"""The diff of two dumps' gzip members that differ, by set operations (in C) a stretch at a time.

``diff.py`` reads the members of both N-Triples dumps that are not in the other one (their
SHA-256 checked) and hands them here, each as its list of lines (UTF-8 bytes: their order is
line order, and only the lines of the diff are decoded), in dump order. The result is what
``diff.merge_sorted`` gives for the same lines (a merge line by line, in Python), for a
fraction of its CPU:

- the lines are compared a **stretch** at a time, a member or so of each side: the stretch
  ends with the subject of the smaller of the two sides' last lines in hand, so that every
  subject lies in one stretch on both sides (a member holds whole subjects: the lines of that
  subject on the other side are in hand too, or come in no later member). Few lines are held
  at once, in memory that is used again;
- in a stretch the added and removed lines are the differences of the two sets of lines, in
  line order, once the lines both sides begin and end with are left out (found by halving, a
  comparison of list slices: most lines of a member that changed are the same on both sides,
  and lines in order cannot be equal to those of the other side's common start or end). Only the subjects of those lines can be added, removed or modified: whether such
  a subject has lines on the other side is a binary search of its ``<s> `` prefix there;
- the subjects are taken in the order of their prefixes, i.e. line order (``<a-b> `` comes
  before ``<a> ``), to cut the entity lists after ``limit`` of each kind, as the merge does.

Each member's lines must be distinct, in line order after those of the member before (whose
last subject does not go on in it) and start with ``<`` (canonical N-Triples: a subject's lines
are those that start with its prefix); otherwise ``Unsorted`` is raised and the caller compares
the whole dumps.
"""

from __future__ import annotations

import operator
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any


class Unsorted(Exception):
    """Lines are not distinct canonical lines in line order (whole subjects in a member)."""


@dataclass(frozen=True)
class MemberDiff:
    """The counts and the entity lists (in line order of their subjects, cut) of the diff."""

    old_lines: int
    triples_added: int
    triples_removed: int
    #: the subject IRIs added, removed and modified (the first ``limit`` of each kind)
    kept: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
    #: how many entities were added, removed and modified
    totals: tuple[int, int, int]


class _Side:
    """The lines in hand of one dump's members, taken a member at a time, checked."""

    def __init__(self, members: Iterable[list[bytes]]) -> None:
        self.members: Iterator[list[bytes]] = iter(members)
        self.lines: list[bytes] = []
        self.last: bytes | None = None
        self.read = 0

    def fill(self) -> bool:
        """Whether lines are in hand (the next members' once those in hand are taken)."""
        while not self.lines:
            lines = next(self.members, None)
            if lines is None:
                return False
            if not lines:
                continue
            # sorted, the lines between the first and the last start with "<" too
            if not (lines[0].startswith(b"<") and lines[-1].startswith(b"<")) \
                    or not all(map(operator.lt, lines, islice(lines, 1, None))):
                raise Unsorted
            # after the member before, whose last subject does not go on in this one
            if self.last is not None and (lines[0] <= self.last
                                          or lines[0].startswith(_key(self.last))):
                raise Unsorted
            self.lines, self.last = lines, lines[-1]
            self.read += len(lines)
        return True

    def take(self, end: bytes | None) -> list[bytes]:
        """The lines in hand before ``end`` (all of them with None), no longer in hand."""
        if end is None:
            taken, self.lines = self.lines, []
        else:
            at = bisect_left(self.lines, end)
            taken, self.lines = self.lines[:at], self.lines[at:]
        return taken


def _key(line: bytes) -> bytes:
    """The ``<s> `` prefix of a line: the line up to the first ``> `` included."""
    return line[: line.index(b"> ") + 2]


def _same_start(a: list[bytes], b: list[bytes]) -> int:
    """How many first lines ``a`` and ``b`` have in common."""
    low, high = 0, min(len(a), len(b))  # a[:low] == b[:low], not beyond high
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _same_end(a: list[bytes], b: list[bytes], start: int) -> int:
    """How many last lines ``a[start:]`` and ``b[start:]`` have in common."""
    low, high = 0, min(len(a), len(b)) - start
    end_a, end_b = len(a), len(b)
    while low < high:
        middle = (low + high + 1) // 2
        if a[end_a - middle:end_a - low] == b[end_b - middle:end_b - low]:
            low = middle
        else:
            high = middle - 1
    return low


def _holds(lines: list[bytes], key: bytes) -> bool:
    """Whether a line of ``lines`` (sorted) starts with ``key``."""
    at = bisect_left(lines, key)
    return at < len(lines) and lines[at].startswith(key)


def diff_members(new_members: Iterable[list[bytes]], old_members: Iterable[list[bytes]],
                 add: Callable[[str], Any], remove: Callable[[str], Any], limit: int
                 ) -> MemberDiff:
    """The diff of the lines of ``new_members`` against those of ``old_members`` (the lists
    of lines of each side's members, in order): the added and removed lines are given to
    ``add`` and ``remove`` (decoded) in line order. Raises Unsorted (see the module's
    docstring), or UnicodeDecodeError for a line of the diff that is not UTF-8."""
    new, old = _Side(new_members), _Side(old_members)
    triples = [0, 0]
    totals = [0, 0, 0]  # entities added, removed, modified
    kept: tuple[list[str], list[str], list[str]] = ([], [], [])
    while True:
        in_new, in_old = new.fill(), old.fill()
        if not (in_new or in_old):
            break
        end = None
        if in_new and in_old:  # after the subject of the smaller last line in hand
            key = _key(min(new.lines[-1], old.lines[-1]))
            end = key[:-1] + b"!"  # the first string above every line that starts with key
        new_lines, old_lines = new.take(end), old.take(end)
        if new_lines == old_lines:
            continue
        start = _same_start(new_lines, old_lines)
        stop = _same_end(new_lines, old_lines, start)
        new_set = set(new_lines[start:len(new_lines) - stop])
        old_set = set(old_lines[start:len(old_lines) - stop])
        added, removed = sorted(new_set - old_set), sorted(old_set - new_set)
        for line in added:
            add(line.decode("utf-8"))
        for line in removed:
            remove(line.decode("utf-8"))
        triples[0] += len(added)
        triples[1] += len(removed)
        added_keys = {_key(line) for line in added}
        removed_keys = {_key(line) for line in removed}
        for key in sorted(added_keys | removed_keys):
            now = key in added_keys or _holds(new_lines, key)
            before = key in removed_keys or _holds(old_lines, key)
            kind = 2 if now and before else 0 if now else 1
            totals[kind] += 1
            if len(kept[kind]) < limit:  # the first of each kind, in the dump's order
                kept[kind].append(key[1:-2].decode("utf-8"))
    return MemberDiff(old.read, triples[0], triples[1],
                      (tuple(kept[0]), tuple(kept[1]), tuple(kept[2])),
                      (totals[0], totals[1], totals[2]))
