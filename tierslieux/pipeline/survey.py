"""Mapping coverage of a harvested wiki: what occurs, and whether the mapping covers it.

Which templates, parameters, headings and categories occur, how often, on how many pages, and
whether the mapping maps them, ignores them, or leaves them unmapped (kept as generic page
structure). Beside them: the Semantic MediaWiki properties (mapped by ``smw_properties`` or kept
as tl:Annotation), subobjects and queries (recorded, not evaluated), and the inline templates
that showed nothing in running text (``unmapped``: add them to ``inline_templates``).

This is how a maintainer writes ``mapping.yaml`` for a wiki seen for the first time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from tierslieux.errors import ParseError
from tierslieux.ontology.rules import HeadingRule, IgnoredTemplate, Mapping, TemplateRule
from tierslieux.model.clean import fold
from tierslieux.model.plaintext import render_table
from tierslieux.model.records import ParsedPage
from tierslieux.pipeline.smw_types import PROPERTY_NAMESPACE, is_declaration

KINDS = ("template", "param", "heading", "category", "smw-property", "subobject", "query",
         "inline-template")
STATUSES = ("unmapped", "mapped", "ignored")
TABLE_HEADER = ("kind", "name", "uses", "pages", "status", "rule")


@dataclass(frozen=True)
class SurveyRow:
    kind: str
    #: as first written on the wiki ("Tiers-lieu", "Tiers-lieu/code postal", "Enjeux")
    name: str
    #: the case-, accent- and punctuation-insensitive key the mapping matches on
    key: str
    occurrences: int
    pages: int
    status: str
    #: what the mapping does with it
    rule: str


@dataclass(frozen=True)
class SurveyReport:
    pages: int
    rows: tuple[SurveyRow, ...]
    #: pages that could not be parsed: (title, reason)
    failures: tuple[tuple[str, str], ...] = ()

    def summary(self) -> dict[str, dict[str, int]]:
        out = {kind: {status: 0 for status in STATUSES} for kind in KINDS}
        for row in self.rows:
            out[row.kind][row.status] += 1
        return out

    def unmapped(self, kind: str | None = None) -> tuple[SurveyRow, ...]:
        return tuple(r for r in self.rows
                     if r.status == "unmapped" and (kind is None or r.kind == kind))

    def to_json(self) -> str:
        return json.dumps({
            "pages": self.pages,
            "summary": self.summary(),
            "rows": [asdict(r) for r in self.rows],
            "failures": [{"title": t, "reason": r} for t, r in self.failures],
        }, ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    def table_rows(self) -> list[tuple[str, ...]]:
        """Rows for a terminal table, the header first."""
        return [TABLE_HEADER, *(
            (r.kind, r.name, str(r.occurrences), str(r.pages), r.status, r.rule)
            for r in self.rows)]

    def render(self, fmt: str = "table") -> str:
        """What ``tierslieux survey`` prints: the JSON document (``json``), or the rows as an
        aligned table (``table``)."""
        if fmt == "json":
            return self.to_json()
        header, *rows = self.table_rows()
        return render_table(list(header), [list(r) for r in rows])

    def summary_line(self) -> str:
        """One line: pages surveyed and the count of each status of each kind."""
        summary = ", ".join(
            f"{kind}: " + " / ".join(f"{n} {status}" for status, n in counts.items())
            for kind, counts in self.summary().items())
        return f"{self.pages} pages surveyed. {summary}."

    def failure_lines(self) -> list[str]:
        """One line per page that could not be parsed."""
        return [f"{title}: not parsed: {reason}" for title, reason in self.failures]


@dataclass
class _Tally:
    name: str
    status: str
    rule: str
    occurrences: int = 0
    pages: set[int] = field(default_factory=set)


def _local(iri: object) -> str:
    return str(iri).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _effects(rule: object, *, describes: bool = True) -> list[str]:
    parts = []
    for attr, label in (("page_type", "page type"), ("page_status", "page status")):
        value = getattr(rule, attr, None)
        if value is not None:
            parts.append(f"{label} {_local(value)}")
    if describes and getattr(rule, "describes", None):
        parts.append(f"describes {rule.describes}")  # type: ignore[attr-defined]
    for prop, value in getattr(rule, "set", ()):
        parts.append(f"sets {_local(prop)} {_local(value)}")
    return parts


def _heading_rule(rule: HeadingRule) -> str:
    meaning = rule.meaning
    parts = [f"{label} {_local(value)}" for label, value in (
        ("statement kind", meaning.statement_kind), ("level", meaning.level),
        ("partnership", meaning.partnership), ("audience", meaning.audience)) if value]
    if rule.subheadings:
        parts.append(f"scope of {len(rule.subheadings)} subheading rules")
    return "; ".join(parts)


class _Survey:
    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        self.tallies: dict[tuple[str, str, str], _Tally] = {}
        self.pages = 0

    def count(self, kind: str, name: str, page_id: int, status: str, rule: str) -> None:
        key = (kind, fold(name) or name, status)
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = _Tally(name, status, rule)
        tally.occurrences += 1
        tally.pages.add(page_id)

    def add(self, parsed: ParsedPage) -> None:
        self.pages += 1
        page_id = parsed.page.revision.page_id
        for template in parsed.templates:
            rule = self.mapping.template(template.name)
            if isinstance(rule, TemplateRule):
                entity = self.mapping.entity(rule.describes).cls if rule.describes else None
                status, text = "mapped", "; ".join(
                    ([f"record of {rule.describes} (tl:{_local(entity)})"] if entity else [])
                    + _effects(rule, describes=False))
            elif isinstance(rule, IgnoredTemplate):
                status, text = "ignored", "; ".join(["banner/navigation", *_effects(rule)])
            elif self._shows_text(template.name):
                status, text = "mapped", "shows text (inline_templates); kept as tl:TemplateCall"
            else:
                status, text = "unmapped", "kept as tl:TemplateCall"
            self.count("template", template.name, page_id, status, text)
            for name, _ in template.params:
                label = f"{template.name}/{name}"
                if isinstance(rule, TemplateRule):
                    param = rule.param(name)
                    if param is None:
                        self.count("param", label, page_id, "unmapped",
                                   "kept as tl:TemplateParameter")
                    elif param.kind == "closure":
                        self.count("param", label, page_id, "mapped", "closure: " + ", ".join(
                            f"tl:{_local(p)}" for _, p in param.properties))
                    else:
                        self.count("param", label, page_id, "mapped",
                                   f"tl:{_local(param.property)} ({param.kind}, "
                                   f"cleaner {param.cleaner})")
                elif isinstance(rule, IgnoredTemplate):
                    self.count("param", label, page_id, "ignored", "template ignored")
                elif self._shows_text(template.name):
                    self.count("param", label, page_id, "mapped",
                               "shown text (inline_templates); kept as tl:TemplateParameter")
                else:
                    self.count("param", label, page_id, "unmapped",
                               "kept as tl:TemplateParameter")
        by_index = {s.index: s for s in parsed.sections}
        for section in parsed.sections:
            if section.index == 0 or not section.heading.strip():
                continue
            ancestors = []
            parent, seen = section.parent, {section.index}
            while parent and parent in by_index and parent not in seen:
                seen.add(parent)
                ancestors.append(by_index[parent].heading)
                parent = by_index[parent].parent
            rule = self.mapping.heading(section.heading, list(reversed(ancestors)))
            if rule is None:
                self.count("heading", section.heading, page_id, "unmapped",
                           "kept as a plain section")
            else:
                self.count("heading", section.heading, page_id, "mapped", _heading_rule(rule))
        for name in dict.fromkeys(parsed.categories):
            rule = self.mapping.category(name)
            if rule is None:
                self.count("category", name, page_id, "unmapped", "kept as tl:category")
            else:
                self.count("category", name, page_id, "mapped", "; ".join(_effects(rule)))
        self.add_smw(parsed, page_id)

    def _shows_text(self, name: str) -> bool:
        shown = self.mapping.inline_templates
        rule = shown.rule(name) if shown is not None else None
        return rule is not None and bool(rule.patterns or rule.content)

    def add_smw(self, parsed: ParsedPage, page_id: int) -> None:
        smw = self.mapping.smw
        where = f"record of {smw.describes}" if smw.describes else "the page"
        annotations = [*parsed.annotations,
                       *(a for sub in parsed.subobjects for a in sub.annotations)]
        declaring = parsed.page.revision.namespace == PROPERTY_NAMESPACE
        for annotation in annotations:
            param = smw.rule(annotation.property)
            if declaring and not annotation.subobject and is_declaration(annotation.property):
                # as map_smw reads it: the property page declares its type or allowed values
                self.count("smw-property", annotation.property, page_id, "mapped",
                           "declaration of its property page: tl:declaredType, "
                           "tl:allowedValues")
            elif param is None:
                self.count("smw-property", annotation.property, page_id, "unmapped",
                           "kept as tl:Annotation")
            else:
                on = "the subobject" if annotation.subobject else where
                self.count("smw-property", annotation.property, page_id, "mapped",
                           f"tl:{_local(param.property)} ({param.kind}, cleaner "
                           f"{param.cleaner}) on {on}")
        for sub in parsed.subobjects:
            self.count("subobject", sub.name or "(anonymous)", page_id, "mapped",
                       "tl:Subobject")
        for query in parsed.queries:
            self.count("query", f"#{query.function}: {query.query}", page_id, "unmapped",
                       "recorded as tl:Query, not evaluated")
        for name in parsed.silent_templates:
            self.count("inline-template", name, page_id, "unmapped",
                       "shows nothing: add it to inline_templates")

    def report(self, failures: Iterable[tuple[str, str]] = ()) -> SurveyReport:
        rows = [
            SurveyRow(kind, tally.name, key, tally.occurrences, len(tally.pages), status,
                      tally.rule)
            for (kind, key, status), tally in self.tallies.items()
        ]
        rows.sort(key=lambda r: (KINDS.index(r.kind), STATUSES.index(r.status), r.key, r.name))
        return SurveyReport(self.pages, tuple(rows), tuple(sorted(failures)))


def survey_pages(pages: Iterable[ParsedPage], mapping: Mapping) -> SurveyReport:
    """The coverage of ``mapping`` over already parsed pages."""
    survey = _Survey(mapping)
    for parsed in pages:
        survey.add(parsed)
    return survey.report()


def survey_store(store: object, mapping: Mapping | None = None) -> SurveyReport:
    """The coverage of ``mapping`` (default: the bundled one) over every page of a store."""
    from tierslieux.ontology import load_mapping
    from tierslieux.pipeline.parse import parse_page

    mapping = mapping if mapping is not None else load_mapping()
    survey = _Survey(mapping)
    failures = []
    for page in store.pages():  # type: ignore[attr-defined]
        try:
            survey.add(parse_page(page, shown=mapping.inline_templates))
        except ParseError as exc:
            failures.append((page.revision.title, str(exc)))
    return survey.report(failures)
