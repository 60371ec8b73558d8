"""The Table Schema checks made per piece (validation/tablerows.py): a file whose pieces were
checked when made is checked across pieces only, and the problems said are those of the check
of the whole file (validation/tables.py), on files that pass and on files that fail."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tierslieux.validation import tablerows, tables
from tierslieux.validation.tables import check_package

DIALECT = {"delimiter": ",", "lineTerminator": "\n", "quoteChar": '"', "doubleQuote": True,
           "skipInitialSpace": False, "header": True}
PAGES = {"fields": [{"name": "id", "type": "string", "constraints": {"required": True,
                                                                      "unique": True}},
                    {"name": "vues", "type": "integer"}],
         "missingValues": [""], "primaryKey": ["id"]}
SECTIONS = {"fields": [{"name": "id", "type": "string", "constraints": {"unique": True}},
                       {"name": "page", "type": "string"},
                       {"name": "parente", "type": "string"}],
            "missingValues": [""], "primaryKey": ["id"],
            "foreignKeys": [
                {"fields": ["page"], "reference": {"resource": "pages", "fields": ["id"]}},
                {"fields": ["parente"], "reference": {"resource": "", "fields": ["id"]}}]}
SCHEMAS = {"pages": PAGES, "sections": SECTIONS}
GOOD = {
    "pages": [["p1,1\n", "p2,\n"], ["p3,30\n"]],
    "sections": [["s1,p1,\n", "s2,p3,s3\n"], ["s3,p2,s1\n", "s4,p3,\n"]],
}
#: what is wrong, and the pieces that say it
CASES = {
    "passes": {},
    "a key twice, in two pieces": {"pages": [["p1,1\n", "p2,\n"], ["p2,30\n"]]},
    "pieces in the wrong order, keys still distinct": {"pages": [["p3,30\n"],
                                                                 ["p1,1\n", "p2,\n"]]},
    "a key twice in one piece": {"pages": [["p1,1\n", "p1,\n"], ["p3,30\n"]]},
    "a bad value": {"pages": [["p1,1\n", "p2,deux\n"], ["p3,30\n"]]},
    "a missing required value": {"pages": [["p1,1\n", ",2\n"], ["p3,30\n"]]},
    "a row one cell short": {"sections": [["s1,p1\n", "s2,p3,s3\n"],
                                          ["s3,p2,s1\n", "s4,p3,\n"]]},
    "a foreign key to no row": {"sections": [["s1,p1,\n", "s2,p9,s3\n"],
                                             ["s3,p2,s1\n", "s4,p3,\n"]]},
    "a key of the same table that is not there": {"sections": [["s1,p1,\n", "s2,p3,s7\n"],
                                                               ["s3,p2,s1\n", "s4,p3,\n"]]},
}


@pytest.fixture(autouse=True)
def forget() -> None:
    tablerows._REMEMBERED.clear()


@pytest.fixture
def whole(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables read row by row (the whole check)."""
    read: list[str] = []
    checks = tables.RowChecks

    def counting(fields, missing_values):  # type: ignore[no-untyped-def]
        read.append(fields[0]["name"] + str(len(fields)))
        return checks(fields, missing_values)

    monkeypatch.setattr(tables, "RowChecks", counting)
    return read


def write(folder: Path, pieces: dict[str, list[list[str]]], remember: bool) -> Path:
    """The package of tables made of ``pieces``, their checks remembered as the assembly's."""
    resources = []
    for name, schema in SCHEMAS.items():
        header = ",".join(f["name"] for f in schema["fields"]) + "\n"
        data = (header + "".join("".join(rows) for rows in pieces[name])).encode()
        (folder / f"{name}.csv").write_bytes(data)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        resources.append({"name": name, "path": f"{name}.csv", "dialect": DIALECT,
                          "bytes": len(data), "hash": digest, "schema": schema})
        if remember:
            keep = tablerows.foreign_columns(SCHEMAS)[name]
            checks = [tablerows.check_rows(schema, DIALECT, "".join(rows), keep)
                      for rows in pieces[name]]
            tablerows.remember(digest, schema, DIALECT, tablerows.combine(checks, schema, keep))
    package = folder / "datapackage.json"
    package.write_text(json.dumps({"resources": resources}), encoding="utf-8")
    return package


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_checks_per_piece_say_what_the_whole_check_says(tmp_path: Path, case: str,
                                                            whole: list[str]) -> None:
    pieces = GOOD | CASES[case]
    expected = list(check_package(write(tmp_path, pieces, remember=False)))
    assert len(whole) == 2  # both tables read row by row
    passing = ("passes", "pieces in the wrong order, keys still distinct")
    assert bool(expected) == (case not in passing)
    tablerows._REMEMBERED.clear()
    whole.clear()
    got = list(check_package(write(tmp_path, pieces, remember=True)))
    assert got == expected
    if case in passing:
        assert whole == []  # neither table was read row by row


def test_a_file_that_is_not_the_bytes_checked_is_read_whole(tmp_path: Path,
                                                            whole: list[str]) -> None:
    """The checks are those of the bytes written: a file changed since is read row by row,
    and so is a file whose resource declares another schema."""
    package = write(tmp_path, GOOD, remember=True)
    (tmp_path / "pages.csv").write_bytes(b"id,vues\np1,1\np2,x\np3,\np3,\n")
    problems = list(check_package(package))
    assert [p.kind for p in problems] == ["byte-count", "hash-count", "type-error",
                                          "unique-error"]
    assert whole == ["id2"]  # pages read whole; sections still from its pieces' checks
    data = json.loads(package.read_text(encoding="utf-8"))
    data["resources"][1]["schema"] = dict(SECTIONS, missingValues=["", "-"])
    package.write_text(json.dumps(data), encoding="utf-8")
    whole.clear()
    list(check_package(package))
    assert whole == ["id2", "id3"]


def test_combine_follows_the_pieces_in_order() -> None:
    keep = ("id",)
    parts = [tablerows.check_rows(PAGES, DIALECT, text, keep)
             for text in ("p1,1\np2,2\n", "", "p3,3\n")]
    assert [c.unique for c in parts] == [((0, "p1", "p2", True),), ((0, None, None, True),),
                                         ((0, "p3", "p3", True),)]
    assert tablerows.combine(parts, PAGES, keep).unique == ((0, "p1", "p3", True),)
    assert tablerows.combine(parts[::-1], PAGES, keep).unique == ((0, "p3", "p2", False),)
    assert dict(tablerows.combine(parts, PAGES, keep).values) == {0: {"p1", "p2", "p3"}}


@pytest.mark.parametrize("broken", [False, True])
def test_a_release_checks_its_piece_tables_across_pieces(tmp_path: Path, broken: bool,
                                                        whole: list[str],
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """A release written from pieces, checked with this module (above FRICTIONLESS_LIMIT):
    each table made of pieces is checked across its pieces, not read row by row, when it
    passes; a broken foreign key is still found, and said as the whole check says it."""
    from test_exports import case_lines, release

    from tierslieux.errors import ValidationError
    from tierslieux.exports.tables import load_tables
    from tierslieux.validation import release as checks

    monkeypatch.setattr(checks, "FRICTIONLESS_LIMIT", 0)
    verdicts: list[bool] = []
    passes = tables._passes

    def spying(*args):  # type: ignore[no-untyped-def]
        verdicts.append(passes(*args))
        return verdicts[-1]

    monkeypatch.setattr(tables, "_passes", spying)
    lines = case_lines("third_place")
    pieces = len(load_tables())
    if broken:
        base = "https://w3id.org/tierslieux/movilab/"
        lines = [line for line in lines if not line.startswith(f"<{base}page/Le_WIP> ")]
        with pytest.raises(ValidationError, match="check_tables: table schema \\(foreign-key\\)"):
            release(lines, tmp_path / "out")
        assert len(verdicts) == pieces and False in verdicts
        return
    release(lines, tmp_path / "out")
    assert verdicts == [True] * pieces
    package = json.loads((tmp_path / "out" / "datapackage.json").read_text(encoding="utf-8"))
    assert len(whole) == len(package["resources"]) - pieces  # quality.csv and the others
