"""The walk of one page's node tree: sections, list items, templates, links, annotations.

The walk has two modes:

* *block* mode, for the page body and for the contents of visible tags (``<div>``, table
  cells, ...): headings open sections, list markers open list items, text is the prose of the
  current section or the text of the open item;
* *inline* mode, for everything that is not prose (template parameters, link texts, heading
  titles, footnotes): it only records templates, links, categories and annotations and
  returns plain text.
"""

from __future__ import annotations

import re

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

from tierslieux.model.records import ExternalLink, ListItem, Section, Template, WikiLink
from tierslieux.ontology.shown import ShownTemplates
from tierslieux.pipeline.parse.names import (
    CATEGORY_NS,
    FILE_NS,
    is_interwiki,
    normalise_title,
    template_name,
)
from tierslieux.pipeline.parse.smw import SMW_FUNCTIONS, SMW_OTHER, SmwReader
from tierslieux.pipeline.parse.text import GAP, has_nodes, plain, prose, raw, valid_characters

__all__ = ["Walker"]

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

#: lines starting with a space are a preformatted block: a paragraph of their own
_PREFORMATTED = re.compile(r"(?:\n [^\n]*)+")


def _own_paragraph(match: re.Match[str]) -> str:
    return "\n" + match.group() + "\n\n"


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
            text=plain("".join(self.parts)), parent=self.parent, links=tuple(self.links),
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
            text=prose(self.prose), items=tuple(item.build() for item in self.items),
        )


class Walker:
    """One page's walk; ``sink`` is where text goes: an open ``_Item`` or, for None, the
    prose of the current section."""

    def __init__(self, title: str, skip_redirect_marker: bool, shown: ShownTemplates) -> None:
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
        self.shown = shown
        self.smw = SmwReader(title)
        #: templates called in running text that show nothing (no shown-text rule)
        self.silent: list[str] = []
        #: whether the node being read is in running text (a list item, a heading, a line
        #: of prose with other text on it) rather than alone on its line
        self.running = False

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

        for at, node in enumerate(nodes):
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
                self.running = target is not None or _mid_line(nodes, at)
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
        self.running = True
        section.heading = plain(self.inline(node.title.nodes, None))

    def tag(self, node: Tag, sink: _Item | None) -> None:
        name = str(node.tag).strip().lower()
        if name == "includeonly":
            return
        for attr in node.attributes:
            if attr.value is not None and has_nodes(attr.value):
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
            return self.template(node, item)
        if cls is ExternalLinkNode:
            return self.external_link(node, item)
        if cls is HTMLEntity:
            text = node.normalize()
            if not valid_characters(text):
                # MediaWiki shows such a reference as written; so does the release
                self.bad_entities.setdefault(str(node), None)
                return str(node)
            return text
        if cls is Tag:
            name = str(node.tag).strip().lower()
            if name == "includeonly":
                return ""
            for attr in node.attributes:
                if attr.value is not None and has_nodes(attr.value):
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

    def template(self, node: TemplateNode, item: _Item | None) -> str:
        """Record the call; give the text it shows (GAP when it shows nothing)."""
        written = raw(node.name)
        head = written.strip()
        if head.startswith("#"):
            function = head[1:].partition(":")[0].strip().lower()
            if function in SMW_FUNCTIONS or function in SMW_OTHER:
                return self.smw.function(self, function, node, item)
        name = template_name(written)
        if name:
            self.templates.append(Template(
                name=name,
                params=tuple((str(p.name).strip(), str(p.value).strip()) for p in node.params),
                section=self.cur,
                order=len(self.templates),
            ))
        head_text = self.inline(node.name.nodes, item) if has_nodes(node.name) else head
        rule = self.shown.rule(name) if name else None
        named: dict[str, str] = {}
        positional: list[str] = []
        for param in node.params:
            if param.showkey and has_nodes(param.name):
                self.inline(param.name.nodes, item)
            key = str(param.name).strip()
            if rule is not None and rule.content == key:
                self.block(param.value.nodes, item)  # a layout template: page content
                continue
            text = plain(self.inline(param.value.nodes, item))
            named.setdefault(key, text)
            if not param.showkey:
                positional.append(text)
        if name is None:
            return _magic(head_text)
        if rule is None:
            if self.running:
                self.silent.append(name)
            return GAP
        return rule.show(head.split(":")[-1] if ":" in head else head, named, positional) \
            or GAP

    def wikilink(self, node: Wikilink, item: _Item | None) -> str:
        shown = self.smw.annotation(self, node, item)
        if shown is not None:
            return shown
        written_raw = raw(node.title)
        written = written_raw.replace("_", " ").strip()
        leading_colon = written.startswith(":")
        if leading_colon:
            written = written[1:].lstrip()
        prefix, colon, rest = written.partition(":")
        text_code = node.text
        if colon:
            namespace = prefix.strip().lower()
            if not leading_colon and namespace in CATEGORY_NS:
                category, _ = normalise_title(rest)
                if category:
                    self.categories.setdefault(category, None)
                return ""
            if not leading_colon and namespace in FILE_NS:
                if text_code is not None:
                    self.inline(text_code.nodes, item)  # captions may hold links
                return ""
            if is_interwiki(prefix):
                shown = self.inline(text_code.nodes, item) if text_code is not None else written
                return shown if leading_colon else ""
        text = self.inline(text_code.nodes, item) if text_code is not None else ""
        if not text.replace(GAP, "").strip():
            text = written_raw.strip().lstrip(":")
        target, fragment = normalise_title(written)
        if target:
            self.links.append(WikiLink(target=target, text=plain(text), section=self.cur,
                                       fragment=fragment))
            if item is not None:
                item.links.append(target)
        return text

    def external_link(self, node: ExternalLinkNode, item: _Item | None) -> str:
        url = raw(node.url).strip()
        if has_nodes(node.url):
            self.inline(node.url.nodes, item)
        title = self.inline(node.title.nodes, item) if node.title is not None else ""
        self.external_links.append(ExternalLink(url=url, text=plain(title), section=self.cur))
        if node.brackets:
            return title
        return url




#: magic words that show their argument, transformed
_MAGIC = {
    "FORMATNUM": lambda v: v, "LC": str.lower, "UC": str.upper,
    "LCFIRST": lambda v: v[:1].lower() + v[1:], "UCFIRST": lambda v: v[:1].upper() + v[1:],
}


def _magic(head: str) -> str:
    """What ``{{formatnum:1190}}``, ``{{lc:ABC}}``… show; GAP for other magic words."""
    word, colon, rest = head.partition(":")
    change = _MAGIC.get(word.strip().upper()) if colon else None
    return change(rest.strip()) if change is not None and rest.strip() else GAP


def _mid_line(nodes: list, at: int) -> bool:
    """Whether the node at ``at`` shares its line with other text."""
    if at > 0:
        before = nodes[at - 1]
        if type(before) is not Text or before.value.rpartition("\n")[2].strip():
            return type(before) is not Comment
    if at + 1 < len(nodes):
        after = nodes[at + 1]
        if type(after) is not Text or after.value.partition("\n")[0].strip():
            return type(after) is not Comment
    return False
