"""The diff of a release against the one in place: what the diff files and report.json say.

The triples of a release are compared line by line with the N-Triples dump of the previous
release; entities (subjects) are added, removed or modified. Both sides are sorted streams when
the build wrote them (one merge pass, holding neither); an old dump out of order is compared as
sets. With the records of both dumps' gzip members (``DumpRecord``), only the members that
differ are read, and their lines compared as sets (in C): a subject lies in one member per
side, so only the subjects of lines in the symmetric difference are looked at.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import shutil
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tierslieux.errors import PublishError, ValidationError
from tierslieux.exports.memberdiff import Unsorted as _Unsorted
from tierslieux.exports.memberdiff import diff_members
from tierslieux.model.rdf import RDF_TYPE
from tierslieux.model.lines import SortedLines
from tierslieux.model.lines import read_ntriples_gz

log = logging.getLogger(__name__)

WIKI_PAGE = "https://w3id.org/tierslieux/ontology#WikiPage"
DIFF_ADDED, DIFF_REMOVED = "diff-added.nt.gz", "diff-removed.nt.gz"
#: the end of the line that types a subject tl:WikiPage
PAGE_MARKER = f"> <{RDF_TYPE}> <{WIKI_PAGE}> ."
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
    previous_pages = sum(1 for line in old if line.endswith(PAGE_MARKER))
    if sinks is not None:
        for sink, found in zip(sinks, (added, removed)):
            for line in found:
                sink.write(line)
        return diff, [], [], previous_pages
    return diff, added, removed, previous_pages


def _diff_sorted(lines: SortedLines, old_path: Path, sinks: tuple[Any, Any] | None = None
                 ) -> tuple[ReleaseDiff, list[str], list[str], int]:
    """``diff_release`` in one merge pass over two sorted streams, holding neither: the lines of a
    subject are contiguous in line order, so entities are compared group by group."""
    counts = {"old": 0, "pages": 0}

    def old_lines() -> Iterator[str]:
        for line in read_ntriples_gz(old_path):
            counts["old"] += 1
            if line.endswith(PAGE_MARKER):
                counts["pages"] += 1
            yield line

    diff, added, removed = merge_sorted(lines, old_lines(), sinks)
    return replace(diff, previous_triples=counts["old"]), added, removed, counts["pages"]


def merge_sorted(new_lines: Iterable[str], old_lines: Iterable[str],
                 sinks: tuple[Any, Any] | None = None, check_new: bool = False
                 ) -> tuple[ReleaseDiff, list[str], list[str]]:
    """The diff of two streams of distinct lines in line order (``previous_triples``: the old
    lines read); raises _Unsorted when the old stream (or with ``check_new`` the new one) is
    not."""
    added: list[str] = []
    removed: list[str] = []
    add, remove = (added.append, removed.append) if sinks is None else (
        sinks[0].write, sinks[1].write)
    totals = [0, 0]
    entities_added: list[str] = []
    entities_removed: list[str] = []
    entities_modified: list[str] = []
    read = [0]

    def checked(lines: Iterable[str], count: list[int]) -> Iterator[str]:
        previous = None
        for line in lines:
            if previous is not None and line <= previous:
                raise _Unsorted
            previous = line
            count[0] += 1
            yield line

    # (line, side): 0 in both releases, 1 only in the new one, 2 only in the old one
    def events() -> Iterator[tuple[str, int]]:
        new_it = checked(new_lines, [0]) if check_new else iter(new_lines)
        old_it = checked(old_lines, read)
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
        previous_triples=read[0],
        triples_added=totals[0],
        triples_removed=totals[1],
        entities_added=tuple(sorted(entities_added)),
        entities_removed=tuple(sorted(entities_removed)),
        entities_modified=tuple(sorted(entities_modified)),
        entities_counts=tuple(entity_totals) if max(entity_totals) > REPORT_LIST_LIMIT
        else None,  # type: ignore[arg-type]
    )
    return diff, added, removed


# --------------------------------------------------------------------------- from the frames


DUMP = "tierslieux.nt.gz"
#: the frame of the last published dump, in the segment cache folder (segments.py)
RECORD_FILE = "dump-frame.json"


@dataclass(frozen=True)
class DumpRecord:
    """How the published N-Triples dump is made of gzip members (``FileFrame`` of segments.py),
    kept after publication so that the next release's diff reads only the members that
    changed. Each member holds the sorted lines of whole subjects, the members in line order."""

    #: SHA-256 and size of the whole file
    sha256: str
    size: int
    head: int
    tail: int
    #: (SHA-256, size) of each member, in order
    parts: tuple[tuple[str, int], ...]
    triples: int
    #: subjects typed tl:WikiPage
    pages: int

    @classmethod
    def of(cls, frame: Any, triples: int, pages: int) -> DumpRecord | None:
        """The record of a ``FileFrame``; None when it is not made of whole gzip members."""
        if frame.skip:
            return None
        return cls(frame.sha256, frame.size, len(frame.head), len(frame.tail),
                   tuple((sha, size) for sha, size in frame.parts), triples, pages)

    @classmethod
    def of_manifest(cls, manifest: Any, classes: dict[str, int]) -> DumpRecord | None:
        """The record of the dump of a ``Manifest`` (``classes``: the graph's class counts)."""
        frame = next(f for f in manifest.files if f.name == DUMP)
        return cls.of(frame, manifest.triples, classes.get(WIKI_PAGE, 0))

    def save(self, path: Path) -> None:
        """Written in a temporary file renamed into place."""
        data = {"sha256": self.sha256, "size": self.size, "head": self.head,
                "tail": self.tail, "parts": [list(p) for p in self.parts],
                "triples": self.triples, "pages": self.pages}
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> DumpRecord | None:
        """The record kept in ``path``; None when there is none or it is damaged (logged)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            record = cls(str(data["sha256"]), int(data["size"]), int(data["head"]),
                         int(data["tail"]), tuple((str(sha), int(size))
                                                  for sha, size in data["parts"]),
                         int(data["triples"]), int(data["pages"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s is damaged (%s): the diff reads the whole previous dump", path,
                        f"{type(exc).__name__}: {exc}")
            return None
        if record.head + sum(size for _, size in record.parts) + record.tail != record.size:
            log.warning("%s is damaged (its sizes do not add up): the diff reads the whole "
                        "previous dump", path)
            return None
        return record

    def matches(self, path: Path) -> bool:
        """Whether ``path`` is the file this record describes (size and SHA-256)."""
        try:
            if path.stat().st_size != self.size:
                return False
            from tierslieux.exports.report import sha256_file  # report imports this module

            return sha256_file(path) == self.sha256
        except OSError:
            return False


def keep_record(record: DumpRecord | None, path: Path) -> None:
    """After publication: the published dump's record, for the next diff (without one, or with
    one that does not match the dump in place, that diff reads the whole dump)."""
    try:
        if record is None:
            path.unlink(missing_ok=True)
        else:
            record.save(path)
    except OSError as exc:
        log.warning("cannot keep %s (%s): the next diff reads the whole dump", path, exc)


def keep_unchanged_diff(diff: ReleaseDiff, out_dir: Path, staging: Path) -> None:
    """Same data as the release in place: keep its diff (the change that led to this data),
    so that rebuilding an unchanged store republishes byte-identical files."""
    unchanged = (diff.previous_triples is not None and not diff.triples_added
                 and not diff.triples_removed
                 and all((out_dir / name).is_file() for name in (DIFF_ADDED, DIFF_REMOVED)))
    if unchanged:
        for name in (DIFF_ADDED, DIFF_REMOVED):
            shutil.copyfile(out_dir / name, staging / name)


def previous_record(out_dir: Path, record_file: Path | None) -> DumpRecord | None:
    """The record of the dump in ``out_dir``, when one was kept and still matches the file."""
    if record_file is None:
        return None
    record = DumpRecord.load(record_file)
    if record is None:
        return None
    if not record.matches(out_dir / DUMP):
        log.debug("%s does not describe %s: the diff reads the whole previous dump",
                  record_file, out_dir / DUMP)
        return None
    return record


def diff_from_frames(old_path: Path, old: DumpRecord, new_path: Path, new: DumpRecord,
                     sinks: tuple[Any, Any]) -> tuple[ReleaseDiff, int]:
    """``diff_release`` of the dump ``new_path`` against ``old_path`` from their records: the
    members both have cancel (a subject lies in one member, so an entity of such a member is
    the same on both sides), the others are read at their offsets, checked against their
    SHA-256 and compared by ``memberdiff.diff_members``. Same diff and same lines written to
    ``sinks`` as the merge of the whole dumps. Returns the diff and the wiki pages of the
    previous release; raises _Unsorted (or ValueError for a member that is not what its
    record says) when the whole dumps must be compared instead."""
    common = Counter(old.parts) & Counter(new.parts)
    found = diff_members(_member_lines(new_path, new, Counter(common)),
                         _member_lines(old_path, old, Counter(common)),
                         sinks[0].write, sinks[1].write, REPORT_LIST_LIMIT)
    totals = found.totals
    diff = ReleaseDiff(
        previous_triples=old.triples,
        triples_added=found.triples_added,
        triples_removed=found.triples_removed,
        entities_added=tuple(sorted(found.kept[0])),
        entities_removed=tuple(sorted(found.kept[1])),
        entities_modified=tuple(sorted(found.kept[2])),
        entities_counts=totals if max(totals) > REPORT_LIST_LIMIT else None,
    )
    return diff, old.pages


def write_diff_files(lines: Any, out_dir: Path, staging: Path, previous: DumpRecord,
                     new: DumpRecord | None) -> tuple[ReleaseDiff, int]:
    """The two diff files in ``staging`` and the diff, from the records of the dumps when
    they allow it (``diff_from_frames``), else from the whole dumps (``diff_release``)."""
    from tierslieux.exports.ntriples import NTriplesGzWriter

    with NTriplesGzWriter(staging / DIFF_ADDED) as added, \
            NTriplesGzWriter(staging / DIFF_REMOVED) as removed:
        if new is not None:
            try:
                diff, pages = diff_from_frames(out_dir / DUMP, previous, staging / DUMP, new,
                                               (added, removed))
                # the whole-dump diff of lines not from run files compares sets: the same
                # diff, unless its entity lists were cut
                if isinstance(lines, SortedLines) or diff.entities_counts is None:
                    return diff, pages
            except (_Unsorted, ValueError, OSError, EOFError, zlib.error) as exc:
                log.warning("the diff from the dumps' segments failed (%s): it reads the "
                            "whole dumps", exc or type(exc).__name__)
            added.reset()
            removed.reset()
        diff, _, _, pages = diff_release(lines, out_dir, (added, removed))
    return diff, pages


def _member_lines(path: Path, record: DumpRecord, common: Counter) -> Iterator[list[bytes]]:
    """The lines (UTF-8) of each member of ``path`` that is not in ``common``, in order."""
    with open(path, "rb") as stream:
        offset = record.head
        for sha, size in record.parts:
            if common[(sha, size)]:
                common[(sha, size)] -= 1
            else:
                stream.seek(offset)
                data = stream.read(size)
                if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
                    raise ValueError(f"a member of {path} is not what its record says")
                lines = gzip.decompress(data).split(b"\n")
                if lines and not lines[-1]:
                    lines.pop()
                yield list(filter(None, lines)) if b"" in lines else lines
            offset += size
        stream.seek(offset)
        if gzip.decompress(stream.read(record.tail)):
            raise ValueError(f"the tail of {path} holds lines")


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
