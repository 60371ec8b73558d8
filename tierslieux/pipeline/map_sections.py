"""The map stage, sections and list items: the generic structure of a page, with its rules.

What the mapping's heading and prefix rules say about them: statements, levels,
partnerships…
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import URIRef

from tierslieux.model.records import Section
from tierslieux.model.iri import slugify
from tierslieux.model.rdf import int_token
from tierslieux.ontology.rules import Meaning
from tierslieux.pipeline.map_terms import RDF, TL

if TYPE_CHECKING:
    from tierslieux.pipeline.map import PageJob

#: list items longer than this are cut in their rdfs:label (tl:text keeps them whole)
LABEL_LENGTH = 100


def map_sections(job: PageJob) -> None:
    """The sections of the page, their list items, and what their headings and prefixes mean."""
    sections = sorted(job.parsed.sections, key=lambda s: s.index)
    by_index = {s.index: s for s in sections}
    slugs: dict[int, str] = {}
    used: dict[str, int] = {}
    meanings: dict[int, Meaning] = {}
    page_meanings: set[tuple[str, URIRef]] = set()
    for section in sections:
        base = "lead" if section.index == 0 else slugify(section.heading or "section")
        used[base] = used.get(base, 0) + 1
        slugs[section.index] = base if used[base] == 1 else f"{base}-{used[base]}"
    for section in sections:
        iri = job.iris.section_iri(job.page_iri, slugs[section.index])
        chain = ancestors(section, by_index)
        parent = by_index.get(section.parent) if section.parent else None
        outer = meanings.get(parent.index, Meaning()) if parent is not None else Meaning()
        meaning = outer
        if section.index != 0:
            rule = job.mapping.heading(section.heading, [a.heading for a in chain])
            if rule is not None:
                meaning = rule.meaning.over(outer)
            elif section.heading.strip():
                job.issue("info", f"heading:{section.heading}", section.heading, "section",
                          "no heading rule: kept as a plain section")
        meanings[section.index] = meaning
        map_section(job, section, iri, meaning, parent, slugs, page_meanings)
    for prop, value in page_meanings:
        job.add(job.page_iri, prop, value)


def ancestors(section: Section, by_index: dict[int, Section]) -> list[Section]:
    """The sections ``section`` is nested in, outermost first."""
    chain: list[Section] = []
    seen = {section.index}
    parent = section.parent
    while parent and parent in by_index and parent not in seen:
        seen.add(parent)
        chain.append(by_index[parent])
        parent = by_index[parent].parent
    return list(reversed(chain))


def map_section(job: PageJob, section: Section, iri: str, meaning: Meaning,
                parent: Section | None, slugs: dict[int, str],
                page_meanings: set[tuple[str, URIRef]]) -> None:
    """One section, its list items, and the meanings they carry (also noted for the page)."""
    heading = section.heading.strip()
    label = heading if heading and section.index else f"{job.title} (introduction)"
    job.entity(iri, TL.Section, job.text(label))
    job.add(iri, TL.inPage, job.page_iri)
    job.add(job.page_iri, TL.hasSection, iri)
    job.add(iri, TL.order, int_token(section.index))
    job.add(iri, TL.level, int_token(section.level))
    if heading and section.index:
        job.add(iri, TL.heading, job.text(heading))
    if parent is not None and parent.index != 0:
        job.add(iri, TL.parentSection,
                job.iris.section_iri(job.page_iri, slugs[parent.index]))
    if section.text.strip():
        job.add(iri, TL.text, job.text(section.text.strip()))
    for prop, value in meaning_triples(meaning, statements=False):
        job.add(iri, prop, value)
        page_meanings.add((prop, value))
    item_meanings: dict[int, Meaning] = {}
    for item in sorted(section.items, key=lambda i: i.index):
        item_iri = job.iris.item_iri(iri, item.index + 1)
        text = item.text.strip()
        outer = item_meanings.get(item.parent, meaning) if item.parent is not None else meaning
        prefix = job.mapping.prefix(text)
        own = prefix.meaning.over(outer) if prefix is not None else outer
        item_meanings[item.index] = own
        short = text if len(text) <= LABEL_LENGTH else text[:LABEL_LENGTH - 1] + "…"
        job.entity(item_iri, TL.ListItem,
                   job.text(short or f"{label}, élément {item.index + 1}"))
        job.add(item_iri, TL.inSection, iri)
        job.add(iri, TL.hasItem, item_iri)
        job.add(item_iri, TL.order, int_token(item.index + 1))
        job.add(item_iri, TL.depth, int_token(item.depth))
        job.add(item_iri, TL.ordered, int_token(item.ordered))
        if text:
            job.add(item_iri, TL.text, job.text(text))
        if item.parent is not None:
            job.add(item_iri, TL.parentItem, job.iris.item_iri(iri, item.parent + 1))
        for target in item.links:
            link_iri = job.link_iri(target, "link")
            if link_iri is not None:
                job.add(item_iri, TL.linksTo, link_iri)
        for prop, value in meaning_triples(own, statements=bool(text)):
            job.add(item_iri, prop, value)
            if prop != TL.statementKind and prop != RDF.type:
                page_meanings.add((prop, value))


def meaning_triples(meaning: Meaning, *, statements: bool) -> list[tuple[str, URIRef | str]]:
    """(property, value) pairs a meaning gives (the property a plain ``str``, the value as the
    rules give it); statements only for items that have text."""
    out: list[tuple[str, URIRef | str]] = []
    if statements and meaning.statement_kind is not None:
        out.append((RDF.type, TL.Statement))
        out.append((TL.statementKind, meaning.statement_kind))
    if meaning.level is not None:
        out.append((TL.concernsLevel, meaning.level))
    if meaning.partnership is not None:
        out.append((TL.partnershipType, meaning.partnership))
    if meaning.audience is not None:
        out.append((TL.audience, meaning.audience))
    return out
