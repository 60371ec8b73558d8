"""The map stage: one parsed page -> its RDF statements, as sorted N-Triples lines.

``Mapper.map_page`` is a pure function of the ParsedPage (given the mapping, the wiki's
SiteInfo and the base IRI): the same page always gives the same ``MappedPage``. What the
page says is carried over by the rules of ``ontology/mapping.yaml``; everything else stays
as generic page structure (sections, list items, kept template calls) and is reported as
``info`` issues, so nothing is dropped silently.

IRIs (``{base}`` is the data base IRI, ``{key}`` the stored page key, stable across moves):

    {base}page/{key}                               the page (tl:WikiPage)
    {base}page/{key}/section/{slug}                a section ("lead" before the first heading)
    {base}page/{key}/section/{slug}/item/{n}       a list item (n from 1)
    {base}page/{key}/template/{n}                  a kept template call (n from 1)
    {base}page/{key}/template/{n}/param/{slug}     one of its parameters
    {base}place/{rootkey} …                        records and values (see mapping.yaml)
    {script_url}?oldid={rev}                       the revision (provenance of everything)

Licence and attribution are not per triple: the exports stage states them for the dataset.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from rdflib import RDF, RDFS, SKOS, XSD, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV

from tierslieux.errors import MappingError
from tierslieux.ontology.mapping import (
    IgnoredTemplate,
    Mapping,
    Meaning,
    ParamRule,
    TemplateRule,
)
from tierslieux.ontology.namespace import TL
from tierslieux.pipeline.iri import (  # noqa: F401  (iri_path, is_iri: imported from here too)
    clean_text,
    iri_path,
    is_iri,
    key_path,
)
from tierslieux.model.clean import (
    CLEANERS,
    Closure,
    DateValue,
    find_closure,
    fold,
    plain_text,
    split_values,
)
from tierslieux.pipeline.names import fold_names
from tierslieux.pipeline.places import GeographyStep
from tierslieux.model.records import (
    Issue,
    MappedPage,
    ParsedPage,
    Section,
    SiteInfo,
    Template,
)

DEFAULT_BASE_IRI = "https://w3id.org/tierslieux/movilab/"
LABEL_LENGTH = 100
#: longest literal published, in characters (README, "Reliability"): a longer text is cut
#: there and reported. RDF parsers hold a whole term in memory (Oxigraph refuses a term
#: over 16 MB); MediaWiki's own limit for a whole page is 2 MB.
LITERAL_LIMIT = 1_000_000
#: longest address minted as an IRI (RFC 9110 asks HTTP software for 8,000 octets at least);
#: a longer one is reported and left in the text
IRI_LIMIT = 8_000
#: MediaWiki's limit of a title, in bytes of UTF-8
TITLE_LIMIT = 255
#: longest slug of a name in an IRI
SLUG_LIMIT = 200

Term = URIRef | Literal
Triple = tuple[URIRef, URIRef, Term]


# --------------------------------------------------------------------------- IRIs and slugs

def slugify(text: str) -> str:
    """A readable ASCII slug: ``"Agglomération & EPCI"`` -> ``"agglomeration-epci"``.
    Text with no letter or digit gets a short hash, so that the slug is never empty."""
    slug = fold(text).replace(" ", "-")
    slug = re.sub(r"[^a-z0-9-]", "", slug).strip("-")
    if len(slug) > SLUG_LIMIT:  # a name that long is not one: keep IRIs short, still distinct
        digest = hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()[:8]
        return slug[:SLUG_LIMIT - 9].rstrip("-") + "-" + digest
    if slug:
        return slug
    return "x" + hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()[:8]


def page_address(site: SiteInfo, title: str) -> str:
    """The wiki address of a page, as MediaWiki writes it (``$1`` of the article path)."""
    key = clean_text(title)[0].strip().replace(" ", "_")
    path = site.article_path or (site.script_url + "?title=$1")
    return path.replace("$1", quote(key, safe=";:@$!*(),/~"))


# --------------------------------------------------------------------------- N-Triples


#: the characters _escape_literal rewrites; most texts have none and are kept as they are
_NEEDS_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]')
#: N-Triples form of the IRIs already checked (the map stage writes the same few thousand
#: IRIs over and over: predicates, classes, the page's own IRIs)
_IRI_TERMS: dict[URIRef, str] = {}
_IRI_TERMS_LIMIT = 100_000


def _escape_literal(text: str) -> str:
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    return _NEEDS_ESCAPE.sub(_escape_char, text)


_ECHARS = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group()
    escaped = _ECHARS.get(ch)
    if escaped is not None:
        return escaped
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate cannot be written as UTF-8
        return "\\uFFFD"
    return f"\\u{code:04X}"  # other control characters, U+FFFE, U+FFFF


def nt_term(term: Term) -> str:
    if isinstance(term, URIRef):
        written = _IRI_TERMS.get(term)
        if written is None:
            if not is_iri(str(term)) or len(term) > 2 * IRI_LIMIT:
                raise ValueError(f"not an IRI: {str(term)[:200]!r}")
            if len(_IRI_TERMS) >= _IRI_TERMS_LIMIT:
                _IRI_TERMS.clear()
            written = _IRI_TERMS[term] = f"<{term}>"
        return written
    text = f'"{_escape_literal(str(term))}"'
    if term.language:
        return f"{text}@{term.language}"
    if term.datatype is not None and term.datatype != XSD.string:
        return f"{text}^^<{term.datatype}>"
    return text


def nt_line(triple: Triple) -> str:
    """One N-Triples statement, without the final newline."""
    s, p, o = triple
    return f"{nt_term(s)} {nt_term(p)} {nt_term(o)} ."


def _timestamp(text: str) -> Literal:
    """An xsd:dateTime kept as MediaWiki writes it (``2023-07-20T17:31:00Z``)."""
    return Literal(text, datatype=XSD.dateTime, normalize=False)


# --------------------------------------------------------------------------- the mapper


@dataclass
class _Record:
    """An entity the page describes (a place, a collectivity…) and what was set on it."""

    iri: URIRef
    kind: str
    #: the name a template parameter gave it (``named_by``); "" for the page's own record,
    #: named after the (root) page title
    name: str = ""
    set_by_param: set[URIRef] = field(default_factory=set)
    set_any: set[URIRef] = field(default_factory=set)
    #: (property, value) set when nothing else set the property
    defaults: list[tuple[URIRef, Term]] = field(default_factory=list)


class Mapper:
    """Maps parsed pages of one wiki onto the ontology."""

    def __init__(self, mapping: Mapping, site: SiteInfo, base_iri: str = DEFAULT_BASE_IRI) -> None:
        if not is_iri(base_iri) or not base_iri.endswith(("/", "#")):
            raise MappingError(f"base IRI {base_iri!r} must be an absolute IRI ending with / or #")
        self.mapping = mapping
        self.site = site
        self.base = base_iri
        self.lang = (site.lang or "fr").split("-")[0] or "fr"

    # ------------------------------------------------------------------ IRIs
    def page_iri(self, key: str) -> URIRef:
        return URIRef(f"{self.base}page/{key_path(key)}")

    def revision_iri(self, rev_id: int) -> URIRef:
        if self.site.script_url:
            return URIRef(f"{self.site.script_url}?oldid={rev_id}")
        return URIRef(f"{self.base}revision/{rev_id}")

    def entity_iri(self, kind: str, *, key: str = "", rootkey: str = "", name: str = ""
                   ) -> URIRef:
        rule = self.mapping.entity(kind)
        path = rule.iri.format(key=key_path(key), rootkey=key_path(rootkey or key),
                               slug=slugify(name))
        return URIRef(self.base + path)

    # ------------------------------------------------------------------ mapping
    def map_page(self, parsed: ParsedPage) -> MappedPage:
        job = _PageJob(self, parsed)
        job.run()
        rev = parsed.page.revision
        return MappedPage(
            page_id=rev.page_id,
            rev_id=rev.rev_id,
            title=rev.title,
            triples=tuple(sorted({nt_line(t) for t in job.triples})),
            issues=tuple(sorted(set(map(_clean_issue, job.issues)), key=lambda i: (
                i.severity, i.field, i.original, i.message, i.kept))),
        )


def _clean_issue(issue: Issue) -> Issue:
    """The issue without lone surrogates (it goes to JSON, CSV and the cache, in UTF-8)."""
    fields = [clean_text(value)[0] for value in (issue.page_title, issue.severity, issue.field,
                                                  issue.original, issue.kept, issue.message)]
    return Issue(*fields) if fields != list(vars(issue).values()) else issue


class _PageJob:
    """The state of mapping one page (kept off the Mapper so that map_page stays pure)."""

    def __init__(self, mapper: Mapper, parsed: ParsedPage) -> None:
        self.m = mapper
        self.mapping = mapper.mapping
        self.parsed = parsed
        self.page = parsed.page
        self.rev = parsed.page.revision
        self.title = self.rev.title
        self.key = parsed.page.key
        self.page_iri = mapper.page_iri(self.key)
        self.rev_iri = mapper.revision_iri(self.rev.rev_id)
        self.address = URIRef(page_address(mapper.site, self.title))
        self.triples: set[Triple] = set()
        self.issues: list[Issue] = list(parsed.issues)
        #: (entity kind, name from a parameter or "") -> the record
        self.records: dict[tuple[str, str], _Record] = {}
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
    def add(self, s: URIRef, p: URIRef, o: Term) -> None:
        if isinstance(o, Literal) and len(o) > LITERAL_LIMIT:
            cut = self.cut(s, p, o)
            if cut is None:
                return
            o = cut
        self.triples.add((s, p, o))

    def link_iri(self, target: str, kind: str) -> URIRef | None:
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
        return self.m.page_iri(target.replace(" ", "_"))

    def cut(self, s: URIRef, p: URIRef, o: Literal) -> Literal | None:
        """A text longer than LITERAL_LIMIT cut there (a typed value that long is dropped),
        and reported."""
        text = str(o)
        where = f"{p.rsplit('#', 1)[-1].rsplit('/', 1)[-1]} of {s}"
        if o.datatype is not None and o.datatype != XSD.string:
            self.issue("warning", "text", text[:200] + "…", "",
                       f"{len(text):,} characters in {where}: more than the limit of one "
                       f"value ({LITERAL_LIMIT:,}), not published")
            return None
        self.issue("warning", "text", text[:200] + "…", text[:200] + "…",
                   f"{len(text):,} characters in {where}: cut to the first {LITERAL_LIMIT:,} "
                   "(the limit of one text)")
        return Literal(text[:LITERAL_LIMIT], lang=o.language)

    def text(self, value: str) -> Literal:
        return Literal(value, lang=self.m.lang)

    def entity(self, iri: URIRef, cls: URIRef, label: str | Literal) -> URIRef:
        """Type, label and provenance: what every entity the page mints gets."""
        self.add(iri, RDF.type, cls)
        self.add(iri, RDFS.label, label if isinstance(label, Literal) else Literal(label))
        self.add(iri, PROV.wasDerivedFrom, self.rev_iri)
        return iri

    def issue(self, severity: str, field_: str, original: str, kept: str, message: str) -> None:
        self.issues.append(Issue(self.title, severity, field_, original, kept, message))

    def record(self, kind: str, name: str = "") -> _Record:
        """The entity of ``kind`` this page describes (created on first use): the page's own
        record, or with ``name`` the one a record template names by a parameter."""
        if (kind, name) not in self.records:
            iri = self.m.entity_iri(kind, key=self.key, rootkey=self.rootkey,
                                    name=name or self.root_title)
            self.records[kind, name] = _Record(iri, kind, name)
        return self.records[kind, name]

    # ------------------------------------------------------------------ the walk
    def run(self) -> None:
        self.map_revision()
        self.map_page()
        for name in dict.fromkeys(self.parsed.categories):
            self.map_category(name)
        for template in sorted(self.parsed.templates, key=lambda t: t.order):
            self.map_template(template)
        self.map_sections()
        self.apply_text_rules()
        self.finish_records()
        self.triples = fold_names(self.triples)
        self.apply_geography()

    def map_revision(self) -> None:
        rev, iri = self.rev, self.rev_iri
        self.add(iri, RDF.type, TL.Revision)
        self.add(iri, RDFS.label, self.text(f"{self.title}, révision {rev.rev_id}"))
        self.add(iri, TL.revisionId, Literal(rev.rev_id))
        self.add(iri, TL.pageId, Literal(rev.page_id))
        self.add(iri, TL.ofPage, self.page_iri)
        if rev.timestamp:
            self.add(iri, DCTERMS.created, _timestamp(rev.timestamp))
        if rev.parent_id:
            self.add(iri, PROV.wasRevisionOf, self.m.revision_iri(rev.parent_id))
        if rev.contributor:
            self.add(iri, TL.contributorName, Literal(rev.contributor))
            person = self.person(rev.contributor)
            if person is not None:
                self.add(iri, PROV.wasAttributedTo, person)

    def person(self, name: str) -> URIRef | None:
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
        iri = self.m.entity_iri("person", name=name)
        return self.entity(iri, self.mapping.entity("person").cls, name)

    def map_page(self) -> None:
        rev, iri = self.rev, self.page_iri
        self.entity(iri, TL.WikiPage, self.text(self.title))
        self.add(iri, TL.title, Literal(self.title))
        self.add(iri, TL.pageId, Literal(rev.page_id))
        self.add(iri, TL.namespace, Literal(rev.namespace))
        self.add(iri, TL.revisionId, Literal(rev.rev_id))
        if rev.timestamp:
            self.add(iri, DCTERMS.modified, _timestamp(rev.timestamp))
        self.add(iri, TL.pageAddress, self.address)
        self.add(iri, FOAF.page, self.address)
        for alt in self.page.alt_titles:
            self.add(iri, TL.alternativeTitle, Literal(alt))
        for name in rev.contributors:
            person = self.person(name)
            if person is not None:
                self.add(iri, DCTERMS.contributor, person)
        if self.rootkey != self.key:
            self.add(iri, TL.subPageOf, self.m.page_iri(self.rootkey))
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
                self.add(iri, TL.externalLink, URIRef(url))
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
              describes: str | None, name: str = "") -> _Record | None:
        if page_type is not None:
            self.add(self.page_iri, TL.pageType, page_type)
        if page_status is not None:
            self.add(self.page_iri, TL.pageStatus, page_status)
        return self.record(describes, name) if describes else None

    def map_category(self, name: str) -> None:
        self.add(self.page_iri, TL.category, Literal(name))
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
            if not self.map_param(record, param, value, field_):
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
        call = URIRef(f"{self.page_iri}/template/{template.order + 1}")
        self.entity(call, TL.TemplateCall, Literal(f"{{{{{template.name}}}}}"))
        self.add(call, TL.templateName, Literal(template.name))
        self.add(call, TL.order, Literal(template.order + 1))
        self.add(call, TL.inPage, self.page_iri)
        slugs: dict[str, int] = {}
        for name, value in params:
            slug = slugify(name)
            slugs[slug] = slugs.get(slug, 0) + 1
            if slugs[slug] > 1:
                slug = f"{slug}-{slugs[slug]}"
            param = URIRef(f"{call}/param/{slug}")
            self.entity(param, TL.TemplateParameter, Literal(name))
            self.add(param, TL.paramName, Literal(name))
            self.add(param, TL.paramValue, Literal(value))
            self.add(call, TL.hasParameter, param)

    def map_param(self, record: _Record, param: ParamRule, raw: str, field_: str) -> bool:
        """Fill ``record`` from one parameter; False when some value was rejected."""
        if param.separator:
            parts = split_values(plain_text(raw, urls=True), param.separator)
        else:
            parts = (raw,)
        all_ok = True
        for part in parts:
            cleaned = CLEANERS[param.cleaner](part)
            if cleaned.issue is not None:
                severity = cleaned.issue.severity
                if cleaned.rejected and not param.required:
                    severity = "warning"
                self.issues.append(Issue(self.title, severity, field_, cleaned.issue.original,
                                         cleaned.issue.kept, cleaned.issue.message))
            if cleaned.rejected:
                all_ok = False
                continue
            if not self.set_value(record, param, cleaned.value, field_):
                all_ok = False
        return all_ok

    def set_value(self, record: _Record, param: ParamRule, value: object, field_: str) -> bool:
        subject = record.iri
        if param.kind == "closure":
            assert isinstance(value, Closure)
            return self.set_closure(record, value, dict(param.properties), by_param=True)
        prop = param.property
        assert prop is not None
        record.set_by_param.add(prop)
        record.set_any.add(prop)
        if param.kind == "iri":
            if not is_iri(str(value)) or len(str(value)) > IRI_LIMIT:
                self.issue("warning", field_, str(value), "", "not a valid IRI")
                return False
            self.add(subject, prop, URIRef(str(value)))
        elif param.kind == "entity":
            assert param.entity is not None
            name = str(value)
            if param.entity == "person":
                target = self.person(name)
                if target is None:
                    self.issue("warning", field_, name, "", "not a person's name")
                    return False
            else:
                rule = self.mapping.entity(param.entity)
                target = self.m.entity_iri(param.entity, name=name)
                self.entity(target, rule.cls, name)
                self.add(target, TL.name, Literal(name))
            self.add(subject, prop, target)
            self.add(self.page_iri, TL.mentions, target)
        elif param.kind == "concept":
            assert param.scheme is not None
            concept = self.mapping.concept(param.scheme, str(value), param.values)
            if concept is None:
                if param.unknown != "mint":
                    self.issue("warning", field_, str(value), "",
                               f"not a concept of tl:{param.scheme.rsplit('#', 1)[-1]}")
                    return False
                concept = self.mint_concept(param.scheme, str(value))
                self.issue("info", field_, str(value), str(concept),
                           "value not in the ontology: a new concept was minted")
            self.add(subject, prop, concept)
        else:
            self.add(subject, prop, self.literal(prop, value))
        return True

    def literal(self, prop: URIRef, value: object) -> Literal:
        if isinstance(value, DateValue):
            return Literal(value.lexical, datatype=XSD[value.datatype], normalize=False)
        datatype = self.mapping.property_info(prop).datatype
        if datatype == RDF.langString:
            return self.text(str(value))
        if datatype is None or datatype == XSD.string:
            return Literal(str(value))
        return Literal(str(value), datatype=datatype, normalize=False)

    def mint_concept(self, scheme: URIRef, value: str) -> URIRef:
        scheme_name = scheme.rsplit("#", 1)[-1]
        iri = URIRef(f"{self.m.base}concept/{slugify(scheme_name)}/{slugify(value)}")
        cls = self.mapping.scheme_classes.get(scheme, SKOS.Concept)
        self.entity(iri, SKOS.Concept, self.text(value))
        self.add(iri, RDF.type, cls)
        self.add(iri, SKOS.inScheme, scheme)
        self.add(iri, SKOS.prefLabel, self.text(value))
        return iri

    def set_closure(self, record: _Record, closure: Closure, roles: dict[str, URIRef], *,
                    by_param: bool) -> bool:
        status_prop = roles.get("status")
        if status_prop is not None:
            status = TL["status-closed"] if closure.closed else TL["status-open"]
            self.add(record.iri, status_prop, status)
            record.set_any.add(status_prop)
            if by_param:
                record.set_by_param.add(status_prop)
        if closure.since is not None and roles.get("since") is not None:
            self.add(record.iri, roles["since"], self.literal(roles["since"], closure.since))
        if closure.note and roles.get("note") is not None:
            self.add(record.iri, roles["note"], self.text(closure.note))
        return True

    # ------------------------------------------------------------------ sections and lists
    def map_sections(self) -> None:
        sections = sorted(self.parsed.sections, key=lambda s: s.index)
        by_index = {s.index: s for s in sections}
        slugs: dict[int, str] = {}
        used: dict[str, int] = {}
        meanings: dict[int, Meaning] = {}
        page_meanings: set[tuple[URIRef, URIRef]] = set()
        for section in sections:
            base = "lead" if section.index == 0 else slugify(section.heading or "section")
            used[base] = used.get(base, 0) + 1
            slugs[section.index] = base if used[base] == 1 else f"{base}-{used[base]}"
        for section in sections:
            iri = URIRef(f"{self.page_iri}/section/{slugs[section.index]}")
            ancestors = self.ancestors(section, by_index)
            parent = by_index.get(section.parent) if section.parent else None
            outer = meanings.get(parent.index, Meaning()) if parent is not None else Meaning()
            meaning = outer
            if section.index != 0:
                rule = self.mapping.heading(section.heading, [a.heading for a in ancestors])
                if rule is not None:
                    meaning = rule.meaning.over(outer)
                elif section.heading.strip():
                    self.issue("info", f"heading:{section.heading}", section.heading, "section",
                               "no heading rule: kept as a plain section")
            meanings[section.index] = meaning
            self.map_section(section, iri, meaning, parent, slugs, page_meanings)
        for prop, value in page_meanings:
            self.add(self.page_iri, prop, value)

    @staticmethod
    def ancestors(section: Section, by_index: dict[int, Section]) -> list[Section]:
        chain: list[Section] = []
        seen = {section.index}
        parent = section.parent
        while parent and parent in by_index and parent not in seen:
            seen.add(parent)
            chain.append(by_index[parent])
            parent = by_index[parent].parent
        return list(reversed(chain))

    def map_section(self, section: Section, iri: URIRef, meaning: Meaning,
                    parent: Section | None, slugs: dict[int, str],
                    page_meanings: set[tuple[URIRef, URIRef]]) -> None:
        heading = section.heading.strip()
        label = heading if heading and section.index else f"{self.title} (introduction)"
        self.entity(iri, TL.Section, self.text(label))
        self.add(iri, TL.inPage, self.page_iri)
        self.add(self.page_iri, TL.hasSection, iri)
        self.add(iri, TL.order, Literal(section.index))
        self.add(iri, TL.level, Literal(section.level))
        if heading and section.index:
            self.add(iri, TL.heading, self.text(heading))
        if parent is not None and parent.index != 0:
            self.add(iri, TL.parentSection,
                     URIRef(f"{self.page_iri}/section/{slugs[parent.index]}"))
        if section.text.strip():
            self.add(iri, TL.text, self.text(section.text.strip()))
        for prop, value in self.meaning_triples(meaning, statements=False):
            self.add(iri, prop, value)
            page_meanings.add((prop, value))
        item_meanings: dict[int, Meaning] = {}
        for item in sorted(section.items, key=lambda i: i.index):
            item_iri = URIRef(f"{iri}/item/{item.index + 1}")
            text = item.text.strip()
            outer = item_meanings.get(item.parent, meaning) if item.parent is not None else meaning
            prefix = self.mapping.prefix(text)
            own = prefix.meaning.over(outer) if prefix is not None else outer
            item_meanings[item.index] = own
            short = text if len(text) <= LABEL_LENGTH else text[:LABEL_LENGTH - 1] + "…"
            self.entity(item_iri, TL.ListItem,
                        self.text(short or f"{label}, élément {item.index + 1}"))
            self.add(item_iri, TL.inSection, iri)
            self.add(iri, TL.hasItem, item_iri)
            self.add(item_iri, TL.order, Literal(item.index + 1))
            self.add(item_iri, TL.depth, Literal(item.depth))
            self.add(item_iri, TL.ordered, Literal(item.ordered))
            if text:
                self.add(item_iri, TL.text, self.text(text))
            if item.parent is not None:
                self.add(item_iri, TL.parentItem, URIRef(f"{iri}/item/{item.parent + 1}"))
            for target in item.links:
                link_iri = self.link_iri(target, "link")
                if link_iri is not None:
                    self.add(item_iri, TL.linksTo, link_iri)
            for prop, value in self.meaning_triples(own, statements=bool(text)):
                self.add(item_iri, prop, value)
                if prop != TL.statementKind and prop != RDF.type:
                    page_meanings.add((prop, value))

    @staticmethod
    def meaning_triples(meaning: Meaning, *, statements: bool) -> list[tuple[URIRef, URIRef]]:
        out: list[tuple[URIRef, URIRef]] = []
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
                    self.set_closure(record, closure, dict(rule.properties), by_param=False)
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
            self.entity(record.iri, rule.cls, record.name or self.root_title)
            if record.name:
                self.add(record.iri, TL.name, Literal(record.name))
            elif rule.name_from == "title":
                self.add(record.iri, TL.name, Literal(self.root_title))
            self.add(record.iri, FOAF.page, self.address)
            self.add(self.page_iri, TL.describes, record.iri)
            for prop, value in record.defaults:
                if prop not in record.set_any:
                    self.add(record.iri, prop, value)
