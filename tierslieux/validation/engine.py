"""One interface to the validation engines: each fast engine beside its well-kept reference.

- SHACL, ``validate_graph(graph, engine=...)``: ``"compiled"`` (the shapes compiled to plain
  checks, ``shapes.py`` + ``shacl.py``) or ``"pyshacl"`` (``reference.py``); both give a
  ``report.ValidationReport``, result for result the same where the compiled engine runs.
- Table Schema, ``validate_tables(package, engine=...)``: ``"builtin"`` (``tables.py``, one
  streaming pass a file) or ``"frictionless"``; both give a ``report.TableReport`` whose
  problems carry frictionless' error types.

The build and ``tierslieux validate`` choose: the compiled engine, pyshacl for shapes it
refuses (``Unsupported``); frictionless for small tables, the builtin checks above
``release.FRICTIONLESS_LIMIT`` bytes. The tests run every engine over the same case files
(``tests/cases/shacl/``, ``tests/cases/tables/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tierslieux.validation.report import TableProblem, TableReport

if TYPE_CHECKING:
    from rdflib import Graph

    from tierslieux.validation.report import ValidationReport

SHACL_ENGINES = ("compiled", "pyshacl")
TABLE_ENGINES = ("builtin", "frictionless")
#: at most this many table problems are kept (frictionless finds them all, then they are cut)
TABLE_LIMIT = 20


def validate_graph(graph: Graph, *, shapes: Graph | None = None, ontology: Graph | None = None,
                   engine: str = "compiled", messages: bool = True) -> ValidationReport:
    """Validate ``graph`` with the ontology mixed in, as a release is validated.

    ``shapes`` and ``ontology`` replace the bundled ones (``Graph()`` for no ontology: the
    data's own class hierarchy, as the SHACL specification reads it). ``engine``: see
    ``SHACL_ENGINES``. The compiled engine raises ``shapes.Unsupported`` for what it does not
    check (run pyshacl then); pyshacl raises ``ShapesError`` for shapes it cannot use.
    ``messages=False`` lets the compiled engine accept shapes without ``sh:message``.
    """
    if engine == "pyshacl":
        from tierslieux.validation.reference import validate_graph as pyshacl

        return pyshacl(graph, shapes=shapes, ontology=ontology)
    if engine != "compiled":
        raise ValueError(f"unknown SHACL engine {engine!r} (one of {', '.join(SHACL_ENGINES)})")
    from rdflib import Graph

    from tierslieux.ontology import load_ontology, load_shapes
    from tierslieux.validation.shacl_stream import validate_data_graph

    data = Graph()
    for triple in load_ontology() if ontology is None else ontology:
        data.add(triple)
    for triple in graph:
        data.add(triple)
    return validate_data_graph(data, load_shapes() if shapes is None else shapes,
                               messages=messages)


def validate_tables(package: Path, *, engine: str = "builtin",
                    limit: int = TABLE_LIMIT) -> TableReport:
    """The Table Schema problems of the CSV resources of ``datapackage.json`` (types, required
    values, constraints, unique values and keys, foreign keys, sizes and hashes), at most
    ``limit``. ``engine``: see ``TABLE_ENGINES``."""
    if engine == "builtin":
        from tierslieux.validation.tables import check_package

        return TableReport(tuple(check_package(package, limit)))
    if engine != "frictionless":
        raise ValueError(f"unknown table engine {engine!r} (one of {', '.join(TABLE_ENGINES)})")
    import frictionless

    report = frictionless.validate(str(package))
    problems = [_problem("", error) for error in report.errors]
    for task in report.tasks:
        problems.extend(_problem(task.name or "", error) for error in task.errors)
    return TableReport(tuple(problems[:limit]))


def _problem(resource: str, error: object) -> TableProblem:
    descriptor = error.to_descriptor()  # type: ignore[attr-defined]
    row = descriptor.get("rowNumber")
    return TableProblem(kind=descriptor.get("type", ""), resource=resource,
                        row=row if isinstance(row, int) else None,
                        message=descriptor.get("message", ""))
