"""The report types of validation, SHACL and Table Schema, whichever engine made them.

SHACL: ``Violation``, ``ValidationReport`` (shacl.py or reference.py); Table Schema:
``TableProblem``, ``TableReport`` (tables.py or frictionless).

``sh:Violation`` results block publishing; ``sh:Warning`` and ``sh:Info`` are reported only.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib.namespace import SH

SEVERITIES = {SH.Violation: "violation", SH.Warning: "warning", SH.Info: "info"}


@dataclass(frozen=True)
class Violation:
    """One SHACL result."""

    severity: str
    focus: str
    path: str
    message: str
    value: str = ""
    #: titles and addresses of the wiki pages the focus node comes from
    pages: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for a terminal or a log."""
        where = ", ".join(self.pages) or self.focus
        field = self.path.rsplit("#", 1)[-1].rsplit("/", 1)[-1] if self.path else "-"
        value = f" (value: {self.value})" if self.value else ""
        return f"{self.severity}: {where}: {field}: {self.message}{value}"


@dataclass(frozen=True)
class ValidationReport:
    conforms: bool
    violations: tuple[Violation, ...]

    @property
    def errors(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity == "violation")

    @property
    def warnings(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity != "violation")

    def text(self) -> str:
        return "\n".join(v.describe() for v in self.violations)


@dataclass(frozen=True)
class TableProblem:
    """One Table Schema problem of a data package, whichever engine found it (tables.py or
    frictionless)."""

    #: frictionless' error type: ``type-error``, ``constraint-error``, ``foreign-key``…
    kind: str
    #: the resource (table) it is in; "" for a problem of the package itself
    resource: str
    #: the row number (the header is row 1), None for a problem of the whole table
    row: int | None
    #: the engine's own sentence
    message: str

    def describe(self) -> str:
        """One line for a terminal or a log."""
        return f"table schema ({self.kind}): {self.message}"


@dataclass(frozen=True)
class TableReport:
    """The Table Schema problems of a data package (at most the engine's limit of them)."""

    problems: tuple[TableProblem, ...]

    @property
    def valid(self) -> bool:
        return not self.problems

    def text(self) -> str:
        return "\n".join(p.describe() for p in self.problems)
