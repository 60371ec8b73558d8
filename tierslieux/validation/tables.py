"""The Table Schema checks of ``check_tables``, streaming, for tables too big for frictionless.

frictionless validates a data package in pure Python, row objects and all: on the tables of a
wiki of 10,000 pages (hundreds of thousands of rows) it takes minutes and keeps the referenced
keys of every foreign key in memory. This module checks what ``check_tables`` relies on
frictionless for, on the kind of package ``datapackage.json`` describes, reading each file once
with the csv module:

- the file's size and SHA-256 (``bytes``, ``hash``);
- the file is read in the resource's ``dialect`` (``delimiter``, ``quoteChar``,
  ``doubleQuote``, ``skipInitialSpace``, ``header``), as frictionless reads it;
- the header row is the schema's field names, in order;
- every row has one cell per field;
- ``missingValues`` are missing; a ``required`` field is never missing;
- each present value is of the field's type: ``string``, ``integer``, ``number``, ``boolean``
  (the field's ``trueValues`` / ``falseValues``), ``date`` (``YYYY-MM-DD``), ``datetime``
  (ISO 8601 with a time zone, ``2023-07-20T17:31:00Z``), ``list`` (the cell split on the
  field's ``delimiter``, each item of its ``itemType``);
- the ``pattern`` (anchored, as frictionless anchors it), ``maxLength`` and ``enum``
  constraints of a field hold;
- ``unique`` fields and the ``primaryKey`` hold no value twice;
- every ``foreignKeys`` value is a key of the referenced resource.

Keys are compared through 64-bit hashes kept in sorted numpy arrays (8 bytes a row): a wrong
foreign key would go unnoticed only if its hash equalled one of the keys' (odds of about one
in 10^12 for a million keys). Problems are ``report.TableProblem`` records of frictionless' error
types (``type-error``, ``foreign-key``…); ``engine.validate_tables`` runs this module or frictionless.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tierslieux.validation.report import TableProblem

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
                       r"(?:Z|[+-][0-9]{2}:[0-9]{2})")
_BLOCK = 65536


def _hash(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "big")


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


class _Keys:
    """A set of strings as a sorted array of their 64-bit hashes."""

    def __init__(self) -> None:
        self._parts: list[Any] = []
        self._block: list[int] = []
        self.sorted: Any = None

    def add(self, value: str) -> None:
        import numpy as np

        self._block.append(_hash(value))
        if len(self._block) >= _BLOCK:
            self._parts.append(np.array(self._block, dtype=np.uint64))
            self._block = []

    def freeze(self) -> None:
        import numpy as np

        parts = self._parts + [np.array(self._block, dtype=np.uint64)]
        self.sorted = np.sort(np.concatenate(parts))
        self._parts, self._block = [], []

    def missing(self, values: list[str]) -> list[str]:
        """The values whose hash is not among the keys."""
        import numpy as np

        if not values:
            return []
        hashes = np.array([_hash(v) for v in values], dtype=np.uint64)
        where = np.searchsorted(self.sorted, hashes)
        where[where >= len(self.sorted)] = 0
        found = self.sorted[where] == hashes if len(self.sorted) else np.zeros(len(values), bool)
        return [v for v, ok in zip(values, found) if not ok]


def check_package(package_path: Path, limit: int = 20) -> Iterator[TableProblem]:
    """Problems of the CSV resources of a data package (at most ``limit`` of them)."""
    csv.field_size_limit(sys.maxsize)
    folder = package_path.parent
    package = json.loads(package_path.read_text(encoding="utf-8"))
    resources = {r["name"]: r for r in package.get("resources", [])}
    messages: list[TableProblem] = []

    def report(kind: str, resource: str, row: int | None, detail: str) -> bool:
        where = f'resource "{resource}"' + (f", row {row}" if row is not None else "")
        messages.append(TableProblem(kind, resource, row, f"{where}: {detail}"))
        return len(messages) < limit

    # The keys foreign keys point to, read first (one column of each referenced resource).
    wanted: dict[tuple[str, str], _Keys] = {}
    for name, resource in resources.items():
        for key in resource.get("schema", {}).get("foreignKeys", []):
            target = key["reference"]["resource"] or name
            wanted.setdefault((target, key["reference"]["fields"][0]), _Keys())
    for (target, column), keys in wanted.items():
        for row in _rows(folder / resources[target]["path"], column,
                         resources[target].get("dialect")):
            if row:
                keys.add(row)
        keys.freeze()

    for name, resource in resources.items():
        if not _check_resource(folder, name, resource, wanted, report):
            break
    yield from messages[:limit]


def _reader(stream: Any, dialect: dict[str, Any]) -> Any:
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


def _rows(path: Path, column: str, dialect: dict[str, Any] | None = None) -> Iterator[str]:
    with open(path, encoding="utf-8", newline="") as stream:
        reader = _reader(stream, dialect or {})
        header = next(reader, [])
        if column not in header:
            return
        index = header.index(column)
        for row in reader:
            if index < len(row):
                yield row[index]


def _check_resource(folder: Path, name: str, resource: dict, keys: dict, report) -> bool:
    path = folder / resource["path"]
    if not path.is_file():
        return report("scheme-error", name, None, f'{resource["path"]} is missing')
    size = path.stat().st_size
    if "bytes" in resource and resource["bytes"] != size:
        if not report("byte-count", name, None,
                      f'{size} bytes, {resource["bytes"]} declared'):
            return False
    if str(resource.get("hash", "")).startswith("sha256:"):
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        if "sha256:" + digest.hexdigest() != resource["hash"]:
            if not report("hash-count", name, None, "the SHA-256 is not the declared one"):
                return False
    schema = resource.get("schema", {})
    fields = schema.get("fields", [])
    names = [f["name"] for f in fields]
    missing_values = set(schema.get("missingValues", [""]))
    unique = [i for i, f in enumerate(fields) if f.get("constraints", {}).get("unique")]
    key = schema.get("primaryKey", [])
    primary = [names.index(n) for n in ([key] if isinstance(key, str) else key) if n in names]
    if len(primary) == 1 and primary[0] not in unique:
        unique.append(primary[0])
    previous: dict[int, str | None] = {i: None for i in unique}
    unsorted: set[int] = set()
    foreign = []
    for key in schema.get("foreignKeys", []):
        target = key["reference"]["resource"] or name
        keys_of = keys[(target, key["reference"]["fields"][0])]
        foreign.append((names.index(key["fields"][0]), keys_of, key["fields"][0], target))
    pending: dict[int, list[tuple[int, str]]] = {i: [] for i, *_ in foreign}
    dialect = resource.get("dialect", {})
    patterns: dict[str, Any] = {}
    checks = [_field_checks(field) for field in fields]
    with open(path, encoding="utf-8", newline="") as stream:
        reader = _reader(stream, dialect)
        header = next(reader, None)
        if header != names:
            return report("incorrect-label", name, None,
                          f"the header is {header}, the schema says {names}")
        for number, row in enumerate(reader, start=2):
            if len(row) != len(names):
                kind = "extra-cell" if len(row) > len(names) else "missing-cell"
                if not report(kind, name, number, f"{len(row)} cells, {len(names)} fields"):
                    return False
                continue
            for value, (field, required, type_ok, constrained) in zip(row, checks):
                if value in missing_values:
                    if required:
                        if not report("constraint-error", name, number,
                                      f'"{field["name"]}" is required'):
                            return False
                    continue
                if type_ok is not None and not type_ok(value, field):
                    if not report("type-error", name, number,
                                  f'"{value}" is not a {field.get("type")} '
                                  f'("{field["name"]}")'):
                        return False
                elif constrained and (failed := _constraint_failed(value, field, patterns)):
                    if not report("constraint-error", name, number,
                                  f'"{value}" breaks the {failed} constraint of '
                                  f'"{field["name"]}"'):
                        return False
            for index in unique:
                value = row[index]
                if value in missing_values or index in unsorted:
                    continue
                last = previous[index]
                if last is None or value > last:
                    previous[index] = value
                else:  # not sorted: the column is hashed and checked at the end
                    unsorted.add(index)
            for index, *_ in foreign:
                value = row[index]
                if value not in missing_values:
                    pending[index].append((number, value))
                    if len(pending[index]) >= _BLOCK and not _flush(name, foreign, index,
                                                                     pending, report):
                        return False
    for index, *_ in foreign:
        if not _flush(name, foreign, index, pending, report):
            return False
    for index in sorted(unsorted):
        if not _unique_hashes(path, names[index], report, name, dialect):
            return False
    return True


def _flush(name: str, foreign: list, index: int, pending: dict, report) -> bool:
    for column_index, keys, column, target in foreign:
        if column_index != index:
            continue
        rows = pending[index]
        missing = set(keys.missing([v for _, v in rows]))
        pending[index] = []
        for number, value in rows:
            if value in missing:
                if not report("foreign-key", name, number,
                              f'"{value}" of "{column}" is not a key of "{target}"'):
                    return False
    return True


def _unique_hashes(path: Path, column: str, report, name: str, dialect: dict) -> bool:
    """A column that is not sorted: its values must still be distinct."""
    import numpy as np

    hashes = np.array([_hash(v) for v in _rows(path, column, dialect) if v], dtype=np.uint64)
    hashes.sort()
    if len(hashes) > 1 and bool((hashes[1:] == hashes[:-1]).any()):
        return report("unique-error", name, None, f'"{column}" holds a value twice')
    return True
