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

A table written from pieces (``exports/tablepieces.py``) had its rows checked piece by piece
when they were made (``tablerows.py``): when the file is the bytes the pieces made (its SHA-256,
the schema and the dialect they were checked for), only its header is read, and the keys and
foreign keys are checked across the pieces; the file is read row by row, as any other, only
when that does not pass, so that the problems said are the same.

Keys are compared through 64-bit hashes kept in sorted numpy arrays (8 bytes a row): a wrong
foreign key would go unnoticed only if its hash equalled one of the keys' (odds of about one
in 10^12 for a million keys). Problems are ``report.TableProblem`` records of frictionless' error
types (``type-error``, ``foreign-key``…); ``engine.validate_tables`` runs this module or frictionless.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tierslieux.validation.report import TableProblem
from tierslieux.validation.tablerows import (
    RowChecks,
    RowsCheck,
    reader,
    recalled,
    unique_columns,
)

_BLOCK = 65536


def _hash(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "big")


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

    files = _Files(folder, resources)
    for name, resource in resources.items():
        if not _check_resource(files, name, resource, report):
            break
    yield from messages[:limit]


class _Files:
    """The resources' files as one check reads them: each file's SHA-256 and the keys foreign
    keys point to, computed once, when first needed; and the row checks their pieces made
    (``remember``), for the files that are the bytes they were made for."""

    def __init__(self, folder: Path, resources: dict[str, dict]) -> None:
        self.folder = folder
        self.resources = resources
        self._digests: dict[str, str] = {}
        self._keys: dict[tuple[str, str], _Keys] = {}

    def path(self, name: str) -> Path:
        return self.folder / self.resources[name]["path"]

    def digest(self, name: str) -> str:
        if name not in self._digests:
            digest = hashlib.sha256()
            with open(self.path(name), "rb") as stream:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
            self._digests[name] = "sha256:" + digest.hexdigest()
        return self._digests[name]

    def keys(self, target: str, column: str) -> _Keys:
        """The values of ``column`` of the resource ``target``, from its file."""
        if (target, column) not in self._keys:
            keys = _Keys()
            resource = self.resources[target]
            for row in _rows(self.path(target), column, resource.get("dialect")):
                if row:
                    keys.add(row)
            keys.freeze()
            self._keys[(target, column)] = keys
        return self._keys[(target, column)]

    def checked(self, name: str) -> RowsCheck | None:
        """The row checks of the pieces of ``name`` when its file is what they were made of
        and its declared hash says so."""
        resource = self.resources.get(name)
        if resource is None or not str(resource.get("hash", "")).startswith("sha256:"):
            return None
        try:
            if not self.path(name).is_file() or self.digest(name) != resource["hash"]:
                return None
        except OSError:
            return None
        return recalled(resource["hash"], resource.get("schema", {}),
                         resource.get("dialect", {}))


def _rows(path: Path, column: str, dialect: dict[str, Any] | None = None) -> Iterator[str]:
    with open(path, encoding="utf-8", newline="") as stream:
        rows = reader(stream, dialect or {})
        header = next(rows, [])
        if column not in header:
            return
        index = header.index(column)
        for row in rows:
            if index < len(row):
                yield row[index]


def _check_resource(files: _Files, name: str, resource: dict, report) -> bool:
    path = files.path(name)
    if not path.is_file():
        return report("scheme-error", name, None, f'{resource["path"]} is missing')
    size = path.stat().st_size
    if "bytes" in resource and resource["bytes"] != size:
        if not report("byte-count", name, None,
                      f'{size} bytes, {resource["bytes"]} declared'):
            return False
    if str(resource.get("hash", "")).startswith("sha256:"):
        if files.digest(name) != resource["hash"]:
            if not report("hash-count", name, None, "the SHA-256 is not the declared one"):
                return False
    schema = resource.get("schema", {})
    fields = schema.get("fields", [])
    names = [f["name"] for f in fields]
    missing_values = set(schema.get("missingValues", [""]))
    unique = unique_columns(schema)
    previous: dict[int, str | None] = {i: None for i in unique}
    unsorted: set[int] = set()
    foreign = []
    for key in schema.get("foreignKeys", []):
        target = key["reference"]["resource"] or name
        foreign.append((names.index(key["fields"][0]), target, key["reference"]["fields"][0],
                        key["fields"][0]))
    dialect = resource.get("dialect", {})
    with open(path, encoding="utf-8", newline="") as stream:
        rows = reader(stream, dialect)
        header = next(rows, None)
        if header != names:
            return report("incorrect-label", name, None,
                          f"the header is {header}, the schema says {names}")
        checked = files.checked(name)
        if checked is not None and _passes(files, checked, foreign):
            # the rows passed when their pieces were made: what needs the whole table is
            # left, the keys of all pieces (the foreign keys were checked just above)
            unsorted = {index for index, *_ in checked.unique} - set(checked.rising())
            for index in sorted(unsorted):
                if not _unique_hashes(path, names[index], report, name, dialect):
                    return False
            return True
        foreign = [(index, files.keys(target, column), column_name, target)
                   for index, target, column, column_name in foreign]
        pending: dict[int, list[tuple[int, str]]] = {i: [] for i, *_ in foreign}
        row_problems = RowChecks(fields, missing_values)
        for number, row in enumerate(rows, start=2):
            for kind, detail in row_problems(row):
                if not report(kind, name, number, detail):
                    return False
            if len(row) != len(names):
                continue
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


def _passes(files: _Files, checked: RowsCheck, foreign: list) -> bool:
    """Whether the rows of ``checked`` pass the row checks and the foreign keys (exactly,
    with the values the pieces kept; a target table not made of pieces is read); False sends
    the table to the whole check, which says what is wrong."""
    if not checked.clean:
        return False
    values = dict(checked.values)
    for index, target, column, _ in foreign:
        if index not in values:
            return False
        target_check = files.checked(target)
        if target_check is not None:
            fields = files.resources[target].get("schema", {}).get("fields", [])
            at = [f["name"] for f in fields].index(column)
            keys = dict(target_check.values).get(at)
            if keys is None or not values[index] <= keys:
                return False
        elif files.keys(target, column).missing(sorted(values[index])):
            return False
    return True
