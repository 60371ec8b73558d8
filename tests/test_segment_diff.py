"""The diff of a release from the gzip members of the N-Triples dumps (exports/diff.py).

A release kept with a segment cache leaves the record of its dump (its members' SHA-256 and
sizes) in the cache folder; the next release's diff reads only the members that changed. Every
case is compared with the diff of the whole dumps (the same releases without a cache): the two
diff files, the diff of the result and of report.json, and the drop threshold's verdict.
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest
from test_exports import META as EXPORTS_META
from test_exports import release
from test_segments import tricky_lines

from tierslieux.errors import ValidationError
from tierslieux.exports import diff as diff_module
from tierslieux.exports import segcut
from tierslieux.exports.diff import DIFF_ADDED, DIFF_REMOVED, PAGE_MARKER, RECORD_FILE, DumpRecord
from tierslieux.exports.release import ReleaseMeta
from tierslieux.model.lines import read_ntriples_gz

BASE = "https://w3id.org/tierslieux/movilab/"
OTHER = "https://other.example/data/"
TL = "https://w3id.org/tierslieux/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
#: the diff does not depend on the site nor on the checks of the tables: left out (faster)
META = replace(EXPORTS_META, linked_data_site=False)


def old_lines() -> list[str]:
    lines = tricky_lines()
    lines += [f"<{BASE}page/P{index:02d}> <{RDF_TYPE}> <{TL}WikiPage> ." for index in range(40)]
    return sorted(set(lines))


def without(lines: list[str], *subjects: str) -> list[str]:
    return [line for line in lines if not any(line.startswith(f"<{BASE}{s}> ") for s in subjects)]


def added(lines: list[str]) -> list[str]:
    return sorted(lines + [f"<{BASE}page/Q{index}> <{RDF_TYPE}> <{TL}WikiPage> ."
                           for index in range(3)]
                  + [f'<{BASE}page/Q{index}> <{LABEL}> "q{index}"@fr .' for index in range(3)])


def modified(lines: list[str]) -> list[str]:
    return sorted(line.replace('"n7"@fr', '"n7 bis"@fr').replace('"n30"@fr', '"trente"@fr')
                  for line in lines)


CASES = {
    "unchanged": lambda lines: lines,
    "added": added,
    "removed": lambda lines: without(lines, "page/P03", "place/A-", "page/P17"),
    "modified": modified,
    "mixed": lambda lines: added(modified(without(lines, "page/P05", "place/x1/1"))),
    "new base IRI": lambda lines: sorted(line.replace(BASE, OTHER) for line in lines),
}


@pytest.fixture(autouse=True)
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", 3)  # many members


class Spy:
    """How many diffs came from the members, and the lines they read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.frames = 0
        self.read = 0
        member_lines, from_frames = diff_module._member_lines, diff_module.diff_from_frames

        def counting_lines(*args):
            for lines in member_lines(*args):
                self.read += len(lines)
                yield lines

        def counting_frames(*args):
            self.frames += 1
            return from_frames(*args)

        monkeypatch.setattr(diff_module, "_member_lines", counting_lines)
        monkeypatch.setattr(diff_module, "diff_from_frames", counting_frames)


def meta_for(lines: list[str]) -> ReleaseMeta:
    return replace(META, base_iri=OTHER) if lines and OTHER in lines[0] else META


def both(tmp_path: Path, old: list[str], new: list[str], **kwargs):
    """The second release over the first, with the record (``cached``) and without."""
    done = {}
    for way in ("cached", "whole"):
        out = tmp_path / way / "out"
        cache = {"segment_cache": tmp_path / way / "segments.d"} if way == "cached" else {}
        release(old, out, meta_for(old), validators=[], **cache)
        if way == "cached" and kwargs.get("prepare"):
            kwargs["prepare"](tmp_path / way / "segments.d" / RECORD_FILE, out)
        done[way] = release(new, out, meta_for(new), validators=[], **cache)
    return done


def same_diffs(tmp_path: Path, done: dict) -> None:
    assert done["cached"].diff == done["whole"].diff
    for name in (DIFF_ADDED, DIFF_REMOVED):
        assert ((tmp_path / "cached" / "out" / name).read_bytes()
                == (tmp_path / "whole" / "out" / name).read_bytes())
    reports = [json.loads((tmp_path / way / "out" / "report.json").read_text())
               for way in ("cached", "whole")]
    assert reports[0]["diff"] == reports[1]["diff"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_diff_from_members_is_the_diff_of_the_whole_dumps(
        case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    old = old_lines()
    new = CASES[case](old)
    done = both(tmp_path, old, new)
    same_diffs(tmp_path, done)
    assert spy.frames == 1  # the cached release took the members' way
    diff = done["cached"].diff
    if case == "unchanged":
        assert (diff.triples_added, diff.triples_removed, spy.read) == (0, 0, 0)
    else:
        assert diff.triples_added + diff.triples_removed > 0
    if case in ("added", "removed", "modified"):  # a few members read, not the whole dumps
        assert 0 < spy.read < (len(old) + len(new)) / 3
    if case == "new base IRI":
        assert spy.read == len(old) + len(new)
        assert diff.count("added") == diff.count("removed") > 0
    if case == "removed":
        assert f"{BASE}page/P03" in diff.entities_removed
    # the record kept describes the dump in place, wiki pages included
    record = DumpRecord.load(tmp_path / "cached" / "segments.d" / RECORD_FILE)
    dump = tmp_path / "cached" / "out" / "tierslieux.nt.gz"
    lines = list(read_ntriples_gz(dump))
    assert record is not None and record.matches(dump)
    assert (record.triples, record.pages) == (
        len(lines), sum(1 for line in lines if line.endswith(PAGE_MARKER)))
    assert len(record.parts) > 10


def test_the_first_release_keeps_a_record(tmp_path: Path) -> None:
    result = release(old_lines(), tmp_path / "out", META, validators=[],
                     segment_cache=tmp_path / "seg")
    assert result.diff.previous_triples is None
    record = DumpRecord.load(tmp_path / "seg" / RECORD_FILE)
    assert record is not None and record.matches(tmp_path / "out" / "tierslieux.nt.gz")
    # each member holds whole subjects' sorted lines, the members in line order
    data = (tmp_path / "out" / "tierslieux.nt.gz").read_bytes()
    offset, subjects, previous = record.head, set(), ""
    for _, size in record.parts:
        lines = gzip.decompress(data[offset:offset + size]).decode().splitlines()
        offset += size
        assert lines == sorted(lines) and lines[0] > previous
        previous = lines[-1]
        mine = {line[1:line.index("> ")] for line in lines}
        assert not mine & subjects
        subjects |= mine


def damage(kind: str):
    def prepare(record: Path, out: Path) -> None:
        if kind == "missing":
            record.unlink()
        elif kind == "not JSON":
            record.write_text("{not json", encoding="utf-8")
        elif kind == "sizes":
            data = json.loads(record.read_text())
            data["parts"][0][1] += 1
            record.write_text(json.dumps(data), encoding="utf-8")
        elif kind == "member":  # the file's sum is right, a member's is not
            data = json.loads(record.read_text())
            data["parts"][2][0] = "0" * 64
            record.write_text(json.dumps(data), encoding="utf-8")
        elif kind == "other dump":  # the dump in place is not the one recorded
            dump = out / "tierslieux.nt.gz"
            dump.write_bytes(gzip.compress(gzip.decompress(dump.read_bytes()), mtime=0))
    return prepare


@pytest.mark.parametrize("kind", ["missing", "not JSON", "sizes", "member", "other dump"])
def test_a_missing_or_damaged_record_falls_back_to_the_whole_dumps(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    spy = Spy(monkeypatch)
    old = old_lines()
    with caplog.at_level(logging.WARNING, logger="tierslieux.exports.diff"):
        done = both(tmp_path, old, CASES["mixed"](old), prepare=damage(kind))
    same_diffs(tmp_path, done)
    assert spy.frames == (1 if kind == "member" else 0)  # tried, then given up
    warned = [r.getMessage() for r in caplog.records if r.name == diff_module.__name__]
    if kind in ("not JSON", "sizes", "member"):
        assert len(warned) == 1 and "whole" in warned[0]
    else:
        assert warned == []
    # and the next release has a good record again
    assert DumpRecord.load(tmp_path / "cached" / "segments.d" / RECORD_FILE).matches(
        tmp_path / "cached" / "out" / "tierslieux.nt.gz")


def test_lists_cut_for_a_list_of_lines_fall_back_to_the_set_diff(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines given as a list are compared as sets by the whole-dump diff, which lists every
    entity: the members' diff, which cuts the lists, gives way to it."""
    monkeypatch.setattr(diff_module, "REPORT_LIST_LIMIT", 3)
    old = old_lines()
    done = both(tmp_path, old, CASES["new base IRI"](old))
    same_diffs(tmp_path, done)
    assert done["cached"].diff.entities_counts is None
    assert len(done["cached"].diff.entities_added) > 3


def test_the_drop_threshold_refuses_the_same_release(tmp_path: Path) -> None:
    old = old_lines()
    new = [line for line in old if "/page/P" not in line and "place/A" not in line]
    errors = []
    for way in ("cached", "whole"):
        out = tmp_path / way
        cache = {"segment_cache": tmp_path / f"{way}.d"} if way == "cached" else {}
        release(old, out, META, validators=[], **cache)
        with pytest.raises(ValidationError) as caught:
            release(new, out, META, validators=[], **cache)
        errors.append(str(caught.value))
    assert errors[0] == errors[1] and "fewer than the previous one" in errors[0]
