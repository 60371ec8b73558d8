"""Leave out of a release what pages got wrong that only the whole release shows.

A page is mapped alone, so what it says can only break the SHACL shapes together with another
page (two pages give one collectivity two levels) or through a value no cleaner foresaw. Such a
violation is no reason to withhold the other pages: the build leaves out the triples at fault
— the values of the property that breaks its shape, or, when that is not enough (a required
property missing), the entity and the triples that point to it — validates again, publishes,
and reports each page concerned (report.json, quality.csv). A violation whose shape has no
plain property path, or that survives ``ROUNDS`` rounds, still refuses the release.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from tierslieux.model.lines import SortedLines
from tierslieux.model.iri import is_iri
from tierslieux.model.rdf import Triple, split_line
from tierslieux.model.records import Issue

#: validations after the first; a release still violating its shapes after them is refused
ROUNDS = 3


@dataclass(frozen=True)
class Quarantine:
    """What a release leaves out."""

    #: (subject, predicate): every value left out
    pairs: frozenset[tuple[str, str]] = frozenset()
    #: subjects left out, with every triple whose object they are
    subjects: frozenset[str] = frozenset()
    issues: tuple[Issue, ...] = field(default=())

    def keeps(self, s: str, p: str, o: str) -> bool:
        if s in self.subjects or (s, p) in self.pairs:
            return False
        return not (o[0] == "<" and o[1:-1] in self.subjects)

    def widened(self, violations: Iterable[Any]) -> Quarantine | None:
        """The quarantine that also leaves out the triples at fault in ``violations``; None
        when one of them cannot be put right by leaving triples out."""
        pairs, subjects, issues = set(self.pairs), set(self.subjects), list(self.issues)
        for v in violations:
            if v.severity != "violation":
                continue
            if not v.path or not is_iri(v.path):
                return None
            field_ = v.path.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            if (v.focus, v.path) in pairs or v.focus in subjects:
                subjects.add(v.focus)  # leaving its values out did not do
                what = f"{v.focus} left out of the release"
            else:
                pairs.add((v.focus, v.path))
                what = f"the {field_} of {v.focus} left out of the release"
            for title in v.pages or ("",):
                issues.append(Issue(title, "warning", f"shape:{field_}", v.value, "",
                                    f"{v.message}: {what}"))
        return Quarantine(frozenset(pairs), frozenset(subjects), tuple(issues))


class FilteredLines(SortedLines):
    """The lines of a release (SortedLines) without what a quarantine leaves out."""

    def __init__(self, lines: SortedLines, quarantine: Quarantine) -> None:
        self.lines = lines
        self.quarantine = quarantine
        self.count: int | None = None

    def __iter__(self) -> Iterator[str]:
        keeps = self.quarantine.keeps
        count = 0
        for line in self.lines:
            if keeps(*split_line(line)):
                count += 1
                yield line
        self.count = count

    def __len__(self) -> int:
        if self.count is None:
            self.count = sum(1 for _ in self)
        return self.count

    def in_triple_order(self) -> Iterable[Triple]:
        return FilteredTriples(self.lines.in_triple_order(), self.quarantine)

    def triples_with(self, predicates: Iterable[str]) -> Iterator[Triple]:
        keeps = self.quarantine.keeps
        return (t for t in self.lines.triples_with(predicates) if keeps(*t))


class FilteredTriples:
    """Triples in triple order without what a quarantine leaves out (re-iterable)."""

    def __init__(self, triples: Iterable[Triple], quarantine: Quarantine) -> None:
        self.triples = triples
        self.quarantine = quarantine

    def __iter__(self) -> Iterator[Triple]:
        keeps = self.quarantine.keeps
        return (t for t in self.triples if keeps(*t))


def repair(report: Any, validate: Callable[[Quarantine], Any]) -> tuple[Quarantine, Any] | None:
    """The quarantine that makes a release conform, and the report of its last validation;
    None when leaving triples out cannot. ``validate(quarantine)`` validates the release
    without what the quarantine leaves out."""
    quarantine = Quarantine()
    for _ in range(ROUNDS):
        widened = quarantine.widened(report.violations)
        if widened is None:
            return None
        quarantine = widened
        report = validate(quarantine)
        if report.conforms:
            return quarantine, report
    return None


def repair_release(report: Any, paths: Sequence[str], unresolved: frozenset
                   ) -> tuple[Quarantine, Any] | None:
    """``repair`` of a release whose SHACL report has violations: ``paths`` are the sorted
    files in triple order the build validated (the release and the ontology)."""
    from pathlib import Path

    from tierslieux.pipeline.runs import TripleOrder
    from tierslieux.validation.shacl import default_checker
    from tierslieux.validation.shacl_stream import validate_triples

    def validate(quarantine: Quarantine) -> Any:
        triples = FilteredTriples(TripleOrder([Path(p) for p in paths]), quarantine)
        return validate_triples(default_checker(), lambda: triples, unresolved,
                                severities=frozenset({"violation"}))

    return repair(report, validate)
