"""The CSV tables of a release, one per kind of entity, as ``tables.yaml`` lays them out.

``package.py`` describes them (datapackage.json and csv-metadata.json).

Each table has one row per entity of its classes, the entity's IRI as ``id``, the columns in the
order of ``tables.yaml`` and the rows sorted by ``id``. Files are UTF-8 without BOM, comma
separated, ``"``-quoted where needed, one ``\\n`` per row.

Formula neutralisation (quoted by the README)
    A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return as a formula. In a column of type ``string``, such a value gets a leading apostrophe
    (``'=HYPERLINK(…)`` → ``''=HYPERLINK(…)``), as OWASP recommends for CSV injection, with one
    exception: a value made only of a leading ``+`` or ``-`` followed by digits, spaces, dots and
    parentheses (a phone number such as ``+33 1 23 45 67 89``, a number such as ``-4.5``), or of
    several such values joined with ``|`` (the phone numbers of a multi-valued cell,
    ``+33123456789|+442079460958``), is kept as it is, since it can call no function. Columns of
    other types (integer, number, date…) hold only validated values and are never changed. The RDF files always keep the original text.
"""

from __future__ import annotations

import json
import marshal
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from tierslieux.errors import MappingError
from tierslieux.exports.csvtext import csv_block  # noqa: F401  (tablepieces, tests)
from tierslieux.model.lines import subject_groups
from tierslieux.model import yamltext
from tierslieux.model.rdf import RDF_TYPE, Triple, parse_object

TABLES_FILE = "tables.yaml"
TYPES = ("string", "integer", "number", "boolean", "date", "datetime")
VALUES = ("text", "concept", "label", "date", "class", "phone")
#: what joins the values of a multi-valued cell (declared as the "list" type's delimiter)
SEPARATOR = "|"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_HARMLESS_SIGNED = re.compile(r"[+-][0-9 .()]*[0-9][0-9 .()]*(?:\|[+-]?[0-9 .()]*[0-9][0-9 .()]*)*")


def neutralise(value: str) -> str:
    """The value to write in a string cell: see the module docstring for the exact rule."""
    if value.startswith(_FORMULA_START) and not _HARMLESS_SIGNED.fullmatch(value):
        return "'" + value
    return value


# --------------------------------------------------------------------------- the spec


@dataclass(frozen=True)
class Step:
    """One step of a path: a property, walked forwards or backwards (``^``)."""

    predicate: str
    inverse: bool = False


@dataclass(frozen=True)
class Column:
    name: str
    title: str = ""
    description: str = ""
    type: str = "string"
    required: bool = False
    #: alternative paths, tried in order; () with ``constant`` or ``value: class``
    paths: tuple[tuple[Step, ...], ...] = ()
    constant: str | None = None
    value: str = "text"
    multi: bool = False
    several: str = "first"
    #: (table, column) of a foreign key
    references: tuple[str, str] | None = None


@dataclass(frozen=True)
class TableSpec:
    name: str
    title_fr: str
    title_en: str
    description: str
    classes: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def file(self) -> str:
        return f"{self.name}.csv"


def load_tables(path: Path | None = None) -> tuple[TableSpec, ...]:
    """Read and check a tables file (default: the package's ``tables.yaml``)."""
    if path is None:
        text = resources.files(__package__).joinpath(TABLES_FILE).read_text(encoding="utf-8")
        where = TABLES_FILE
    else:
        text = Path(path).read_text(encoding="utf-8")
        where = str(path)
    try:
        data = yamltext.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"{where}: not valid YAML: {exc}".replace("\n", " ")) from exc
    if not isinstance(data, dict) or not isinstance(data.get("tables"), list):
        raise MappingError(f"{where}: needs a 'tables' list")
    prefixes = data.get("prefixes") or {}
    specs = tuple(_table(t, prefixes, where) for t in data["tables"])
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise MappingError(f"{where}: two tables have the same name")
    for spec in specs:
        for column in spec.columns:
            if column.references:
                table, col = column.references
                target = next((s for s in specs if s.name == table), None)
                if target is None or col not in [c.name for c in target.columns]:
                    raise MappingError(
                        f"{where}: {spec.name}.{column.name} references unknown {table}.{col}"
                    )
    return specs


def _table(data: Any, prefixes: Mapping[str, str], where: str) -> TableSpec:
    if not isinstance(data, dict) or not data.get("name"):
        raise MappingError(f"{where}: every table needs a name")
    name = str(data["name"])
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise MappingError(f"{where}: table name {name!r} must be lower-case letters, digits and _")
    title = data.get("title") or {}
    columns = tuple(_column(c, prefixes, f"{where}: {name}") for c in data.get("columns") or ())
    if not columns or columns[0].name != "id" or columns[0].paths != ((),):
        raise MappingError(f"{where}: {name}: the first column must be 'id' with path '@id'")
    if len({c.name for c in columns}) != len(columns):
        raise MappingError(f"{where}: {name}: two columns have the same name")
    classes = tuple(_iri(c, prefixes, where) for c in data.get("classes") or ())
    if not classes:
        raise MappingError(f"{where}: {name}: needs at least one class")
    return TableSpec(
        name=name, title_fr=str(title.get("fr", name)), title_en=str(title.get("en", name)),
        description=str(data.get("description", "")).strip(), classes=classes, columns=columns,
    )


def _column(data: Any, prefixes: Mapping[str, str], where: str) -> Column:
    if not isinstance(data, dict) or not data.get("name"):
        raise MappingError(f"{where}: every column needs a name")
    name = str(data["name"])
    where = f"{where}.{name}"
    type_ = data.get("type", "string")
    value = data.get("value", "text")
    several = data.get("several", "first")
    if type_ not in TYPES:
        raise MappingError(f"{where}: type must be one of {', '.join(TYPES)}")
    if value not in VALUES:
        raise MappingError(f"{where}: value must be one of {', '.join(VALUES)}")
    if several not in ("first", "max"):
        raise MappingError(f"{where}: several must be first or max")
    raw_paths = data.get("path")
    constant = data.get("constant")
    if raw_paths is None and constant is None and value != "class":
        raise MappingError(f"{where}: needs a path, a constant or value: class")
    if isinstance(raw_paths, str):
        raw_paths = [raw_paths]
    paths = tuple(_path(p, prefixes, where) for p in raw_paths or ())
    references = None
    if data.get("references"):
        if data.get("multi"):
            raise MappingError(f"{where}: a foreign key needs a single-valued column")
        table, _, col = str(data["references"]).partition(".")
        references = (table, col or "id")
    return Column(
        name=name, title=str(data.get("title", "")), description=str(data.get("description", "")),
        type=type_, required=bool(data.get("required", False)), paths=paths,
        constant=None if constant is None else str(constant), value=value,
        multi=bool(data.get("multi", False)), several=several, references=references,
    )


def _path(text: Any, prefixes: Mapping[str, str], where: str) -> tuple[Step, ...]:
    text = str(text).strip()
    if text == "@id":
        return ()
    steps = []
    for part in text.split("/"):
        inverse = part.startswith("^")
        steps.append(Step(_iri(part.lstrip("^"), prefixes, where), inverse))
    return tuple(steps)


def _iri(curie: Any, prefixes: Mapping[str, str], where: str) -> str:
    curie = str(curie).strip()
    if curie.startswith("<") and curie.endswith(">"):
        return curie[1:-1]
    prefix, sep, local = curie.partition(":")
    if not sep or prefix not in prefixes:
        raise MappingError(f"{where}: unknown prefix in {curie!r}")
    return prefixes[prefix] + local


# --------------------------------------------------------------------------- the rows


class RowSpool:
    """The rows of a table, in order: kept in memory up to ``limit`` rows, then spilled to a
    temporary file in blocks, so that a table of millions of rows costs no memory."""

    def __init__(self, rows: Iterable[list[str]] = (), limit: int = 50_000) -> None:
        self._rows: list[list[str]] = []
        self._file: Any = None
        self._spilled = 0
        self._limit = limit
        for row in rows:
            self.append(row)

    def append(self, row: list[str]) -> None:
        self._rows.append(row)
        if len(self._rows) >= self._limit:
            if self._file is None:
                self._file = tempfile.TemporaryFile()
            marshal.dump(self._rows, self._file)
            self._spilled += len(self._rows)
            self._rows = []

    def __len__(self) -> int:
        return self._spilled + len(self._rows)

    def blocks(self) -> Iterator[list[list[str]]]:
        """The rows in blocks of at most ``limit`` rows."""
        if self._file is not None:
            self._file.seek(0)
            for _ in range(self._spilled // self._limit):
                yield marshal.load(self._file)
            self._file.seek(0, 2)
        if self._rows:
            yield self._rows

    def __iter__(self) -> Iterator[list[str]]:
        for block in self.blocks():
            yield from block

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (RowSpool, list)):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"RowSpool({len(self)} rows)"


@dataclass
class TableResult:
    """A table built from the graph (rows already as the CSV cells)."""

    spec: TableSpec
    rows: RowSpool = field(default_factory=RowSpool)
    neutralised: int = 0
    warnings: list[str] = field(default_factory=list)


class _Index:
    """What the columns need beyond a row's own triples: backward adjacency for the inverse
    steps and forward adjacency for the steps after the first. Both are small (pages that
    describe a record, members of a network…); the row's own triples are read as they come."""

    def __init__(self, triples: Iterable[Triple], specs: Sequence[TableSpec]) -> None:
        forward: set[str] = set()
        backward: set[str] = set()
        for spec in specs:
            for column in spec.columns:
                for path in column.paths:
                    for position, step in enumerate(path):
                        if step.inverse:
                            backward.add(step.predicate)
                        elif position:
                            forward.add(step.predicate)
        self.forward: dict[str, dict[str, list[str]]] = {p: {} for p in forward}
        self.backward: dict[str, dict[str, list[str]]] = {p: {} for p in backward}
        if not forward and not backward:
            return
        for s, p, o in triples:
            table = self.forward.get(p)
            if table is not None:
                table.setdefault(s, []).append(o)
            table = self.backward.get(p)
            if table is not None and o[0] == "<":
                table.setdefault(o[1:-1], []).append(f"<{s}>")


def _follow(own: dict[str, list[str]], index: _Index, subject: str,
            path: tuple[Step, ...]) -> list[str]:
    """The N-Triples terms reached from ``subject`` (its own triples ``own``) along ``path``."""
    current: list[str] = [f"<{subject}>"]
    for position, step in enumerate(path):
        if not position and not step.inverse:
            current = own.get(step.predicate, [])
            continue
        table = (index.backward if step.inverse else index.forward)[step.predicate]
        reached: list[str] = []
        for term in current:
            if term[0] == "<":
                reached.extend(table.get(term[1:-1], ()))
        current = reached
    return current


@lru_cache(maxsize=65536)  # IRIs, numbers and concepts repeat from row to row
def _convert(token: str, how: str) -> str:
    term = parse_object(token)
    value = term.value
    if how == "concept" and term.kind == "iri":
        local = re.split(r"[#/]", value)[-1]
        return local.split("-", 1)[1] if "-" in local else local
    if how == "label" and term.kind == "iri":
        return concept_labels().get(value) or _convert(token, "concept")
    if how == "date":
        return value[:10]
    if how == "phone":  # the national schema's format: +33252569807, no spaces
        return "".join(value.split())
    return value


@lru_cache(maxsize=1)
def concept_labels() -> dict[str, str]:
    """IRI -> French ``skos:prefLabel`` of every concept of the ontology's concept schemes."""
    from rdflib import Literal
    from rdflib.namespace import SKOS

    from tierslieux.ontology import ontology_graph

    labels: dict[str, str] = {}
    for concept, label in sorted(ontology_graph().subject_objects(SKOS.prefLabel)):
        if isinstance(label, Literal) and (label.language or "").lower() == "fr":
            labels.setdefault(str(concept), str(label))
    return labels


def build_tables(triples: Iterable[Triple], specs: Sequence[TableSpec],
                 sitename: str = "", index: Any = None) -> list[TableResult]:
    """The rows of every table (cells neutralised, see ``neutralise``).

    ``triples`` come in triple order, so a subject's triples are contiguous and subjects come
    sorted: each row is made when its subject's triples have been read. They are read twice
    when a column follows an inverse or a longer path (a list is made of a one-shot iterator),
    unless ``index`` (an ``_Index`` of the whole release, or an object with the same
    ``forward`` and ``backward`` tables) is given: then ``triples`` may be any run of whole
    subjects, and the rows are those subjects' rows of the whole release (tablepieces.py).
    """
    if index is None:
        if iter(triples) is triples:
            triples = list(triples)
        index = _Index(triples, specs)
    results = [TableResult(spec) for spec in specs]
    tables_of: dict[str, list[int]] = {}
    for number, spec in enumerate(specs):
        for cls in spec.classes:
            tables_of.setdefault(f"<{cls}>", []).append(number)
    plans = [_plan(spec, sitename) for spec in specs]
    for subject, pairs in subject_groups(triples):
        numbers: set[int] | list[int] = ()
        for p, o in pairs:
            if p == RDF_TYPE:
                found = tables_of.get(o)
                if found:
                    if not numbers:
                        numbers = set()
                    numbers.update(found)
        if not numbers:
            continue
        own: dict[str, list[str]] = {}
        for p, o in pairs:
            values = own.get(p)
            if values is None:
                own[p] = [o]
            else:
                values.append(o)
        for number in sorted(numbers):
            result = results[number]
            row = []
            for column, kind, arg in plans[number]:
                if kind == _CONSTANT:
                    cell = arg
                elif kind == _ID:
                    cell = subject
                elif kind == _ONE:  # one path of one forward step: the subject's own values
                    reached = own.get(arg)
                    if not reached:
                        cell = ""
                    elif len(reached) == 1:
                        cell = _convert(reached[0], column.value)
                    else:
                        cell = _cell_of(own, index, result.spec, column, subject, result)
                else:
                    cell = _cell_of(own, index, result.spec, column, subject, result)
                if cell and column.type == "string":
                    safe = neutralise(cell)
                    if safe != cell:
                        result.neutralised += 1
                    cell = safe
                row.append(cell)
            result.rows.append(row)
    return results


_CONSTANT, _ID, _ONE, _ANY = range(4)


def _plan(spec: TableSpec, sitename: str) -> list[tuple[Column, int, Any]]:
    """How each cell of a table's rows is made: a constant, the id, the values of one
    predicate of the subject, or anything else (``_cell_of``)."""
    plan: list[tuple[Column, int, Any]] = []
    for column in spec.columns:
        if column.constant is not None:
            plan.append((column, _CONSTANT, column.constant.replace("{sitename}", sitename)))
        elif column.paths == ((),):
            plan.append((column, _ID, None))
        elif column.value != "class" and len(column.paths) == 1 and len(column.paths[0]) == 1 \
                and not column.paths[0][0].inverse:
            plan.append((column, _ONE, column.paths[0][0].predicate))
        else:
            plan.append((column, _ANY, None))
    return plan


def _cell_of(own: dict[str, list[str]], index: _Index, spec: TableSpec, column: Column,
             subject: str, result: TableResult) -> str:
    if column.value == "class":
        types = [o[1:-1] for o in own.get(RDF_TYPE, ()) if o[0] == "<" and o[1:-1] in spec.classes]
        values = sorted({re.split(r"[#/]", t)[-1] for t in types})
    else:
        values = []
        for path in column.paths:
            reached = _follow(own, index, subject, path)
            if column.value == "label":  # in the order of the concepts' own column: they pair
                values = [label for _, label in sorted(
                    {(_convert(t, "concept"), _convert(t, "label")) for t in reached}) if label]
            else:
                values = sorted({_convert(token, column.value) for token in reached} - {""})
            if values:
                break
    if not values:
        return ""
    if column.multi:
        return SEPARATOR.join(values)
    if len(values) > 1:
        if column.several == "max":
            return values[-1]
        result.warnings.append(
            f"{spec.file}: {subject} has {len(values)} values for {column.name}; kept {values[0]!r}"
        )
    return values[0]


def write_table(result: TableResult, folder: Path) -> Path:
    """Write one table as CSV, block by block (``csv_block``): comma separated, ``"``-quoted
    where needed (``QUOTE_MINIMAL``), ``\\n`` after every row."""
    path = folder / result.spec.file
    rows = result.rows if isinstance(result.rows, RowSpool) else RowSpool(result.rows)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(csv_block(result.spec, [], header=True))
        for block in rows.blocks():
            out.write(csv_block(result.spec, block))
    return path


def dump_json(document: Any) -> str:
    """JSON as every JSON file of a release is written: indented, UTF-8, final newline."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
