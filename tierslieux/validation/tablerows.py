"""The Table Schema checks of a table's rows that need the rows only (one piece at a time).

What a stretch of rows tells the checks that need the whole table is kept beside them.

``tables.check_package`` reads each CSV file of a release once; most of what it checks needs
one row at a time (``RowChecks``: the cells, the types, the constraints). The tables of a
release are assembled from pieces, one per subject segment (``exports/tablepieces.py``), made
in the writers' pool and cached: each piece's rows are checked when it is made
(``check_rows``), and the piece keeps what the whole-table checks need of its rows
(``RowsCheck``: whether they passed, the first and last value of each unique column and
whether they rise, the values of the columns foreign keys read or point to). The assembly
combines its pieces' (``combine``) and ``remember``s them under the SHA-256 of the file it
wrote; ``check_package`` then reads only the header of a file whose bytes are those, and
checks across the pieces the keys (a primary key that rises through the pieces is unique; one
that does not is hashed from the file, as before) and the foreign keys. Whenever that check is
not passed, the file is checked whole, as before, so the problems said are the same.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
                       r"(?:Z|[+-][0-9]{2}:[0-9]{2})")

def _type_ok(value: str, field: dict[str, Any]) -> bool:
    kind = field.get("type", "string")
    if kind == "list":
        item = {"type": field.get("itemType", "string")}
        return all(_type_ok(v, item) for v in value.split(field.get("delimiter", ",")))
    try:
        if kind == "string" or kind == "any":
            return True
        if kind == "integer":
            return bool(_INTEGER.fullmatch(value))
        if kind == "number":
            float(value)
            return value.strip() == value and value.lower() not in ("inf", "-inf", "nan")
        if kind == "boolean":
            return value in field.get("trueValues", ["true", "True", "TRUE", "1"]) or \
                value in field.get("falseValues", ["false", "False", "FALSE", "0"])
        if kind == "date":
            return bool(_DATE.fullmatch(value)) and bool(datetime.date.fromisoformat(value))
        if kind == "datetime":
            return bool(_DATETIME.fullmatch(value)) and bool(
                datetime.datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return False
    return True  # a type this module does not know: frictionless' job, not ours



def reader(stream: Any, dialect: dict[str, Any]) -> Any:
    """A csv reader of the CSV Dialect 1.2 description ``dialect`` (a header row is assumed:
    the tables of a release have one)."""
    return csv.reader(stream, delimiter=dialect.get("delimiter", ","),
                      quotechar=dialect.get("quoteChar", '"'),
                      doublequote=dialect.get("doubleQuote", True),
                      skipinitialspace=dialect.get("skipInitialSpace", False))


def _field_checks(field: dict[str, Any]) -> tuple[dict[str, Any], bool, Any, bool]:
    """What a present value of ``field`` is checked for, decided once a resource: (the field,
    required, the type check or None when every text is of the type, constrained)."""
    constraints = field.get("constraints", {})
    kind = field.get("type", "string")
    always = kind in ("string", "any") or (
        kind == "list" and field.get("itemType", "string") in ("string", "any"))
    constrained = "pattern" in constraints or "maxLength" in constraints or (
        "enum" in constraints and kind == "string")
    return field, bool(constraints.get("required")), None if always else _type_ok, constrained


def _constraint_failed(value: str, field: dict[str, Any], patterns: dict[str, Any]) -> str:
    """The constraint of ``field`` that the present ``value`` breaks, or ""."""
    constraints = field.get("constraints", {})
    if "pattern" in constraints:
        pattern = patterns.setdefault(constraints["pattern"],
                                      re.compile(f"^{constraints['pattern']}$"))
        if not pattern.match(value):
            return "pattern"
    if "maxLength" in constraints:
        length = len(value.split(field.get("delimiter", ","))) \
            if field.get("type") == "list" else len(value)
        if length > constraints["maxLength"]:
            return "maxLength"
    if "enum" in constraints and field.get("type", "string") == "string" and \
            value not in constraints["enum"]:
        return "enum"
    return ""


def unique_columns(schema: Mapping[str, Any]) -> list[int]:
    """The columns whose values must be distinct: the ``unique`` ones, and a primary key of
    one column."""
    fields = schema.get("fields", [])
    names = [f["name"] for f in fields]
    unique = [i for i, f in enumerate(fields) if f.get("constraints", {}).get("unique")]
    key = schema.get("primaryKey", [])
    primary = [names.index(n) for n in ([key] if isinstance(key, str) else key) if n in names]
    if len(primary) == 1 and primary[0] not in unique:
        unique.append(primary[0])
    return unique


class RowChecks:
    """The checks of one row that need that row only: its cells, their types and
    constraints; called with a row, gives (kind, detail) of each problem, in order."""

    def __init__(self, fields: list[dict[str, Any]], missing_values: set[str]) -> None:
        self.width = len(fields)
        self.missing_values = missing_values
        self.checks = [_field_checks(field) for field in fields]
        self.patterns: dict[str, Any] = {}

    def __call__(self, row: list[str]) -> Iterator[tuple[str, str]]:
        if len(row) != self.width:
            kind = "extra-cell" if len(row) > self.width else "missing-cell"
            yield kind, f"{len(row)} cells, {self.width} fields"
            return
        for value, (field, required, type_ok, constrained) in zip(row, self.checks):
            if value in self.missing_values:
                if required:
                    yield "constraint-error", f'"{field["name"]}" is required'
                continue
            if type_ok is not None and not type_ok(value, field):
                yield "type-error", (f'"{value}" is not a {field.get("type")} '
                                     f'("{field["name"]}")')
            elif constrained and (failed := _constraint_failed(value, field, self.patterns)):
                yield "constraint-error", (f'"{value}" breaks the {failed} constraint of '
                                           f'"{field["name"]}"')


@dataclass(frozen=True)
class RowsCheck:
    """What the checks of some consecutive rows of a table found (a table piece's rows,
    ``exports/tablepieces.py``, checked when the piece is made): whether every row passed the
    checks that need the row only (``RowChecks``), the first and last present value of each
    unique column and whether they rise strictly, and the distinct present values of the
    columns foreign keys read or point to. ``combine`` makes the rows of a whole table's."""

    clean: bool
    #: (column index, first value, last value, rising), None when no row holds a value
    unique: tuple[tuple[int, str | None, str | None, bool], ...]
    #: (column index, its distinct present values)
    values: tuple[tuple[int, frozenset[str]], ...]

    def rising(self) -> list[int]:
        return [index for index, _, _, rising in self.unique if rising]


def check_rows(schema: Mapping[str, Any], dialect: Mapping[str, Any], text: str,
               keep: Iterable[str] = ()) -> RowsCheck:
    """The checks of the CSV ``text`` of some rows (no header) of a table of ``schema``,
    keeping the values of the columns ``keep`` (``foreign_columns``)."""
    csv.field_size_limit(sys.maxsize)
    fields = list(schema.get("fields", []))
    names = [f["name"] for f in fields]
    missing_values = set(schema.get("missingValues", [""]))
    unique = unique_columns(schema)
    first: dict[int, str | None] = {i: None for i in unique}
    last: dict[int, str | None] = {i: None for i in unique}
    rising = {i: True for i in unique}
    values: dict[int, set[str]] = {names.index(n): set() for n in keep if n in names}
    problems = RowChecks(fields, missing_values)
    clean = True
    for row in reader(io.StringIO(text, newline=""), dialect):
        if clean and next(problems(row), None) is not None:
            clean = False
        if len(row) != len(names):
            continue
        for index in unique:
            value = row[index]
            if value in missing_values:
                continue
            before = last[index]
            if before is None:
                first[index] = value
            elif not value > before:
                rising[index] = False
            last[index] = value
        for index, kept in values.items():
            if row[index] not in missing_values:
                kept.add(row[index])
    return RowsCheck(clean, tuple((i, first[i], last[i], rising[i]) for i in unique),
                     tuple((i, frozenset(v)) for i, v in sorted(values.items())))


def combine(checks: Sequence[RowsCheck], schema: Mapping[str, Any],
            keep: Iterable[str] = ()) -> RowsCheck:
    """The checks of the rows of ``checks`` one after the other (the pieces of a table, in
    order): a unique column rises through them when it rises in each and each piece's first
    value is above the last value before it."""
    names = [f["name"] for f in schema.get("fields", [])]
    unique: dict[int, list] = {i: [None, None, True] for i in unique_columns(schema)}
    values: dict[int, set[str]] = {names.index(n): set() for n in keep if n in names}
    clean = True
    for check in checks:
        clean = clean and check.clean
        for index, first, last, rising in check.unique:
            entry = unique[index]
            if first is None:
                continue
            if entry[1] is not None and not first > entry[1]:
                entry[2] = False
            entry[0] = first if entry[0] is None else entry[0]
            entry[1] = last
            entry[2] = entry[2] and rising
        for index, kept in check.values:
            values[index].update(kept)
    return RowsCheck(clean, tuple((i, *entry) for i, entry in unique.items()),
                     tuple((i, frozenset(v)) for i, v in sorted(values.items())))


def foreign_columns(schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """The columns of each table (name -> its schema) whose values the foreign-key check
    reads: those of its foreign keys, and those other keys point to."""
    columns: dict[str, set[str]] = {name: set() for name in schemas}
    for name, schema in schemas.items():
        for key in schema.get("foreignKeys", []):
            columns[name].add(key["fields"][0])
            target = key["reference"]["resource"] or name
            if target in columns:
                columns[target].add(key["reference"]["fields"][0])
    return {name: tuple(sorted(c)) for name, c in columns.items()}


#: (declared hash, schema and dialect) -> the combined checks of the pieces of that file,
#: for the checks of the release being made (threads of one process: ``exports/gate.py``)
_REMEMBERED: dict[tuple[str, str], RowsCheck] = {}
_REMEMBERED_AT_MOST = 64
_LOCK = threading.Lock()


def _memo_key(digest: str, schema: Mapping[str, Any], dialect: Mapping[str, Any]
              ) -> tuple[str, str]:
    return digest, json.dumps([schema, dialect], sort_keys=True, ensure_ascii=False)


def remember(digest: str, schema: Mapping[str, Any], dialect: Mapping[str, Any],
             check: RowsCheck) -> None:
    """Keep the checks of the file whose SHA-256 is ``digest`` (``sha256:<hex>``), written
    from pieces in ``dialect`` for ``schema``: ``check_package`` uses them for a resource of
    that hash, schema and dialect whose file has that hash."""
    with _LOCK:
        _REMEMBERED[_memo_key(digest, schema, dialect)] = check
        while len(_REMEMBERED) > _REMEMBERED_AT_MOST:
            del _REMEMBERED[next(iter(_REMEMBERED))]


def recalled(digest: str, schema: Mapping[str, Any], dialect: Mapping[str, Any]
              ) -> RowsCheck | None:
    with _LOCK:
        return _REMEMBERED.get(_memo_key(digest, schema, dialect))
