"""The kept label fold: a rebuild decides again only for the subjects its changed lines touch.

``labels.fold_labels`` decides, for every entity of the release, which label it keeps; that
needs a read of the whole triple-order merged file, and two more to find the titles of the
pages its quality rows name. A rebuild after a few changed pages changes the decisions of a
few subjects only, so the fold of the last build is kept in the run folder, beside the kept
merge (``keptmerge.py``; ``BuildCache.forget_runs`` keeps every ``keptmerge.*`` file):

``keptmerge.labels.json``  the decisions (``labels.SubjectFold`` of every subject that has
                           one), the pages of the revisions (``tl:ofPage``) and the titles of
                           the pages (``tl:title``), for the kept merge of the triple order
                           whose size and modification time it records

A rebuild whose kept merge was updated (not merged whole) finds the changed lines in
``keptmerge.triples.changes`` (``keptmerge._update``: a first line ``= <size> <mtime>
<size> <mtime>``, the kept merge before and after, then the changed triple keys, sorted, each
``+ <key>`` or ``- <key>``). When the kept state is the one the changes start from, the
decisions are made again only for the subjects of the changed lines of a watched predicate
(``labels._WATCHED``: a decision reads no other), from all their statements in the updated
merge (a binary search over its bytes: a subject's statements are contiguous), and the pages
and titles follow the changed ``tl:ofPage`` and ``tl:title`` lines. A decision depends only on
its subject's watched statements, so the result is the whole fold's, byte for byte (tested:
labels added and removed, an official name arriving, spellings from a changed and an unchanged
page, a page renamed). With no changes file, a state that is not the one they start from, a
merged file that is not the kept merge, or anything damaged, the fold is made whole and its
state written again.
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tierslieux import __version__
from tierslieux.pipeline import keptmerge
from tierslieux.pipeline.labels import (
    _WATCHED,
    OF_PAGE,
    TITLE,
    LabelChoice,
    SubjectFold,
    decide,
)

#: bumped when what the state holds, or a decision, changes
FORMAT = 1
NAME = f"{keptmerge.PREFIX}.labels.json"


class Unusable(Exception):
    """The kept fold or the changes cannot be used: fold the release whole."""


@dataclass(frozen=True)
class KeptFold:
    """The fold of a release: its decisions, and the pages' of its revisions and titles (every
    ``tl:ofPage`` IRI of a revision, every ``tl:title`` of a page, as object tokens)."""

    folds: dict[str, SubjectFold]
    pages: dict[str, list[str]]
    titles: dict[str, list[str]]

    def page_of(self) -> dict[str, str]:
        """revision -> its page's IRI token (the last in triple order, as the whole pass)."""
        return {revision: max(tokens) for revision, tokens in self.pages.items() if tokens}

    def title_of(self) -> dict[str, str]:
        return {page: max(tokens) for page, tokens in self.titles.items() if tokens}


def _path(folder: Path) -> Path:
    return folder / NAME


def _stamp(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def kept_triples(folder: Path, merged: Path) -> Path | None:
    """The kept merge of the triple order when ``merged`` (the build's file) is it (a hard
    link, before the fold rewrites it), else None."""
    kept = keptmerge.kept_paths(folder, "triples")[0]
    try:
        return kept if os.path.samefile(kept, merged) else None
    except OSError:
        return None


def save(folder: Path, kept: Path, state: KeptFold) -> None:
    """Write the state of the fold of ``kept`` (atomically)."""
    data = {"format": FORMAT, "version": __version__, "kept": _stamp(kept),
            "folds": {s: _fold_data(f) for s, f in sorted(state.folds.items())},
            "pages": state.pages, "titles": state.titles}
    path = _path(folder)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def forget(folder: Path) -> None:
    _path(folder).unlink(missing_ok=True)


def _fold_data(fold: SubjectFold) -> list:
    return [[[c.language, c.chosen, list(c.others), c.rule, list(c.alternatives)]
             for c in fold.choices],
            sorted(fold.removed), sorted(fold.added), list(fold.revisions)]


def _fold(subject: str, data: list) -> SubjectFold:
    choices, removed, added, revisions = data
    return SubjectFold(
        tuple(LabelChoice(subject, str(language), str(chosen), tuple(map(str, others)),
                          str(rule), tuple(map(str, alternatives)))
              for language, chosen, others, rule, alternatives in choices),
        frozenset(map(str, removed)), frozenset(map(str, added)), tuple(map(str, revisions)))


def load(folder: Path) -> tuple[KeptFold, list[int]]:
    """The kept fold and the stamp of the kept merge it was made from; raises Unusable."""
    try:
        data = json.loads(_path(folder).read_text(encoding="utf-8"))
        if data["format"] != FORMAT or data["version"] != __version__:
            raise Unusable("another format")
        state = KeptFold(
            {str(s): _fold(str(s), f) for s, f in data["folds"].items()},
            {str(r): [str(t) for t in ts] for r, ts in data["pages"].items()},
            {str(p): [str(t) for t in ts] for p, ts in data["titles"].items()})
        return state, [int(n) for n in data["kept"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise Unusable(str(error)) from error


def _changes(folder: Path, since: list[int], kept: Path) -> Iterator[tuple[str, str, str, str]]:
    """(sign, subject, predicate, object) of the changed lines of the triple order, when they
    lead from the kept merge stamped ``since`` to ``kept`` as it is; raises Unusable."""
    path = keptmerge.changes_path(folder, "triples")
    try:
        with open(path, "rb") as stream:
            head = stream.readline().split()
            if head[:1] != [b"="] or [int(n) for n in head[1:]] != since + _stamp(kept):
                raise Unusable("the changes do not start from the kept fold")
            for row in stream:
                sign, key = row[:1].decode(), row[2:].rstrip(b"\n").decode("utf-8")
                subject, predicate, rest = key.split("\x01")
                if sign not in "+-" or subject[:1] != "<" or predicate[:1] != "<":
                    raise Unusable(f"a changed line that is not a triple key: {key!r}")
                yield sign, subject[1:], predicate[1:], rest[:-2]
    except (OSError, ValueError, IndexError) as error:
        raise Unusable(str(error)) from error


def _statements(data: mmap.mmap | bytes, subject: str) -> Iterator[tuple[str, str, str]]:
    """The watched statements of ``subject`` in the triple-order file ``data``."""
    prefix = f"<{subject}\x01".encode("utf-8")
    start = keptmerge.find(data, prefix)
    end = keptmerge.find(data, prefix[:-1] + b"\x02", start)
    if start == end:
        return
    for key in data[start:end - 1].decode("utf-8").split("\n"):
        s, predicate, rest = key.split("\x01")
        if predicate[1:] in _WATCHED:
            yield s[1:], predicate[1:], rest[:-2]


def update(folder: Path, kept: Path) -> KeptFold:
    """The fold of the updated kept merge ``kept`` from the last build's and the changes;
    raises Unusable when they cannot be used."""
    state, since = load(folder)
    touched: set[str] = set()
    for sign, subject, predicate, token in _changes(folder, since, kept):
        if predicate in _WATCHED:
            touched.add(subject)
        table = state.pages if predicate == OF_PAGE and token[0] == "<" else \
            state.titles if predicate == TITLE else None
        if table is not None:
            tokens = table.setdefault(subject, [])
            if sign == "+":
                tokens.append(token)
            elif token in tokens:
                tokens.remove(token)
            else:
                raise Unusable(f"a removed line the kept fold does not hold: {token!r}")
            if not tokens:
                del table[subject]
    with open(kept, "rb") as source:
        size = os.fstat(source.fileno()).st_size
        data = mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        try:
            for subject in sorted(touched):
                values: dict[str, list[str]] = {}
                for _, predicate, token in _statements(data, subject):
                    values.setdefault(predicate, []).append(token)
                fold = decide(subject, values) if values else None
                if fold is None:
                    state.folds.pop(subject, None)
                else:
                    state.folds[subject] = fold
        finally:
            if size:
                data.close()  # type: ignore[union-attr]
    return state
