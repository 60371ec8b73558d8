"""The map stage: one parsed page -> its RDF statements, as sorted N-Triples lines.

``Mapper.map_page`` is a pure function of the ParsedPage (given the mapping, the wiki's
SiteInfo and the base IRI): the same page always gives the same ``MappedPage``. What the
page says is carried over by the rules of ``ontology/mapping.yaml``; everything else stays
as generic page structure (sections, list items, kept template calls) and is reported as
``info`` issues, so nothing is dropped silently.

The IRIs the page mints follow the rules of ``pipeline/iris.py``; the sections and list
items are mapped by ``pipeline/map_sections.py``, the values of template parameters by
``pipeline/map_values.py``; the N-Triples lines are written by ``model/rdf.py``.

Licence and attribution are not per triple: the exports stage states them for the dataset.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from rdflib import Literal, URIRef

from tierslieux.model.clean import find_closure, fold, plain_text
from tierslieux.model.iri import IRI_LIMIT, clean_text, is_iri, page_address, slugify
from tierslieux.model.rdf import (
    DEFAULT_BASE_IRI,
    TermLines,
    int_token,
    literal_term,
    term_lines,
    text_token,
)
from tierslieux.model.records import Issue, MappedPage, ParsedPage, SiteInfo, Template
from tierslieux.ontology.rules import IgnoredTemplate, Mapping, TemplateRule
from tierslieux.pipeline.iris import IriRules
from tierslieux.pipeline.map_sections import map_sections
from tierslieux.pipeline.map_terms import DCTERMS, FOAF, PROV, RDF, RDFS, TL, XSD, as_term
from tierslieux.pipeline.map_smw import map_smw
from tierslieux.pipeline.map_values import map_param, set_closure
from tierslieux.pipeline.names import fold_names
from tierslieux.pipeline.places import GeographyStep

#: longest literal published, in characters (README, "Reliability"): a longer text is cut
#: there and reported. RDF parsers hold a whole term in memory (Oxigraph refuses a term
#: over 16 MB); MediaWiki's own limit for a whole page is 2 MB.
LITERAL_LIMIT = 1_000_000
#: MediaWiki's limit of a title, in bytes of UTF-8
TITLE_LIMIT = 255


# --------------------------------------------------------------------------- the mapper


@dataclass
class Record:
    """An entity the page describes (a place, a collectivity…) and what was set on it."""

    iri: str
    kind: str
    #: the name a template parameter gave it (``named_by``); "" for the page's own record,
    #: named after the (root) page title
    name: str = ""
    #: the properties (the rules' IRIs) set by a parameter, by anything
    set_by_param: set[URIRef] = field(default_factory=set)
    set_any: set[URIRef] = field(default_factory=set)
    #: (property, value) set when nothing else set the property
    defaults: list[tuple[URIRef, URIRef | Literal]] = field(default_factory=list)


class Mapper:
    """Maps parsed pages of one wiki onto the ontology."""

    def __init__(self, mapping: Mapping, site: SiteInfo, base_iri: str = DEFAULT_BASE_IRI,
                 smw_types: dict[str, str] | None = None) -> None:
        self.mapping = mapping
        #: folded SMW property name -> its declared type (pipeline/smw_types.py)
        self.smw_types = dict(smw_types or {})
        self.site = site
        self.iris = IriRules(mapping, site, base_iri)
        self.base = self.iris.base
        self.lang = (site.lang or "fr").split("-")[0] or "fr"
        #: the tag passed rdflib's check once: texts are then made with text_token
        self.lang_checked = _valid_language(self.lang)

    # ------------------------------------------------------------------ mapping
    def map_page(self, parsed: ParsedPage) -> MappedPage:
        job = PageJob(self, parsed)
        job.run()
        rev = parsed.page.revision
        return MappedPage(
            page_id=rev.page_id,
            rev_id=rev.rev_id,
            title=rev.title,
            triples=TermLines(term_lines(job.triples)),
            issues=tuple(sorted(set(map(_clean_issue, job.issues)), key=lambda i: (
                i.severity, i.field, i.original, i.message, i.kept))),
        )


def _valid_language(tag: str) -> bool:
    try:
        Literal("", lang=tag)
    except ValueError:
        return False
    return True


def _clean_issue(issue: Issue) -> Issue:
    """The issue without lone surrogates (it goes to JSON, CSV and the cache, in UTF-8)."""
    fields = [clean_text(value)[0] for value in (issue.page_title, issue.severity, issue.field,
                                                  issue.original, issue.kept, issue.message)]
    return Issue(*fields) if fields != list(vars(issue).values()) else issue


class PageJob:
    """The state of mapping one page (kept off the Mapper so that map_page stays pure)."""

    def __init__(self, mapper: Mapper, parsed: ParsedPage) -> None:
        self.m = mapper
        self.iris = mapper.iris
        self.mapping = mapper.mapping
        self.parsed = parsed
        self.page = parsed.page
        self.rev = parsed.page.revision
        self.title = self.rev.title
        self.key = parsed.page.key
        self.page_iri = mapper.iris.page_iri(self.key)
        self.rev_iri = mapper.iris.revision_iri(self.rev.rev_id)
        self.address = page_address(mapper.site, self.title)
        #: (subject, predicate, object) as fast terms (pipeline/map_terms.py)
        self.triples: set[tuple[str, str, str]] = set()
        self.issues: list[Issue] = list(parsed.issues)
        #: (entity kind, name from a parameter or "") -> the record
        self.records: dict[tuple[str, str], Record] = {}
        # sub-pages: "La_Myne/2" belongs to "La_Myne"
        self.rootkey = self.key
        self.root_title = self.title
        rule = self.mapping.subpages
        if rule is not None:
            root = rule.root(self.rev.namespace, self.key.replace("_", " "))
            if root:
                self.rootkey = root.replace(" ", "_")
                root_title = rule.root(self.rev.namespace, self.title)
                self.root_title = root_title or root

    # ------------------------------------------------------------------ helpers
    def add(self, s: str, p: str, o: str | URIRef | Literal) -> None:
        """Add a statement: IRIs as ``str`` (or rdflib IRIs), the object a fast term or an
        rdflib term (the rules' values; a text over LITERAL_LIMIT, which ``lit`` and
        ``text`` leave as an rdflib Literal, is cut here)."""
        if type(o) is not str:
            if isinstance(o, Literal) and len(o) > LITERAL_LIMIT:
                cut = self.cut(s, p, o)
                if cut is None:
                    return
                o = cut
            o = as_term(o)
        if type(s) is not str:
            s = str.__str__(s)
        if type(p) is not str:
            p = str.__str__(p)
        self.triples.add((s, p, o))

    @staticmethod
    def lit(text: str) -> str | Literal:
        """``Literal(text)`` as a fast term (an rdflib Literal over LITERAL_LIMIT, which
        ``add`` cuts)."""
        if type(text) is not str:
            return Literal(text)
        return text_token(text) if len(text) <= LITERAL_LIMIT else Literal(text)

    @staticmethod
    def typed(text: str, datatype: str) -> str | Literal:
        """``Literal(text, datatype=datatype, normalize=False)`` as a fast term."""
        if len(text) <= LITERAL_LIMIT:
            return literal_term(text, datatype=datatype)
        return Literal(text, datatype=URIRef(datatype), normalize=False)

    def link_iri(self, target: str, kind: str) -> str | None:
        """The IRI of the page a link or a redirect names; None (reported) for a target
        longer than a MediaWiki title can be (255 bytes)."""
        target = target.strip()
        if not target:
            return None
        if len(target.encode("utf-8", "replace")) > TITLE_LIMIT:
            self.issue("warning", kind, target[:200] + "…", "",
                       f"a {kind} target of {len(target):,} characters: longer than a title "
                       f"can be ({TITLE_LIMIT} bytes), not published as a {kind}")
            return None
        return self.iris.page_iri(target.replace(" ", "_"))

    def cut(self, s: str, p: str, o: Literal) -> Literal | None:
        """A text longer than LITERAL_LIMIT cut there (a typed value that long is dropped),
        and reported."""
        text = str(o)
        where = f"{p.rsplit('#', 1)[-1].rsplit('/', 1)[-1]} of {s}"
        if o.datatype is not None and str(o.datatype) != XSD.string:
            self.issue("warning", "text", text[:200] + "…", "",
                       f"{len(text):,} characters in {where}: more than the limit of one "
                       f"value ({LITERAL_LIMIT:,}), not published")
            return None
        self.issue("warning", "text", text[:200] + "…", text[:200] + "…",
                   f"{len(text):,} characters in {where}: cut to the first {LITERAL_LIMIT:,} "
                   "(the limit of one text)")
        return Literal(text[:LITERAL_LIMIT], lang=o.language)

    def text(self, value: str) -> str | Literal:
        """A text in the wiki's language, as a fast term (see ``lit``)."""
        if self.m.lang_checked and type(value) is str and len(value) <= LITERAL_LIMIT:
            return text_token(value, self.m.lang)
        return Literal(value, lang=self.m.lang)

    def entity(self, iri: str, cls: str | URIRef, label: str | Literal) -> str:
        """Type, label and provenance: what every entity the page mints gets (``label``: a
        literal as ``lit`` or ``text`` give it)."""
        self.add(iri, RDF.type, cls)
        self.add(iri, RDFS.label, label)
        self.add(iri, PROV.wasDerivedFrom, self.rev_iri)
        return iri

    def issue(self, severity: str, field_: str, original: str, kept: str, message: str) -> None:
        self.issues.append(Issue(self.title, severity, field_, original, kept, message))

    def record(self, kind: str, name: str = "") -> Record:
        """The entity of ``kind`` this page describes (created on first use): the page's own
        record, or with ``name`` the one a record template names by a parameter."""
        if (kind, name) not in self.records:
            iri = self.iris.entity_iri(kind, key=self.key, rootkey=self.rootkey,
                                    name=name or self.root_title)
            self.records[kind, name] = Record(iri, kind, name)
        return self.records[kind, name]

    # ------------------------------------------------------------------ the walk
    def run(self) -> None:
        self.map_revision()
        self.map_page()
        for name in dict.fromkeys(self.parsed.categories):
            self.map_category(name)
        for template in sorted(self.parsed.templates, key=lambda t: t.order):
            self.map_template(template)
        map_sections(self)
        map_smw(self)
        self.apply_text_rules()
        self.finish_records()
        self.triples = fold_names(self.triples)
        self.apply_geography()

    def map_revision(self) -> None:
        rev, iri = self.rev, self.rev_iri
        self.add(iri, RDF.type, TL.Revision)
        self.add(iri, RDFS.label, self.text(f"{self.title}, révision {rev.rev_id}"))
        self.add(iri, TL.revisionId, int_token(rev.rev_id))
        self.add(iri, TL.pageId, int_token(rev.page_id))
        self.add(iri, TL.ofPage, self.page_iri)
        if rev.timestamp:
            self.add(iri, DCTERMS.created, self.typed(rev.timestamp, XSD.dateTime))
        if rev.parent_id:
            self.add(iri, PROV.wasRevisionOf, self.iris.revision_iri(rev.parent_id))
        if rev.contributor:
            self.add(iri, TL.contributorName, self.lit(rev.contributor))
            person = self.person(rev.contributor)
            if person is not None:
                self.add(iri, PROV.wasAttributedTo, person)

    def person(self, name: str) -> str | None:
        """The tl:Person of a user name; IP addresses of anonymous edits are not people."""
        name = name.strip()
        try:
            ipaddress.ip_address(name)
        except ValueError:
            pass
        else:
            return None
        if not fold(name):
            return None
        iri = self.iris.entity_iri("person", name=name)
        return self.entity(iri, self.mapping.entity("person").cls, self.lit(name))

    def map_page(self) -> None:
        rev, iri = self.rev, self.page_iri
        self.entity(iri, TL.WikiPage, self.text(self.title))
        self.add(iri, TL.title, self.lit(self.title))
        self.add(iri, TL.pageId, int_token(rev.page_id))
        self.add(iri, TL.namespace, int_token(rev.namespace))
        self.add(iri, TL.revisionId, int_token(rev.rev_id))
        if rev.timestamp:
            self.add(iri, DCTERMS.modified, self.typed(rev.timestamp, XSD.dateTime))
        self.add(iri, TL.pageAddress, self.address)
        self.add(iri, FOAF.page, self.address)
        for alt in self.page.alt_titles:
            self.add(iri, TL.alternativeTitle, self.lit(alt))
        for name in rev.contributors:
            person = self.person(name)
            if person is not None:
                self.add(iri, DCTERMS.contributor, person)
        if self.rootkey != self.key:
            self.add(iri, TL.subPageOf, self.iris.page_iri(self.rootkey))
        ns_rule = self.mapping.namespace(rev.namespace)
        if ns_rule is not None:
            self.add(iri, TL.pageType, ns_rule.page_type)
        redirect = self.parsed.redirect or rev.redirect
        if redirect:
            target = self.link_iri(redirect, "redirect")
            if target is not None:
                self.add(iri, TL.redirectsTo, target)
            if self.mapping.redirect_page_type is not None:
                self.add(iri, TL.pageType, self.mapping.redirect_page_type)
        for link in self.parsed.links:
            target = self.link_iri(link.target, "link")
            if target is not None:
                self.add(iri, TL.linksTo, target)
        for link in self.parsed.external_links:
            url = link.url.strip()
            if url.startswith("//"):
                url = "https:" + url
            if is_iri(url) and len(url) <= IRI_LIMIT:
                self.add(iri, TL.externalLink, url)
            else:
                # an address made by a template or a parameter ("{{{courriel}}}") is only
                # known when the wiki renders it: not the editors' mistake
                computed = "{{" in link.url
                reason = ("not a valid IRI (RFC 3987)" if not is_iri(url)
                          else f"longer than {IRI_LIMIT:,} characters")
                self.issue("info" if computed else "warning", "external-link",
                           link.url if len(link.url) <= 1000 else link.url[:200] + "…", "",
                           f"{reason}: not published as a link, its text stays in the section")

    def apply(self, page_type: URIRef | None, page_status: URIRef | None,
              describes: str | None, name: str = "") -> Record | None:
        if page_type is not None:
            self.add(self.page_iri, TL.pageType, page_type)
        if page_status is not None:
            self.add(self.page_iri, TL.pageStatus, page_status)
        return self.record(describes, name) if describes else None

    def map_category(self, name: str) -> None:
        self.add(self.page_iri, TL.category, self.lit(name))
        rule = self.mapping.category(name)
        if rule is None:
            self.issue("info", f"category:{name}", name, "category",
                       "no category rule: kept as tl:category only")
            return
        record = self.apply(rule.page_type, rule.page_status, rule.describes)
        if record is not None:
            for prop, value in rule.set:
                self.add(record.iri, prop, value)
                record.set_any.add(prop)

    # ------------------------------------------------------------------ templates
    def map_template(self, template: Template) -> None:
        rule = self.mapping.template(template.name)
        if isinstance(rule, IgnoredTemplate):
            self.apply(rule.page_type, rule.page_status, rule.describes)
            return
        if rule is None:
            self.issue("info", f"template:{template.name}", template.name, "template call",
                       "no template rule: kept as a tl:TemplateCall")
            self.keep_call(template, template.params)
            return
        record = self.apply(rule.page_type, rule.page_status, rule.describes,
                            self.record_name(rule, template))
        assert record is not None or not rule.params  # checked when the mapping is loaded
        kept: list[tuple[str, str]] = []
        filled: set[str] = set()
        for name, value in template.params:
            param = rule.param(name)
            field_ = f"param:{template.name}/{name}"
            if param is None:
                self.issue("info", field_, value, "template parameter",
                           "no parameter rule: kept as a tl:TemplateParameter")
                kept.append((name, value))
                continue
            if param.name in filled:
                self.issue("warning", field_, value, "template parameter",
                           f"'{param.name}' given twice: the first value is used")
                kept.append((name, value))
                continue
            if not value.strip():
                continue
            filled.add(param.name)
            if not map_param(self, record, param, value, field_):
                kept.append((name, value))
        for param in rule.params:
            if param.required and param.name not in filled:
                self.issue("error", f"param:{template.name}/{param.name}", "", "",
                           "required parameter missing or empty")
        if record is not None:
            record.defaults.extend(rule.defaults)
        if kept:
            self.keep_call(template, tuple(kept))

    @staticmethod
    def record_name(rule: TemplateRule, template: Template) -> str:
        """The name the ``named_by`` parameter gives the record ("" if none: the page's own
        record). The first non-empty value counts, as for any parameter given twice."""
        if rule.named_by is None:
            return ""
        for name, value in template.params:
            param = rule.param(name)
            if param is not None and param.name == rule.named_by and value.strip():
                return plain_text(value)
        return ""

    def keep_call(self, template: Template, params: Iterable[tuple[str, str]]) -> None:
        """A template call (or its unmapped parameters) as generic structure."""
        call = self.iris.template_iri(self.page_iri, template.order + 1)
        self.entity(call, TL.TemplateCall, self.lit(f"{{{{{template.name}}}}}"))
        self.add(call, TL.templateName, self.lit(template.name))
        self.add(call, TL.order, int_token(template.order + 1))
        self.add(call, TL.inPage, self.page_iri)
        slugs: dict[str, int] = {}
        for name, value in params:
            slug = slugify(name)
            slugs[slug] = slugs.get(slug, 0) + 1
            if slugs[slug] > 1:
                slug = f"{slug}-{slugs[slug]}"
            param = self.iris.param_iri(call, slug)
            self.entity(param, TL.TemplateParameter, self.lit(name))
            self.add(param, TL.paramName, self.lit(name))
            self.add(param, TL.paramValue, self.lit(value))
            self.add(call, TL.hasParameter, param)

    # ------------------------------------------------------------------ records
    def apply_text_rules(self) -> None:
        for rule in self.mapping.text_rules:
            record = self.records.get((rule.describes, ""))
            if record is None:
                continue
            status = rule.role("status")
            if status is not None and status in record.set_by_param:
                continue
            for section in sorted(self.parsed.sections, key=lambda s: s.index):
                name = "lead" if section.index == 0 else fold(section.heading)
                if name not in rule.sections:
                    continue
                closure = find_closure(section.text)
                if closure is not None:
                    set_closure(self, record, closure, dict(rule.properties), by_param=False)
                    break

    def apply_geography(self) -> None:
        """Collectivities on the IRIs of their official codes, places in their communes
        (pipeline/places.py)."""
        step = GeographyStep(self.m.base, self.rev_iri)
        self.triples = step.run(self.triples,
                                [(r.kind, r.iri) for _, r in sorted(self.records.items())])
        for found in step.issues:
            self.issue(found.severity, found.field, found.original, found.kept, found.message)

    def finish_records(self) -> None:
        for (kind, _), record in sorted(self.records.items()):
            rule = self.mapping.entity(kind)
            self.entity(record.iri, rule.cls, self.lit(record.name or self.root_title))
            if record.name:
                self.add(record.iri, TL.name, self.lit(record.name))
            elif rule.name_from == "title":
                self.add(record.iri, TL.name, self.lit(self.root_title))
            self.add(record.iri, FOAF.page, self.address)
            self.add(self.page_iri, TL.describes, record.iri)
            for prop, value in record.defaults:
                if prop not in record.set_any:
                    self.add(record.iri, prop, value)
