"""The entity pages of a release: two streaming passes over the triples in triple order.

The first pass indexes what a page shows of the others (each documented entity's label and
types, the links that point to it, capped at ``INCOMING_LIMIT`` a page, and the counts of the
landing page's charts); the second renders, subject by subject, the page and the three small
RDF files of each entity (see paths.py for where they go). Nothing but the index is held in
memory; the files are written in subject order, and the same triples give the same bytes.
With the record of the site in place (record.py), an entity whose page would show the same
is not rendered: its files are linked from the published release.

A big site is written in shares side by side, each making the whole index and writing the
documents of its own entities (shares.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import unquote

from markupsafe import Markup, escape

from tierslieux.model.lines import subject_groups
from tierslieux.model.rdf import RDF_TYPE, XSD, XSD_STRING, Triple, parse_object
from tierslieux.site import paths
from tierslieux.site.record import (
    SUFFIXES,
    Reuse,
    SiteRecord,
    Stamp,
    entity_key,
    entry_sums,
    record_entry,
)
from tierslieux.site.render import Renderer
from tierslieux.site.shares import REPLACED, WRITE, share_plan
from tierslieux.site.vocabulary import TL, Vocabulary

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
#: predicates that give an entity's label, the first found wins (French first)
LABEL_PREDICATES = (
    RDFS_LABEL, "http://www.w3.org/2004/02/skos/core#prefLabel", TL + "name", TL + "officialName",
    TL + "title", TL + "heading", "http://purl.org/dc/terms/title", "http://schema.org/name",
    TL + "text",
)
_LABEL_RANK = {p: n for n, p in enumerate(LABEL_PREDICATES)}
#: links shown under "what points here", per page (the count says how many there are)
INCOMING_LIMIT = 50
LABEL_LIMIT = 120
PROVENANCE = ("http://www.w3.org/ns/prov#wasDerivedFrom", "http://xmlns.com/foaf/0.1/page",
              TL + "pageAddress")
THIRD_PLACE = TL + "ThirdPlace"
IN_REGION = TL + "inRegion"
STATEMENT_KIND = TL + "statementKind"

#: writes triples (in triple order) as Turtle with the given prefixes (exports/turtle.py)
TurtleWriter = Callable[[Iterable[Triple], TextIO, Mapping[str, str]], int]


@dataclass(frozen=True)
class SiteSummary:
    """What the entity pages pass found, for the landing page and the report."""

    #: entities with documents
    pages: int
    #: subjects under the base IRI that got no documents (see paths.py)
    skipped: int
    #: (région IRI, label, places) by count, then label
    places_per_region: tuple[tuple[str, str, int], ...]
    #: (statement kind IRI, places) by count
    statements_per_kind: tuple[tuple[str, int], ...]
    #: (class IRI, entities with a page)
    classes: tuple[tuple[str, int], ...]
    #: (IRI, label) of the third places, sorted by label
    places: tuple[tuple[str, str], ...]
    files: int
    #: path under the site's folder -> SHA-256 of each document, hashed as it was written
    #: (SHA256SUMS lists them without reading them again)
    sums: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    #: entities whose documents were linked from the published release, and rendered
    #: (record.py): how the site was made, not what it is
    reused: int = field(default=0, compare=False)
    rendered: int = field(default=0, compare=False)
    #: the record of the documents written, for the next build, where it was written
    #: (record.py ``pending_path``); None: no cache folder, or it could not be written
    record_file: Path | None = field(default=None, compare=False, repr=False)
    #: a share's record of what it wrote, not written yet (``join_site`` writes it)
    record: SiteRecord | None = field(default=None, compare=False, repr=False)


class _Index:
    """Labels, types and incoming links of the documented entities."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.labels: dict[str, str] = {}
        self.rests: dict[str, str] = {}
        self.types: dict[str, tuple[str, ...]] = {}
        self.incoming: dict[str, list[tuple[str, str]]] = {}
        self.incoming_count: Counter[str] = Counter()
        self.skipped = 0
        self.regions: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.classes: Counter[str] = Counter()
        self.places: list[tuple[str, str]] = []
        #: section IRI -> [(item number, item IRI)]: the items shown on its page
        self.items: dict[str, list[tuple[int, str]]] = {}
        #: list item IRI -> its section's rest and number (see paths.item_of)
        self.fragments: dict[str, tuple[str, str]] = {}

    def add_group(self, subject: str, pairs: list[tuple[str, str]]) -> None:
        rest = paths.entity_rest(subject, self.base)
        if rest is None:
            if subject.startswith(self.base):
                self.skipped += 1
            return
        item = paths.item_of(rest)
        if item is not None:
            self.fragments[subject] = item
            self.items.setdefault(self.base + item[0], []).append((int(item[1]), subject))
        else:
            self.rests[subject] = rest
        label, rank, types = "", len(LABEL_PREDICATES), []
        region = ""
        for predicate, obj in pairs:
            if predicate == RDF_TYPE:
                types.append(obj[1:-1])
            elif predicate in _LABEL_RANK and obj[0] == '"':
                term = parse_object(obj)
                better = _LABEL_RANK[predicate] < rank or (
                    _LABEL_RANK[predicate] == rank and term.language == "fr")
                if better:
                    label, rank = term.value, _LABEL_RANK[predicate]
            elif predicate == IN_REGION:
                region = obj[1:-1]
            elif predicate == STATEMENT_KIND:
                self.kinds[obj[1:-1]] += 1
            if obj[0] == "<" and obj.startswith(self.base, 1) and not item_links(predicate):
                target = obj[1:-1]
                self.incoming_count[target] += 1
                found = self.incoming.setdefault(target, [])
                if len(found) < INCOMING_LIMIT:
                    found.append((predicate, subject))
        label = " ".join(label.split())
        if len(label) > LABEL_LIMIT:
            label = label[:LABEL_LIMIT - 1] + "…"
        self.labels[subject] = label or _local_label(rest)
        if item is not None:
            return
        self.types[subject] = tuple(types)
        for cls in types:
            self.classes[cls] += 1
        if THIRD_PLACE in types:
            self.places.append((subject, self.labels[subject]))
            if region:
                self.regions[region] += 1


def item_links(predicate: str) -> bool:
    """The links between a section and its items, and between items: the section's page
    shows its items in a list of their own, not among what links here."""
    return predicate in _ITEM_LINKS


_ITEM_LINKS = frozenset({TL + "inSection", TL + "parentItem", TL + "hasItem"})


def _local_label(rest: str) -> str:
    return unquote(rest.rsplit("/", 1)[-1]).replace("_", " ")


def write_entity_pages(triples: Iterable[Triple], site_dir: Path, base: str,
                       vocabulary: Vocabulary, prefixes: Mapping[str, str],
                       write_turtle: TurtleWriter, sitename: str = "",
                       reuse: Reuse | None = None, share: tuple[int, int] = (0, 1)
                       ) -> SiteSummary:
    """Every entity's page and RDF files under ``site_dir`` (the release's ``site/``).

    ``triples`` is re-iterable (it is read twice), in triple order. With ``reuse``, the
    documents of an entity that the published release holds as they would be written are
    linked from it (record.py), and the record of the site written is written at
    ``reuse.pending``. With ``share`` ``(k, n)``, only the documents of the entities of the
    k-th of n shares (shares.py) are written, and the summary holds the record of those
    unwritten: ``join_site`` of the n summaries is the site's.
    """
    shares = share[1]
    index = _Index(base)
    for subject, pairs in subject_groups(triples):
        index.add_group(subject, pairs)
    renderer = Renderer()
    shown = _Shown(index, vocabulary)
    made = {str(site_dir)}
    top = str(site_dir) + "/"
    files = reused = 0
    sums: dict[str, str] = {}
    record = SiteRecord(reuse.setup) if reuse is not None else None
    second, plan = share_plan(triples, index.rests, share)
    for subject, pairs in subject_groups(second):
        rest = index.rests.get(subject)
        if rest is None:
            continue
        name = unquote(rest) if "%" in rest else rest
        does = plan(subject, name)
        if does != WRITE:
            files += 4 if does == REPLACED else 0
            continue
        context = _page_context(subject, rest, pairs, index, shown, sitename)
        stem = top + name
        folder = stem.rpartition("/")[0]
        if folder not in made:
            _make_folder(folder, made)
        files += 4
        entry = None
        if reuse is not None:
            key = entity_key(reuse.setup, context, pairs)
            entry = reuse.link(name, key, stem)
        if entry is not None:
            reused += 1
            shas = entry_sums(entry)
        else:
            turtle = io.StringIO()
            write_turtle([(subject, p, o) for p, o in pairs], turtle, prefixes)
            stamps = [_write(stem + suffix, text) for suffix, text in zip(SUFFIXES, (
                renderer.render("entity.html", context), turtle.getvalue(),
                expanded_jsonld(subject, pairs),
                "".join([f"<{subject}> <{p}> {o} .\n" for p, o in pairs])))]
            shas = [stamp[0] for stamp in stamps]
            if record is not None:
                entry = record_entry(key, stamps)
        for suffix, sha in zip(SUFFIXES, shas):
            sums[name + suffix] = sha
        if record is not None:
            record.entities[name] = entry
    regions = sorted(((iri, index.labels.get(iri, _local_label(iri)), n)
                      for iri, n in index.regions.items()), key=lambda r: (-r[2], r[1], r[0]))
    return SiteSummary(
        pages=len(index.rests), skipped=index.skipped, places_per_region=tuple(regions),
        statements_per_kind=tuple(sorted(index.kinds.items(), key=lambda k: (-k[1], k[0]))),
        classes=tuple(sorted(index.classes.items())),
        places=tuple(sorted(index.places, key=lambda p: (p[1].casefold(), p[0]))),
        files=files, sums=sums, reused=reused, rendered=files // 4 - reused,
        record_file=reuse.pending if record is not None and shares == 1
        and record.save(reuse.pending) else None,
        record=record if shares > 1 else None,
    )


# O_EXCL: a file already there is unlinked first (see _write)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(
    os, "O_BINARY", 0)


def _write(path: str, text: str) -> Stamp:
    """Write a file in UTF-8 with one open and one write (no buffer, no text layer: a big
    site is hundreds of thousands of small files); returns the SHA-256 of its bytes, its size,
    mtime_ns and inode. A file already there (a link to the published release, record.py, or
    the documents of another IRI with the same name) is replaced, never written through."""
    data = text.encode("utf-8")
    try:
        fd = os.open(path, _WRITE_FLAGS, 0o666)
    except FileExistsError:
        os.unlink(path)
        fd = os.open(path, _WRITE_FLAGS, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        done = os.fstat(fd)
    finally:
        os.close(fd)
    return hashlib.sha256(data).hexdigest(), done.st_size, done.st_mtime_ns, done.st_ino


def _make_folder(folder: str, made: set[str]) -> None:
    """Make ``folder`` and the parents not in ``made`` (the folders this pass made or found),
    one mkdir each, no stat."""
    parent = folder.rpartition("/")[0]
    if parent not in made:
        _make_folder(parent, made)
    try:
        os.mkdir(folder)
    except FileExistsError:
        pass
    made.add(folder)


def expanded_jsonld(subject: str, pairs: list[tuple[str, str]]) -> str:
    """The description of one subject in expanded JSON-LD (no context to fetch)."""
    node: dict[str, Any] = {"@id": subject}
    types = [o[1:-1] for p, o in pairs if p == RDF_TYPE]
    if types:
        node["@type"] = types
    for predicate, obj in pairs:
        if predicate == RDF_TYPE:
            continue
        term = parse_object(obj)
        if term.kind == "iri":
            value: dict[str, str] = {"@id": term.value}
        elif term.language:
            value = {"@value": term.value, "@language": term.language}
        elif term.datatype and term.datatype != XSD_STRING:
            value = {"@value": term.value, "@type": term.datatype}
        else:
            value = {"@value": term.value}
        node.setdefault(predicate, []).append(value)
    # compact: the C encoder (indent= would take the pure-Python one, several times slower)
    return json.dumps([node], ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- what a page shows


def _shown(kind: str, text: str, href: str = "", en: str = "", lang: str = "",
           datatype: str = "") -> dict[str, str]:
    return {"kind": kind, "text": text, "href": href, "en": en, "lang": lang,
            "datatype": datatype, "html": _value_html(kind, text, href, en, lang, datatype)}


# The HTML of a value and of a property cell, made here once per IRI (see _Shown) rather than
# by entity.html for every page that shows it: a big site shows the same links hundreds of
# thousands of times. Every text is escaped with markupsafe's ``escape``, the function the
# templates' autoescaping calls, so a value of the wiki is text here as in a template.


def _value_html(kind: str, text: str, href: str, en: str, lang: str, datatype: str) -> Markup:
    if kind == "internal":
        html = f'<a href="{escape(href)}">{escape(text)}</a>'
        if en:
            html += f' <span class="en" lang="en">{escape(en)}</span>'
    elif kind == "external":
        html = f'<a class="ext" href="{escape(href)}" rel="nofollow">{escape(text)}</a>\n'
    elif kind == "literal":
        html = (f'<span class="lit" lang="{escape(lang)}">' if lang else '<span class="lit">') \
            + f"{escape(text)}</span>"
        if datatype:
            html += f' <span class="dt">{escape(datatype)}</span>'
    else:
        html = f"<code>{escape(text)}</code>"
    return Markup(html)


def _values_html(values: list[dict[str, str]]) -> Markup:
    """The cell of a property's values: a list when there are several."""
    if len(values) == 1:
        return values[0]["html"]  # type: ignore[return-value]
    return Markup("<ul>" + "".join([f"<li>{v['html']}</li>" for v in values]) + "</ul>")


def link_for(iri: str, index: _Index, vocabulary: Vocabulary, root: str) -> dict[str, str]:
    """How a page shows an IRI: an internal link, a link to the ontology page, an external
    link (http and https only: no other scheme becomes a link), or text."""
    rest = index.rests.get(iri)
    if rest is not None:
        return _shown("internal", index.labels[iri], root + paths.url_path(rest, "html"))
    fragment = index.fragments.get(iri)
    if fragment is not None and index.base + fragment[0] in index.rests:
        return _shown("internal", index.labels[iri],
                      f"{root}{paths.url_path(fragment[0], 'html')}#item-{fragment[1]}")
    if iri.startswith(TL):
        fr, en = vocabulary.label(iri)
        return _shown("internal", fr, f"{root}{paths.SITE_DIR}/{paths.ONTOLOGY_PAGE}#"
                      f"{iri[len(TL):]}", en=en if en != fr else "")
    if iri.startswith(("http://", "https://")):
        label = vocabulary.labels.get(iri)
        return _shown("external", label[0] if label else iri, iri)
    return _shown("text", iri)


def _value(obj: str, index: _Index, vocabulary: Vocabulary, root: str) -> dict[str, str]:
    term = parse_object(obj)
    if term.kind == "iri":
        return link_for(term.value, index, vocabulary, root)
    datatype = ""
    if term.datatype and term.datatype not in (XSD_STRING,):
        datatype = ("xsd:" + term.datatype[len(XSD):] if term.datatype.startswith(XSD)
                    else term.datatype)
    return _shown("literal", term.value, lang=term.language, datatype=datatype)


def _property(predicate: str, vocabulary: Vocabulary, root: str) -> dict[str, str]:
    fr, en = vocabulary.label(predicate)
    href = (f"{root}{paths.SITE_DIR}/{paths.ONTOLOGY_PAGE}#{predicate[len(TL):]}"
            if predicate.startswith(TL) else predicate)
    html = f'<a href="{escape(href)}">{escape(fr)}</a>'
    if en != fr and en:
        html += f' <span class="en" lang="en">{escape(en)}</span>'
    return {"iri": predicate, "fr": fr, "en": en if en != fr else "", "href": href,
            "html": Markup(html)}


_SHOWN_LIMIT = 100_000


class _Shown:
    """``link_for``, ``_value`` of an IRI and ``_property``, each made once per IRI and
    depth of page: what many pages show (a class, a region, a property) is found once. The
    dicts are shared by the pages, which only read them."""

    def __init__(self, index: _Index, vocabulary: Vocabulary) -> None:
        self.index = index
        self.vocabulary = vocabulary
        self._links: dict[tuple[str, str], dict[str, str]] = {}
        self._properties: dict[tuple[str, str], dict[str, str]] = {}
        self._alternates: dict[str, list[dict[str, str]]] = {}

    def link(self, iri: str, root: str) -> dict[str, str]:
        key = (iri, root)
        found = self._links.get(key)
        if found is None:
            if len(self._links) >= _SHOWN_LIMIT:  # memory stays flat on a big site
                self._links.clear()
            found = self._links[key] = link_for(iri, self.index, self.vocabulary, root)
        return found

    def value(self, obj: str, root: str) -> dict[str, str]:
        if obj[0] == "<" and "\\" not in obj:  # an IRI as written (no escape to decode)
            return self.link(obj[1:-1], root)
        return _value(obj, self.index, self.vocabulary, root)

    def property(self, predicate: str, root: str) -> dict[str, str]:
        key = (predicate, root)
        found = self._properties.get(key)
        if found is None:
            found = self._properties[key] = _property(predicate, self.vocabulary, root)
        return found

    def alternates(self, name: str) -> list[dict[str, str]]:
        found = self._alternates.get(name)
        if found is None:
            found = [{"href": f"./{name}.{ext}", "label": label_,
                      "type": paths.MEDIA_TYPES[ext].split(";")[0]}
                     for ext, label_ in paths.ALTERNATES]
            if len(self._alternates) < 4096:  # names repeat (page numbers, "lead"…)
                self._alternates[name] = found
        return found


def _page_context(subject: str, rest: str, pairs: list[tuple[str, str]], index: _Index,
                  shown: _Shown, sitename: str) -> dict[str, Any]:
    root = paths.root_prefix(rest)
    rows: list[dict[str, Any]] = []
    provenance: list[dict[str, Any]] = []
    for predicate, obj in pairs:
        if predicate == RDF_TYPE:
            continue
        value = shown.value(obj, root)
        if predicate in PROVENANCE:
            provenance.append({"property": shown.property(predicate, root),
                               "value": value})
        if rows and rows[-1]["property"]["iri"] == predicate:
            rows[-1]["values"].append(value)
        else:
            rows.append({"property": shown.property(predicate, root), "values": [value]})
    incoming: list[dict[str, Any]] = []
    for predicate, source in sorted(index.incoming.get(subject, ())):
        value = shown.link(source, root)
        if incoming and incoming[-1]["property"]["iri"] == predicate:
            incoming[-1]["values"].append(value)
        else:
            incoming.append({"property": shown.property(predicate, root),
                             "values": [value]})
    name = rest.rsplit("/", 1)[-1]
    label = index.labels[subject]
    tables = [{"id": "description", "title": "Description", "title_en": "",
               "caption": "Propriétés de " + label, "groups": rows, "more": 0}]
    if provenance:
        tables.insert(0, {"id": "provenance", "title": "Provenance", "title_en": "",
                          "caption": "D’où viennent ces données", "more": 0,
                          "groups": [{"property": p["property"], "values": [p["value"]]}
                                     for p in provenance]})
    if incoming:
        tables.append({
            "id": "incoming", "title": "Ce qui pointe ici", "title_en": "what links here",
            "caption": "Entités qui pointent vers " + label, "groups": incoming,
            "more": index.incoming_count[subject] - sum(len(g["values"]) for g in incoming)})
    # a group is what the template shows of it, the HTML of its property and of its values:
    # the values themselves stay out of the context, whose JSON is the key of the page's
    # documents (record.py), twice as long with them
    for table in tables:
        table["groups"] = [{"property": group["property"]["html"],
                            "html": _values_html(group["values"])} for group in table["groups"]]
    # the list items, one <li> a line (a section of a big wiki can have hundreds)
    items = Markup("".join([
        f'<li id="item-{number}"><span class="lit">{escape(index.labels[iri])}</span> '
        f'<code class="item-iri">{escape(iri)}</code></li>\n'
        for number, iri in sorted(index.items.get(subject, ()))]))
    return {
        "root": root, "iri": subject, "label": label, "sitename": sitename, "items": items,
        "types": [shown.link(t, root) for t in index.types[subject]],
        "tables": tables,
        "alternates": shown.alternates(name),
    }
