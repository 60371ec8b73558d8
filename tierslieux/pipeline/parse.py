"""The parse stage: one stored page revision -> its sections, lists, templates and links.

``parse_page`` parses the wikitext once with mwparserfromhell and walks the node tree once.
The walk has two modes:

* *block* mode, for the page body and for the contents of visible tags (``<div>``, table
  cells, ...): headings open sections, list markers open list items, text is the prose of the
  current section or the text of the open item;
* *inline* mode, for everything that is not prose (template parameters, link texts, heading
  titles, footnotes): it only records templates, links and categories and returns plain text.

What the page shows on its own is what counts: ``<includeonly>`` content is skipped (it only
exists when the page is transcluded), ``<noinclude>``/``<onlyinclude>`` are transparent,
footnotes (``<ref>``) and other invisible extension tags give no prose, templates give no text
(their calls are in ``ParsedPage.templates``). Headings and lists inside template parameters
are not sections or list items of the page. Same-page anchors (``[[#Section]]``) are not links.
"""

from __future__ import annotations

import re
from dataclasses import replace

import mwparserfromhell
from mwparserfromhell.nodes import (
    Argument,
    Comment,
    ExternalLink as ExternalLinkNode,
    Heading,
    HTMLEntity,
    Tag,
    Template as TemplateNode,
    Text,
    Wikilink,
)
from mwparserfromhell.wikicode import Wikicode

from tierslieux.errors import ParseError
from tierslieux.model.rdf import clean_text
from tierslieux.model.records import (
    ExternalLink,
    Issue,
    ListItem,
    ParsedPage,
    Section,
    StoredPage,
    Template,
    WikiLink,
)

__all__ = ["parse_page", "normalise_title", "normalise_template_name"]

_CATEGORY_NS = frozenset({"catégorie", "category"})
_FILE_NS = frozenset({"fichier", "file", "image", "média", "media"})
#: interwiki prefixes of the Wikimedia family (compared in lower case); language codes are
#: recognised by shape below
_INTERWIKI = frozenset({
    "w", "wikipedia", "wikt", "wiktionary", "commons", "c", "meta", "m", "mw", "mediawikiwiki",
    "s", "wikisource", "b", "wikibooks", "n", "wikinews", "q", "wikiquote", "v", "wikiversity",
    "voy", "wikivoyage", "species", "wikispecies", "d", "wikidata", "phab", "foundation", "wmf",
})
#: ``[[en:Germany]]``, ``[[zh-yue:...]]``: written in lower case in the source, unlike
#: namespaces and titles, which is what tells them apart from a title with a colon
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*\Z")

#: ``{{NAME}}`` variables (case-sensitive in MediaWiki), English and French spellings
_VARIABLES = frozenset("""
    ! = PAGENAME PAGENAMEE FULLPAGENAME FULLPAGENAMEE BASEPAGENAME ROOTPAGENAME SUBPAGENAME
    TALKPAGENAME NAMESPACE NAMESPACEE NAMESPACENUMBER TALKSPACE SUBJECTSPACE ARTICLESPACE
    SITENAME SERVER SERVERNAME SCRIPTPATH STYLEPATH CONTENTLANGUAGE CONTENTLANG DIRMARK
    CURRENTYEAR CURRENTMONTH CURRENTMONTH1 CURRENTMONTH2 CURRENTMONTHNAME CURRENTMONTHABBREV
    CURRENTDAY CURRENTDAY2 CURRENTDAYNAME CURRENTTIME CURRENTHOUR CURRENTWEEK CURRENTDOW
    CURRENTTIMESTAMP LOCALYEAR LOCALMONTH LOCALMONTHNAME LOCALDAY LOCALDAY2 LOCALDAYNAME
    LOCALTIME LOCALHOUR LOCALWEEK LOCALTIMESTAMP REVISIONID REVISIONDAY REVISIONDAY2
    REVISIONMONTH REVISIONYEAR REVISIONTIMESTAMP REVISIONUSER PAGEID NUMBEROFPAGES
    NUMBEROFARTICLES NUMBEROFFILES NUMBEROFEDITS NUMBEROFUSERS NUMBEROFADMINS
    NUMBEROFACTIVEUSERS NOTOC FORCETOC TOC NOEDITSECTION NEWSECTIONLINK NOGALLERY
    NOMPAGE NOMPAGECOMPLET NOMBASEDEPAGE NOMSOUSPAGE ESPACENOMMAGE NOMSITE
    ANNEEACTUELLE ANNÉEACTUELLE MOISACTUEL JOURACTUEL
""".split())
#: ``{{NAME:...}}`` magic words and parser functions without ``#`` (compared in upper case)
_FUNCTIONS = frozenset("""
    DEFAULTSORT DEFAULTSORTKEY DEFAULTCATEGORYSORT DISPLAYTITLE CLEFDETRI CLÉDETRI TRIDÉFAUT
    AFFICHERTITRE TITREAFFICHÉ LC UC LCFIRST UCFIRST URLENCODE ANCHORENCODE FULLURL FULLURLE
    LOCALURL LOCALURLE CANONICALURL CANONICALURLE FILEPATH NS NSE INT FORMATNUM PADLEFT
    PADRIGHT PLURAL GRAMMAR GENDER BIDI TAG LANGUAGE SPECIAL SPECIALE PAGESINCATEGORY
    PAGESINCAT PAGESIZE PROTECTIONLEVEL NUMBERINGROUP FORMATDATE DATEFORMAT
    PAGENAME PAGENAMEE FULLPAGENAME FULLPAGENAMEE BASEPAGENAME ROOTPAGENAME SUBPAGENAME
    TALKPAGENAME NAMESPACE NAMESPACEE NAMESPACENUMBER TALKSPACE SUBJECTSPACE NOMPAGE
""".split())
#: transclusion modifiers: ``{{subst:X}}`` still names the template X
_MODIFIERS = frozenset({"SUBST", "SAFESUBST", "MSG", "MSGNW", "RAW"})
_TEMPLATE_NS = frozenset({"modèle", "template"})

#: extension tags whose content is not prose (footnotes, formulas, galleries, data)
_INVISIBLE = frozenset({
    "ref", "references", "gallery", "math", "chem", "ce", "timeline", "score", "templatedata",
    "graph", "imagemap", "inputbox", "categorytree", "section", "hiero", "mapframe", "maplink",
    "indicator", "style", "script",
})
#: tags whose boundaries break paragraphs
_BLOCK = frozenset({
    "div", "p", "table", "tr", "td", "th", "caption", "blockquote", "center", "ul", "ol", "li",
    "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre", "poem", "tbody", "thead",
    "tfoot", "figure", "figcaption", "section", "syntaxhighlight", "source",
})
_LIST_MARKERS = frozenset({"*", "#", ";", ":"})
_LIST_TAGS = frozenset({"li", "dt", "dd"})

_REDIRECT = re.compile(r"\A\s*#\s*REDIRECT(?:ION)?\s*:?\s*\[\[([^\[\]|\n]*)", re.IGNORECASE)
_STYLE = re.compile(r"'{2,}")
_PARAGRAPH = re.compile(r"\n\s*\n")
#: lines starting with a space are a preformatted block: a paragraph of their own
_PREFORMATTED = re.compile(r"(?:\n [^\n]*)+")
_NON_WIKITEXT = frozenset({"css", "sanitized-css", "javascript", "json", "Scribunto", "text"})


# --------------------------------------------------------------------------- names


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def normalise_title(raw: str) -> tuple[str, str]:
    """``(title, fragment)`` of a link target the way MediaWiki resolves it.

    ``_`` becomes a space, whitespace is collapsed, a leading ``:`` is dropped, the
    fragment after ``#`` is split off and the first letter is upper-cased.
    """
    text = _collapse(raw.replace("_", " "))
    if text.startswith(":"):
        text = text[1:].lstrip()
    title, _, fragment = text.partition("#")
    return _upper_first(title.rstrip()), fragment.strip()


def normalise_template_name(raw: str) -> str:
    """Template name as MediaWiki resolves it: no ``Modèle:``/``Template:`` prefix,
    ``_`` as space, whitespace collapsed, first letter upper-case."""
    name = _collapse(raw.replace("_", " "))
    prefix, colon, rest = name.partition(":")
    if colon and prefix.strip().lower() in _TEMPLATE_NS:
        name = rest.strip()
    return _upper_first(name)


def _template_name(raw: str) -> str | None:
    """The normalised template name of a ``{{...}}`` call, or None for a parser function
    or a magic word."""
    name = raw.strip()
    while True:
        if not name or name.startswith("#"):
            return None
        prefix, colon, rest = name.partition(":")
        if not colon:
            return None if name in _VARIABLES else normalise_template_name(name)
        word = prefix.strip().upper()
        if word in _MODIFIERS:
            name = rest.strip()
            continue
        if word in _FUNCTIONS:
            return None
        return normalise_template_name(name)


def _strip_style(text: str) -> str:
    """Remove ``''``/``'''`` markup left in text by ``skip_style_tags``."""
    if "''" not in text:
        return text
    return _STYLE.sub(_style_run, text)


def _style_run(match: re.Match[str]) -> str:
    n = len(match.group())
    if n in (2, 3, 5):
        return ""
    # MediaWiki reads 4 as an apostrophe + bold, more than 5 as apostrophes + bold italic
    return "'" if n == 4 else "'" * (n - 5)


def _plain(text: str) -> str:
    return _collapse(_strip_style(text))


def _own_paragraph(match: re.Match[str]) -> str:
    return "\n" + match.group() + "\n\n"


def _prose(parts: list[str]) -> str:
    text = _strip_style("".join(parts))
    paragraphs = (_collapse(p) for p in _PARAGRAPH.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def _raw(code: Wikicode) -> str:
    """Source of ``code`` without its comments."""
    nodes = code.nodes
    if len(nodes) == 1 and type(nodes[0]) is Text:
        return nodes[0].value
    return "".join(str(n) for n in nodes if type(n) is not Comment)


def _has_nodes(code: Wikicode) -> bool:
    """Whether ``code`` holds more than plain text (templates, links... to record)."""
    nodes = code.nodes
    return len(nodes) > 1 or (len(nodes) == 1 and type(nodes[0]) is not Text)


def _is_interwiki(prefix: str) -> bool:
    prefix = prefix.strip()
    return bool(_LANGUAGE.match(prefix)) or prefix.lower() in _INTERWIKI


# --------------------------------------------------------------------------- builders


class _Item:
    __slots__ = ("index", "section", "marker", "parts", "links", "parent", "started")

    def __init__(self, index: int, section: int, marker: str) -> None:
        self.index = index
        self.section = section
        self.marker = marker
        self.parts: list[str] = []
        self.links: list[str] = []
        self.parent: int | None = None
        self.started = False  # True once the first non-marker node was seen

    def build(self) -> ListItem:
        return ListItem(
            index=self.index, depth=len(self.marker), marker=self.marker,
            text=_plain("".join(self.parts)), parent=self.parent, links=tuple(self.links),
        )


class _Section:
    __slots__ = ("index", "level", "heading", "parent", "prose", "items")

    def __init__(self, index: int, level: int, parent: int | None) -> None:
        self.index = index
        self.level = level
        self.heading = ""
        self.parent = parent
        self.prose: list[str] = []
        self.items: list[_Item] = []

    def build(self) -> Section:
        return Section(
            index=self.index, level=self.level, heading=self.heading, parent=self.parent,
            text=_prose(self.prose), items=tuple(item.build() for item in self.items),
        )


class _Walker:
    """One page's walk; ``sink`` is where text goes: an open ``_Item`` or, for None, the
    prose of the current section."""

    def __init__(self, skip_redirect_marker: bool) -> None:
        self.sections = [_Section(0, 0, None)]
        self.cur = 0
        self.levels: list[tuple[int, int]] = [(0, 0)]  # (level, index) of open sections
        self.templates: list[Template] = []
        self.links: list[WikiLink] = []
        self.categories: dict[str, None] = {}
        self.external_links: list[ExternalLink] = []
        self.skip_redirect_marker = skip_redirect_marker
        #: character references MediaWiki does not expand (``&#xD800;``), as written
        self.bad_entities: dict[str, None] = {}

    # ----------------------------------------------------------------- block mode

    def emit(self, sink: _Item | None, text: str) -> None:
        if sink is None:
            self.sections[self.cur].prose.append(text)
        else:
            sink.parts.append(text)

    def emit_text(self, sink: _Item | None, value: str) -> None:
        if sink is None and "\n " in value:
            value = _PREFORMATTED.sub(_own_paragraph, value)
        self.emit(sink, value)

    def block(self, nodes: list, sink: _Item | None) -> None:
        item: _Item | None = None  # the item open in this container
        stack: list[tuple[int, int, int]] = []  # (depth, index, section) of the current list

        def close(it: _Item) -> None:
            if it.index < 0:  # the "#REDIRECT" line
                return
            if stack and stack[-1][2] != it.section:
                stack.clear()  # a heading in a nested tag ended the section under the list
            depth = len(it.marker)
            while stack and stack[-1][0] >= depth:
                stack.pop()
            it.parent = stack[-1][1] if stack else None
            stack.append((depth, it.index, it.section))

        for node in nodes:
            cls = type(node)
            if cls is Text:
                value = node.value
                if item is None:
                    if stack and value:
                        stack.clear()  # a line that is not a list item ends the list
                    self.emit_text(sink, value)
                    continue
                item.started = True
                newline = value.find("\n")
                if newline < 0:
                    item.parts.append(value)
                    continue
                item.parts.append(value[:newline])
                close(item)
                item = None
                rest = value[newline:]
                if len(rest) > 1:
                    stack.clear()
                self.emit_text(sink, rest)
            elif cls is Tag:
                markup = node.wiki_markup
                if markup in _LIST_MARKERS and str(node.tag) in _LIST_TAGS:
                    if item is not None and not item.started:
                        item.marker += markup
                        continue
                    if item is not None and markup == ":":
                        item.parts.append(" : ")  # ";term : definition" on one line
                        continue
                    if item is not None:
                        close(item)
                    item = self.open_item(markup)
                    continue
                if item is not None:
                    item.started = True
                    self.tag(node, item)
                else:
                    if stack:
                        stack.clear()
                    self.tag(node, sink)
            elif cls is Heading:
                if item is not None:
                    close(item)
                    item = None
                stack.clear()
                self.heading(node)
            elif cls is Comment:
                continue
            else:
                target = item if item is not None else sink
                if item is not None:
                    item.started = True
                elif stack:
                    stack.clear()
                self.emit(target, self.inline_node(node, target))
        if item is not None:
            close(item)

    def open_item(self, markup: str) -> _Item:
        section = self.sections[self.cur]
        if self.skip_redirect_marker:
            self.skip_redirect_marker = False
            if markup == "#" and self.cur == 0 and not section.items \
                    and not "".join(section.prose).strip():
                return _Item(-1, 0, markup)  # detached: its text and position are dropped
        item = _Item(len(section.items), self.cur, markup)
        section.items.append(item)
        return item

    def heading(self, node: Heading) -> None:
        level = node.level
        while self.levels[-1][0] >= level:
            self.levels.pop()
        section = _Section(len(self.sections), level, self.levels[-1][1])
        self.sections.append(section)
        self.levels.append((level, section.index))
        self.cur = section.index
        section.heading = _plain(self.inline(node.title.nodes, None))

    def tag(self, node: Tag, sink: _Item | None) -> None:
        name = str(node.tag).strip().lower()
        if name == "includeonly":
            return
        for attr in node.attributes:
            if attr.value is not None and _has_nodes(attr.value):
                self.inline(attr.value.nodes, sink)
        contents = node.contents
        if name in _INVISIBLE:
            if contents is not None:
                self.inline(contents.nodes, sink)
            return
        if name == "br":
            self.emit(sink, "\n")
            return
        brk = name in _BLOCK
        if brk:
            self.emit(sink, "\n\n" if sink is None else " ")
        if contents is not None:
            self.block(contents.nodes, sink)
        if brk:
            self.emit(sink, "\n\n" if sink is None else " ")

    # ----------------------------------------------------------------- inline mode

    def inline(self, nodes: list, item: _Item | None) -> str:
        parts = []
        for node in nodes:
            if type(node) is Text:
                parts.append(node.value)
            else:
                parts.append(self.inline_node(node, item))
        return "".join(parts)

    def inline_node(self, node: object, item: _Item | None) -> str:
        cls = type(node)
        if cls is Text:
            return node.value
        if cls is Wikilink:
            return self.wikilink(node, item)
        if cls is TemplateNode:
            self.template(node, item)
            return ""
        if cls is ExternalLinkNode:
            return self.external_link(node, item)
        if cls is HTMLEntity:
            text = node.normalize()
            if not _valid_characters(text):
                # MediaWiki shows such a reference as written; so does the release
                self.bad_entities.setdefault(str(node), None)
                return str(node)
            return text
        if cls is Tag:
            name = str(node.tag).strip().lower()
            if name == "includeonly":
                return ""
            for attr in node.attributes:
                if attr.value is not None and _has_nodes(attr.value):
                    self.inline(attr.value.nodes, item)
            if node.contents is None:
                return " " if name in ("br", "hr", "li", "dt", "dd") else ""
            text = self.inline(node.contents.nodes, item)
            return "" if name in _INVISIBLE else text
        if cls is Heading:
            return self.inline(node.title.nodes, item)
        if cls is Argument:
            self.inline(node.name.nodes, item)
            if node.default is not None:
                self.inline(node.default.nodes, item)
            return ""
        return ""  # Comment

    def template(self, node: TemplateNode, item: _Item | None) -> None:
        name = _template_name(_raw(node.name))
        if name:
            self.templates.append(Template(
                name=name,
                params=tuple((str(p.name).strip(), str(p.value).strip()) for p in node.params),
                section=self.cur,
                order=len(self.templates),
            ))
        if _has_nodes(node.name):
            self.inline(node.name.nodes, item)
        for param in node.params:
            if param.showkey and _has_nodes(param.name):
                self.inline(param.name.nodes, item)
            self.inline(param.value.nodes, item)

    def wikilink(self, node: Wikilink, item: _Item | None) -> str:
        raw = _raw(node.title)
        written = raw.replace("_", " ").strip()
        leading_colon = written.startswith(":")
        if leading_colon:
            written = written[1:].lstrip()
        prefix, colon, rest = written.partition(":")
        text_code = node.text
        if colon:
            namespace = prefix.strip().lower()
            if not leading_colon and namespace in _CATEGORY_NS:
                category, _ = normalise_title(rest)
                if category:
                    self.categories.setdefault(category, None)
                return ""
            if not leading_colon and namespace in _FILE_NS:
                if text_code is not None:
                    self.inline(text_code.nodes, item)  # captions may hold links
                return ""
            if _is_interwiki(prefix):
                shown = self.inline(text_code.nodes, item) if text_code is not None else written
                return shown if leading_colon else ""
        text = self.inline(text_code.nodes, item) if text_code is not None else ""
        if not text.strip():
            text = raw.strip().lstrip(":")
        target, fragment = normalise_title(written)
        if target:
            self.links.append(WikiLink(target=target, text=_plain(text), section=self.cur,
                                       fragment=fragment))
            if item is not None:
                item.links.append(target)
        return text

    def external_link(self, node: ExternalLinkNode, item: _Item | None) -> str:
        url = _raw(node.url).strip()
        if _has_nodes(node.url):
            self.inline(node.url.nodes, item)
        title = self.inline(node.title.nodes, item) if node.title is not None else ""
        self.external_links.append(ExternalLink(url=url, text=_plain(title), section=self.cur))
        if node.brackets:
            return title
        return url


# --------------------------------------------------------------------------- stage


def _valid_characters(text: str) -> bool:
    """Whether MediaWiki expands a character reference to ``text`` (Sanitizer::
    validateCodepoint): no lone surrogate, no control character but tab and newlines, no
    U+FFFE/U+FFFF."""
    return all(ch in "\t\n\r" or "\x20" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd"
               or ch >= "\U00010000" for ch in text)


def _clean_page(page: StoredPage) -> tuple[StoredPage, list[Issue]]:
    """The page with lone surrogates (which no output can hold) replaced by U+FFFD, in its
    text and its names; one warning per field that held some."""
    revision = page.revision
    issues = []
    changes = {}
    for name in ("title", "text", "redirect", "contributor"):
        value = getattr(revision, name)
        if value is None:
            continue
        cleaned, count = clean_text(value)
        if count:
            changes[name] = cleaned
            issues.append(Issue(clean_text(revision.title)[0], "warning", "page",
                                cleaned[:200], "",
                                f"{count} lone surrogate(s) in the page's {name} "
                                "replaced by U+FFFD"))
    names = {"contributors": revision.contributors, "alt_titles": page.alt_titles}
    cleaned_names = {name: tuple(clean_text(v)[0] for v in values)
                     for name, values in names.items()}
    if not changes and cleaned_names == names and clean_text(page.key)[1] == 0:
        return page, issues
    if cleaned_names != names:
        issues.append(Issue(clean_text(revision.title)[0], "warning", "page", "", "",
                            "lone surrogate(s) in the page's contributors or former titles "
                            "replaced by U+FFFD"))
    changes["contributors"] = cleaned_names["contributors"]
    return replace(page, revision=replace(revision, **changes), key=clean_text(page.key)[0],
                   alt_titles=cleaned_names["alt_titles"]), issues


def _redirect_target(raw: str | None) -> str | None:
    if not raw:
        return None
    target, _ = normalise_title(raw)
    return target or None


def parse_page(page: StoredPage, *, style_tags: bool = False) -> ParsedPage:
    """Sections, list items, templates, links and categories of one stored page.

    Bold and italic markup is left as text (mwparserfromhell's ``skip_style_tags``, about 2.7
    times faster) and removed from the texts; ``style_tags=True`` parses it as tags (the
    parser's default, used by the benchmark's naive reference).

    Raises ParseError (with the page title and the reason) if the wikitext cannot be
    parsed; the caller reports the page and goes on with the others.
    """
    page, issues = _clean_page(page)
    revision = page.revision
    try:
        text = revision.text
        match = _REDIRECT.match(text)
        redirect = _redirect_target(match.group(1) if match else revision.redirect)
        walker = _Walker(skip_redirect_marker=match is not None)
        if revision.model not in _NON_WIKITEXT:
            code = mwparserfromhell.parse(text, skip_style_tags=not style_tags)
            walker.block(code.nodes, None)
        return ParsedPage(
            page=page,
            sections=tuple(section.build() for section in walker.sections),
            templates=tuple(walker.templates),
            links=tuple(walker.links),
            categories=tuple(walker.categories),
            external_links=tuple(walker.external_links),
            redirect=redirect,
            issues=tuple(issues) + tuple(
                Issue(revision.title, "warning", "page", entity, entity,
                      "character reference of no valid character: kept as written, "
                      "as the wiki shows it")
                for entity in walker.bad_entities),
        )
    except Exception as exc:  # mwparserfromhell or odd input must not stop a whole run
        reason = _collapse(f"{type(exc).__name__}: {exc}")
        raise ParseError(revision.title, reason) from exc
