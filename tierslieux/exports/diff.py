"""The diff of a release against the one in place: what the diff files and report.json say.

The triples of a release are compared line by line with the N-Triples dump of the previous
release; entities (subjects) are added, removed or modified. Both sides are sorted streams when
the build wrote them (one merge pass, holding neither); an old dump out of order is compared as
sets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tierslieux.errors import PublishError, ValidationError
from tierslieux.model.rdf import RDF_TYPE
from tierslieux.model.lines import SortedLines
from tierslieux.model.lines import read_ntriples_gz

WIKI_PAGE = "https://w3id.org/tierslieux/ontology#WikiPage"
DIFF_ADDED, DIFF_REMOVED = "diff-added.nt.gz", "diff-removed.nt.gz"
#: entity lists in report.json are cut after this many IRIs (the diff files are complete)
REPORT_LIST_LIMIT = 10_000


@dataclass(frozen=True)
class ReleaseDiff:
    """What changed against the previous release (by subject IRI for entities)."""

    previous_triples: int | None
    triples_added: int = 0
    triples_removed: int = 0
    #: the entities, sorted; a streaming diff keeps the first REPORT_LIST_LIMIT of each kind
    #: (the diff files are complete): a new base IRI changes every entity of a big wiki
    entities_added: tuple[str, ...] = ()
    entities_removed: tuple[str, ...] = ()
    entities_modified: tuple[str, ...] = ()
    #: how many entities of each kind, when there are more than the lists hold
    entities_counts: tuple[int, int, int] | None = None

    def entities(self, kind: str) -> tuple[str, ...]:
        """The entities ``kind`` ("added", "removed", "modified") the diff lists."""
        return {"added": self.entities_added, "removed": self.entities_removed,
                "modified": self.entities_modified}[kind]

    def count(self, kind: str) -> int:
        """Number of entities ``kind`` ("added", "removed", "modified")."""
        if self.entities_counts is not None:
            return self.entities_counts[("added", "removed", "modified").index(kind)]
        return len(self.entities(kind))


def _subject(line: str) -> str:
    return line[1 : line.index("> ")]


def diff_release(lines: list[str], out_dir: Path, sinks: tuple[Any, Any] | None = None
          ) -> tuple[ReleaseDiff, list[str], list[str], int]:
    """Compare with the release in ``out_dir`` (its N-Triples dump), if there is one.

    Returns the diff, the added and the removed lines, and the number of wiki pages
    (subjects typed tl:WikiPage) of the previous release. With ``sinks`` (two
    ``NTriplesGzWriter``), the added and removed lines are written to them as they are found
    instead of being returned: a release whose every triple changed (a new base IRI) costs no
    memory.
    """
    old_path = out_dir / "tierslieux.nt.gz"
    if not old_path.is_file():
        return ReleaseDiff(previous_triples=None), [], [], 0
    if isinstance(lines, SortedLines):
        try:
            return _diff_sorted(lines, old_path, sinks)
        except _Unsorted:
            if sinks is not None:
                for sink in sinks:
                    sink.reset()
            # an old dump not written by write_release: compare as sets below
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise PublishError(f"cannot read the previous release {old_path}: {exc}") from exc
    try:
        old = sorted(set(read_ntriples_gz(old_path)))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise PublishError(f"cannot read the previous release {old_path}: {exc}") from exc
    old_set = set(old)
    new_set = set(lines)
    added = [line for line in lines if line not in old_set]
    removed = [line for line in old if line not in new_set]
    old_subjects = {_subject(line) for line in old}
    new_subjects = {_subject(line) for line in lines}
    touched = {_subject(line) for line in added} | {_subject(line) for line in removed}
    diff = ReleaseDiff(
        previous_triples=len(old),
        triples_added=len(added),
        triples_removed=len(removed),
        entities_added=tuple(sorted(new_subjects - old_subjects)),
        entities_removed=tuple(sorted(old_subjects - new_subjects)),
        entities_modified=tuple(sorted(touched & old_subjects & new_subjects)),
    )
    page_marker = f"> <{RDF_TYPE}> <{WIKI_PAGE}> ."
    previous_pages = sum(1 for line in old if line.endswith(page_marker))
    if sinks is not None:
        for sink, found in zip(sinks, (added, removed)):
            for line in found:
                sink.write(line)
        return diff, [], [], previous_pages
    return diff, added, removed, previous_pages


class _Unsorted(Exception):
    """The previous dump is not in line order without duplicates."""


def _diff_sorted(lines: SortedLines, old_path: Path, sinks: tuple[Any, Any] | None = None
                 ) -> tuple[ReleaseDiff, list[str], list[str], int]:
    """``diff_release`` in one merge pass over two sorted streams, holding neither: the lines of a
    subject are contiguous in line order, so entities are compared group by group."""
    page_marker = f"> <{RDF_TYPE}> <{WIKI_PAGE}> ."
    added: list[str] = []
    removed: list[str] = []
    add, remove = (added.append, removed.append) if sinks is None else (
        sinks[0].write, sinks[1].write)
    totals = [0, 0]
    entities_added: list[str] = []
    entities_removed: list[str] = []
    entities_modified: list[str] = []
    counts = {"old": 0, "pages": 0}

    def old_lines() -> Iterator[str]:
        previous = None
        for line in read_ntriples_gz(old_path):
            if previous is not None and line <= previous:
                raise _Unsorted
            previous = line
            counts["old"] += 1
            if line.endswith(page_marker):
                counts["pages"] += 1
            yield line

    # (line, side): 0 in both releases, 1 only in the new one, 2 only in the old one
    def events() -> Iterator[tuple[str, int]]:
        new_it, old_it = iter(lines), old_lines()
        new, old = next(new_it, None), next(old_it, None)
        while new is not None or old is not None:
            if old is None or (new is not None and new < old):
                yield new, 1  # type: ignore[misc]
                new = next(new_it, None)
            elif new is None or old < new:
                yield old, 2
                old = next(old_it, None)
            else:
                yield new, 0
                new, old = next(new_it, None), next(old_it, None)

    subject = None
    sides = 0  # bit 1: the subject is in the new release, bit 2: in the old one
    touched = False

    entity_totals = [0, 0, 0]

    def close() -> None:
        if subject is None:
            return
        # only the first REPORT_LIST_LIMIT of each kind are kept (in the dump's order)
        if sides == 1:
            entity_totals[0] += 1
            if len(entities_added) < REPORT_LIST_LIMIT:
                entities_added.append(subject)
        elif sides == 2:
            entity_totals[1] += 1
            if len(entities_removed) < REPORT_LIST_LIMIT:
                entities_removed.append(subject)
        elif touched:
            entity_totals[2] += 1
            if len(entities_modified) < REPORT_LIST_LIMIT:
                entities_modified.append(subject)

    for line, side in events():
        current = _subject(line)
        if current != subject:
            close()
            subject, sides, touched = current, 0, False
        if side == 0:
            sides |= 3
        elif side == 1:
            sides |= 1
            touched = True
            totals[0] += 1
            add(line)
        else:
            sides |= 2
            touched = True
            totals[1] += 1
            remove(line)
    close()
    diff = ReleaseDiff(
        previous_triples=counts["old"],
        triples_added=totals[0],
        triples_removed=totals[1],
        entities_added=tuple(sorted(entities_added)),
        entities_removed=tuple(sorted(entities_removed)),
        entities_modified=tuple(sorted(entities_modified)),
        entities_counts=tuple(entity_totals) if max(entity_totals) > REPORT_LIST_LIMIT
        else None,  # type: ignore[arg-type]
    )
    return diff, added, removed, counts["pages"]


def check_drop(diff: ReleaseDiff, triples: int, *, threshold: float, deleted: int,
               pages: int, force: bool = False) -> None:
    """Refuse a release much smaller than the previous one, unless explained or forced:
    ``deleted`` pages of the wiki (of ``pages`` in the previous release) excuse their share."""
    previous = diff.previous_triples
    if not previous or force:
        return
    drop = (previous - triples) / previous
    excused = 0.0
    if deleted:
        excused = min(1.0, deleted / pages) if pages else 1.0
    if drop > threshold + excused:
        raise ValidationError(
            f"the release has {triples} triples, {drop:.1%} fewer than the previous one "
            f"({previous}), more than the {threshold:.0%} allowed"
            + (f" plus {excused:.1%} for {deleted} deleted pages" if deleted else "")
            + "; check the harvest and the mapping, or force the release"
        )
