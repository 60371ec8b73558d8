"""The CSV tables from cached pieces (exports/tablepieces.py): a rebuild's tables are the bytes
of a build from an empty cache, whatever another subject's row reads through a ``^`` step, a
second step or a geography join, and only the pieces that changed are made again."""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from test_exports import BASE, META, TL, case_lines, release

from tierslieux.exports import csvtext, mediation, segcut, segments, tablepieces
from tierslieux.exports.release import ReleaseMeta
from tierslieux.exports.tables import (
    TableResult,
    _Index,
    build_tables,
    csv_block,
    load_tables,
    write_table,
)
from tierslieux.model.lines import SortedLines, triple_order

PLACE = f"{BASE}place/Le_WIP"
PAGE = f"{BASE}page/Le_WIP"
COMMUNE = f"{BASE}geo/commune/14762"
EPCI = f"{BASE}geo/epci/241400415"
CSV_FILES = ("tiers_lieux.csv", "collectivites.csv", "reseaux.csv", "organisations.csv",
             "pages.csv", "sections.csv", "elements_liste.csv", mediation.FILE, "quality.csv",
             "datapackage.json", "csv-metadata.json")


def start_lines() -> list[str]:
    """The third place case, with a commune and an EPCI it is joined with (each a subject of
    its own: with one subject a segment, each is in a piece of its own)."""
    return sorted(set(case_lines("third_place") + [
        f"<{PLACE}> <{TL}inCommune> <{COMMUNE}> .",
        f'<{COMMUNE}> <{TL}inseeCode> "14762" .',
        f"<{PLACE}> <{TL}inEpci> <{EPCI}> .",
        f'<{EPCI}> <{TL}siren> "241400415" .',
        f'<{EPCI}> <{TL}officialName> "Caen la Mer" .',
    ]))


def files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in CSV_FILES}


def report_tables(folder: Path) -> tuple:
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    return report["tables"], report["warnings"], report["quality"]


def cell(folder: Path, table: str, subject: str, column: str) -> str:
    with open(folder / table, encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            if row["id"] == subject:
                return row[column]
    raise AssertionError(f"no row {subject} in {table}")


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One subject a segment, and the pieces made counted (the release is small: its
    segments are rendered in this process)."""
    monkeypatch.setattr(segcut, "SEGMENT_SUBJECTS", 1)
    calls: list[int] = []
    original = segments.make_piece

    def counting(setup, triples):
        calls.append(len(triples))
        return original(setup, triples)

    monkeypatch.setattr(segments, "make_piece", counting)
    monkeypatch.setattr(tablepieces, "make_piece", counting)
    return calls


def test_a_rebuild_remakes_the_rows_that_read_what_changed(tmp_path: Path,
                                                           made: list[int]) -> None:
    cache = tmp_path / "cache" / "x.segments.d"
    meta = ReleaseMeta(site=META.site, diff_threshold=1.0)
    lines = start_lines()
    release(lines, tmp_path / "0", meta, segment_cache=cache)
    subjects = len({s for s, _, _ in triple_order(lines)})
    assert len(made) == subjects  # every piece made once
    assert (tmp_path / "cache" / "x.tables.d").is_dir()
    assert cell(tmp_path / "0", "tiers_lieux.csv", PLACE, "code_insee") == "14762"
    assert cell(tmp_path / "0", "tiers_lieux.csv", PLACE, "epci") == "Caen la Mer"

    steps = [
        # a "^" path: the page that describes the place has a newer revision
        ("date", lambda ls: [line.replace("2023-11-02T09:30:00Z", "2024-05-06T10:00:00Z")
                             if line.startswith(f"<{PAGE}> ") else line for line in ls],
         "tiers_lieux.csv", "date_maj", "2024-05-06"),
        # a geography join, two steps: the commune's code changes
        ("insee", lambda ls: [line.replace('"14762"', '"14763"') for line in ls],
         "tiers_lieux.csv", "code_insee", "14763"),
        # a second step: the EPCI's name changes
        ("epci", lambda ls: [line.replace('"Caen la Mer"', '"Caen la mer"') for line in ls],
         "tiers_lieux.csv", "epci", "Caen la mer"),
        # a warning: the commune gets a second code, so the place's row has two values
        ("warning", lambda ls: ls + [f'<{COMMUNE}> <{TL}inseeCode> "14764" .'],
         "tiers_lieux.csv", "code_insee", "14763"),
        # a neutralised cell, through a second step
        ("neutralised", lambda ls: [line.replace('"Caen la mer"', '"=HYPERLINK(1)"')
                                    for line in ls],
         "tiers_lieux.csv", "epci", "'=HYPERLINK(1)"),
    ]
    before = tmp_path / "0"
    for number, (name, change, table, column, expected) in enumerate(steps, start=1):
        lines = sorted(set(change(lines)))
        made.clear()
        cached = tmp_path / f"{number}-{name}"
        release(lines, cached, meta, segment_cache=cache)
        # the subject that changed and the place whose row reads it; nothing else
        assert 1 <= len(made) <= 2, name
        full = tmp_path / f"{number}-{name}-full"
        release(lines, full, meta)
        assert files(cached) == files(full), name
        assert report_tables(cached) == report_tables(full), name
        assert cell(cached, table, PLACE, column) == expected, name
        if name == "warning":  # the cell keeps its first value; the release says so
            assert report_tables(cached)[1] != report_tables(before)[1]
        else:
            assert files(cached)[table] != files(before)[table], name
        before = cached
    tables, warnings, _ = report_tables(before)
    assert any(PLACE in w and "code_insee" in w for w in warnings)
    first = report_tables(tmp_path / "0")[0]
    assert tables["tiers_lieux.csv"]["neutralised_cells"] == \
        first["tiers_lieux.csv"]["neutralised_cells"] + 1
    assert tables[mediation.FILE]["rows"] == 1
    made.clear()
    release(lines, tmp_path / "again", meta, segment_cache=cache)
    assert made == []  # nothing changed: every piece from the cache
    assert files(tmp_path / "again") == files(before)
    # and the tables are those of the one pass over every triple (build_tables)
    whole = tmp_path / "whole"
    whole.mkdir()
    results = build_tables(triple_order(lines), load_tables(), sitename="Movilab")
    for result in results:
        write_table(result, whole)
    mediation.write_national(mediation.national_table(results), whole)
    for result in results:
        assert (whole / result.spec.file).read_bytes() == files(before)[result.spec.file]
    assert (whole / mediation.FILE).read_bytes() == files(before)[mediation.FILE]


def test_a_damaged_piece_is_made_again(tmp_path: Path, made: list[int],
                                       caplog: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "x.segments.d"
    meta = ReleaseMeta(site=META.site, diff_threshold=1.0)
    lines = start_lines()
    release(lines, tmp_path / "one", meta, segment_cache=cache)
    entry = sorted((tmp_path / "x.tables.d").glob("*.json"))[0]
    entry.write_text('{"csv": [', encoding="utf-8")
    made.clear()
    with caplog.at_level(logging.WARNING, logger="tierslieux"):
        release(lines, tmp_path / "two", meta, segment_cache=cache)
    assert len(made) == 1
    assert any("is damaged" in r.getMessage() and entry.name in r.getMessage()
               for r in caplog.records)
    assert files(tmp_path / "two") == files(tmp_path / "one")


def test_the_pieces_of_the_last_two_releases_are_kept(tmp_path: Path, made: list[int]) -> None:
    cache = tmp_path / "x.segments.d"
    meta = ReleaseMeta(site=META.site, diff_threshold=1.0)
    one = start_lines()
    two = [line for line in one if not line.startswith(f"<{EPCI}> ")]
    three = [line for line in two if not line.startswith(f"<{COMMUNE}> ")]
    pieces = tmp_path / "x.tables.d"
    for number, lines in enumerate((one, two, three)):
        release(lines, tmp_path / str(number), meta, segment_cache=cache)
        if number == 0:
            first = {p.name for p in pieces.glob("*.json")}
    last = {p.name for p in pieces.glob("*.json")}
    assert first - last  # the pieces only the first release used are gone
    made.clear()
    release(two, tmp_path / "two-again", meta, segment_cache=cache)
    # the previous release's pieces are still there, but one: the place's, whose entry (one a
    # segment) the last release replaced, since its lookups got other answers there
    assert len(made) == 1
    assert files(tmp_path / "two-again") == files(tmp_path / "1")


TRICKY = ["plain", "", "a,b", 'say "hi"', "two\nlines", "cr\rhere", " spaced ", "=1+1",
          "été", "nan", "None", "''", "\t", "x" * 300]


def test_a_table_is_its_header_and_its_blocks_in_any_grouping(tmp_path: Path) -> None:
    spec = next(s for s in load_tables() if s.name == "pages")
    width = len(spec.columns)
    rows = [[f"{BASE}page/{n:03d}"] + [TRICKY[(n + k) % len(TRICKY)] for k in range(width - 1)]
            for n in range(60)]
    write_table(TableResult(spec, rows), tmp_path)
    whole = (tmp_path / spec.file).read_bytes().decode("utf-8")
    header = pd.DataFrame([], columns=[c.name for c in spec.columns], dtype=object).to_csv(
        None, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    assert csv_block(spec, [], header=True) == header
    for size in (1, 5, 60):
        blocks = [csv_block(spec, rows[at:at + size]) for at in range(0, len(rows), size)]
        assert header + "".join(blocks) == whole
    assert len(whole.splitlines()) > len(rows)  # the cells with a newline are quoted


def pandas_block(spec, rows: list[list[str]], header: bool = False) -> str:
    """The reference: pandas' CSV of the rows, as the tables were written before csv_block."""
    frame = pd.DataFrame(list(rows), columns=[c.name for c in spec.columns], dtype=object)
    return frame.to_csv(None, index=False, header=header, lineterminator="\n",
                        quoting=csv.QUOTE_MINIMAL)


MORE_TRICKY = TRICKY + ['"', '""', ",", "\n", "\r\n", "a\r\nb", " ", "'=x", "0", "1.5",
                        "-", "NaN", "NULL", "#N/A", "\u2028", "😀", "\\", "a;b"]


def test_csv_block_takes_its_fast_way() -> None:
    """This Python's csv.writer quotes what csv_block expects: the bytes come from str.join."""
    assert csvtext.quoted_characters() in (',"\n', ',"\n\r')
    assert csvtext._AS_EXPECTED


@pytest.mark.parametrize("spec", load_tables(), ids=lambda s: s.name)
def test_csv_block_writes_the_bytes_pandas_writes(spec) -> None:
    width = len(spec.columns)
    rows = [[MORE_TRICKY[(n * 7 + k) % len(MORE_TRICKY)] for k in range(width)]
            for n in range(3 * len(MORE_TRICKY))]
    rows.append([""] * width)
    assert csv_block(spec, rows) == pandas_block(spec, rows)
    assert csv_block(spec, rows, header=True) == pandas_block(spec, rows, header=True)
    assert csv_block(spec, [], header=True) == pandas_block(spec, [], header=True)
    for row in rows:
        assert csv_block(spec, [row]) == pandas_block(spec, [row])
    # one column: a row of one empty cell is quoted, to be told from an empty line
    narrow = replace(spec, columns=spec.columns[:1])
    for value in MORE_TRICKY:
        assert csv_block(narrow, [[value]]) == pandas_block(narrow, [[value]])


def test_csv_block_through_the_writer_writes_the_same_bytes(monkeypatch) -> None:
    """The way taken with a csv module that quotes other characters: csv.writer itself."""
    spec = next(s for s in load_tables() if s.name == "pages")
    rows = [[MORE_TRICKY[(n + k) % len(MORE_TRICKY)] for k in range(len(spec.columns))]
            for n in range(len(MORE_TRICKY))]
    fast = csv_block(spec, rows, header=True)
    monkeypatch.setattr(csvtext, "_AS_EXPECTED", False)
    assert csv_block(spec, rows, header=True) == fast == pandas_block(spec, rows, True)


def test_csv_block_writes_the_bytes_pandas_writes_for_the_sample(sample_mapped: dict) -> None:
    """Every table of the bundled sample, whole and row by row, against pandas."""
    lines = sorted({line for page in sample_mapped.values() for line in page.triples})
    results = build_tables(triple_order(lines), load_tables(), sitename="Movilab")
    assert sum(len(r.rows) for r in results) > 100
    for result in results:
        rows = list(result.rows)
        assert csv_block(result.spec, rows, header=True) == pandas_block(result.spec, rows, True)
        for row in rows:
            assert csv_block(result.spec, [row]) == pandas_block(result.spec, [row])


class FileLines(SortedLines):
    """Lines whose bytes come in blocks of a few bytes (lines split across blocks)."""

    def __init__(self, lines: list[str], block: int) -> None:
        self.lines = lines
        self.block = block

    def __iter__(self):
        return iter(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def line_bytes(self):
        data = "".join(f"{line}\n" for line in self.lines).encode("utf-8")
        return (data[at:at + self.block] for at in range(0, len(data), self.block))


def tables_of(index: _Index) -> tuple:
    return tuple({p: {k: sorted(v) for k, v in t.items()} for p, t in side.items()}
                 for side in (index.forward, index.backward))


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 20])
def test_the_index_from_a_byte_search_is_the_index_of_every_triple(block: int) -> None:
    specs = load_tables()
    lines = sorted(set(start_lines() + [  # a literal that spells a predicate of the index
        f'<{BASE}x> <{TL}name> "a> <{TL}describes> <{PLACE}> ." .',
        f'<{BASE}y> <{TL}describes> <{BASE}place/été> .',
    ]))
    whole = _Index(triple_order(lines), specs)
    assert tables_of(tablepieces.collect_index(FileLines(lines, block), specs)) == \
        tables_of(whole)
    assert tables_of(tablepieces.collect_index(lines, specs)) == tables_of(whole)
    assert f"{BASE}x" not in str(tables_of(whole)[1])
