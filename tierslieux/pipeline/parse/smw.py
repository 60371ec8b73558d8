"""Semantic MediaWiki markup, read from the wikitext alone (the extension need not run).

* ``[[P::V]]`` annotates the page with property P, value V, and shows "V";
  ``[[P::V|shown]]`` shows "shown", ``[[P::V|]]`` shows nothing, ``[[P1::P2::V]]`` gives V to
  both properties; ``[[:P::V]]`` is SMW's way to write a plain link and stays one.
* ``{{#set: |P=V |P2=V1,V2 |+sep=,}}`` annotates the page (``+sep`` splits every value of the
  call), ``{{#subobject: name |P=V}}`` makes a subobject (anonymous when the name is empty:
  its key is then a digest of its content); neither shows text.
* ``{{#ask: …}}`` / ``{{#show: …}}`` are recorded as queries (condition, printouts,
  parameters), not evaluated: they show nothing here, and say so as an "info" issue.
* Other SMW parser functions (``#declare``, ``#concept``…) are reported, not read.

Malformed markup (``[[::V]]``, ``[[P::]]``, an unclosed ``{{#set:``, a subobject name given
twice on the page, a ``#set`` parameter without ``=``) is reported as a warning with the
page, and kept as the text it was written as.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from mwparserfromhell.nodes import Template as TemplateNode, Wikilink

from tierslieux.model.records import Annotation, Issue, Query, Subobject
from tierslieux.pipeline.parse.names import collapse
from tierslieux.pipeline.parse.text import GAP, plain, raw

if TYPE_CHECKING:
    from tierslieux.pipeline.parse.walker import Walker

__all__ = ["SmwReader", "SMW_FUNCTIONS", "property_name"]

#: the parser functions read here
SMW_FUNCTIONS = frozenset({"set", "subobject", "ask", "show"})
#: other parser functions of Semantic MediaWiki: reported as not read
#: the issue field of a recorded query (an "info" note: the build counts them for the console)
SMW_QUERY_FIELD = "smw:query"
SMW_OTHER = frozenset({"set_recurring_event", "declare", "concept", "smwdoc", "info"})
#: parameters of #set / #subobject that shape the call, not properties
_CONTROL = frozenset({"+sep", "+index", "+order", "+strict", "@sortkey", "@category",
                      "@linkwith", "@json"})
#: what an unclosed SMW call looks like once the parser gave up on it: plain text
_UNCLOSED = re.compile(r"\{\{\s*#(set|subobject|ask|show)\s*[:|]|\[\[([^\[\]\n|]*)::",
                       re.IGNORECASE)
_LINK_SEP = "::"
#: tags whose text is shown as written
_LITERAL = frozenset({"nowiki", "pre", "syntaxhighlight", "source", "code", "tt", "kbd"})
#: mwparserfromhell gives up on a call whose name holds a link (``{{#ask: [[Category:X]]
#: |…}}``) and keeps it as text; written ``{{#ask| [[Category:X]] |…}}`` it is a call whose
#: first argument holds the link. ``protect`` writes the calls so before the parse,
#: ``restore_text`` puts the colon back in what stays text (``<nowiki>``, unclosed calls).
_CALL = re.compile(r"\{\{(\s*#(?:set|subobject|ask|show)\s*):", re.IGNORECASE)
_PROTECTED = re.compile(r"\{\{(\s*#(?:set|subobject|ask|show)\s*)\|", re.IGNORECASE)


def protect(text: str) -> str:
    """The wikitext with the SMW calls written so that the parser reads them as calls."""
    return _CALL.sub(r"{{\1|", text) if "{{" in text else text


def restore_text(code: Any) -> None:
    """Put back the colons ``protect`` replaced in what the parse kept as text."""
    for node in code.ifilter_text(recursive=True):
        if "{{" in node.value:
            node.value = _PROTECTED.sub(r"{{\1:", node.value)


def source(node: TemplateNode) -> str:
    """A protected call as it was written."""
    text = str(node)
    name = str(node.name)
    if text[2 + len(name):3 + len(name)] == "|":
        return "{{" + name + ":" + text[3 + len(name):]
    return text


def property_name(raw_name: str) -> str:
    """A property name as SMW resolves it: ``_`` as space, whitespace collapsed, first
    letter upper-case."""
    name = collapse(raw_name.replace("_", " "))
    return name[:1].upper() + name[1:]


class SmwReader:
    """The SMW markup of one page, gathered during its walk."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.annotations: list[Annotation] = []
        self.subobjects: list[Subobject] = []
        self.queries: list[Query] = []
        self.issues: list[Issue] = []
        self._names: set[str] = set()

    def _warn(self, field: str, original: str, message: str, severity: str = "warning"
              ) -> None:
        self.issues.append(Issue(self.title, severity, field, original[:200], original[:200],
                                 message))

    # ----------------------------------------------------------------- [[P::V]]

    def annotation(self, walker: Walker, node: Wikilink, item: Any) -> str | None:
        """The shown text of an annotation link, or None when ``node`` is not one."""
        written = raw(node.title).lstrip()
        if _LINK_SEP not in written or (written.startswith(":") and
                                        not written.startswith(_LINK_SEP)):
            return None
        full = walker.inline(node.title.nodes, item)
        *names, value = full.split(_LINK_SEP)
        properties = [property_name(n) for n in names]
        value = plain(value)
        if not all(properties) or not value:
            what = "property" if not all(properties) else "value"
            self._warn("smw:annotation", str(node),
                       f"annotation without {what}: kept as written, not as data")
            return str(node)
        for prop in properties:
            self.annotations.append(Annotation(prop, value, walker.cur))
        if node.text is None:
            return value
        shown = walker.inline(node.text.nodes, item)
        return shown if shown.strip() else GAP

    # ----------------------------------------------------------------- {{#…:}}

    def function(self, walker: Walker, name: str, node: TemplateNode, item: Any) -> str:
        """Read one SMW parser function call (``name`` in lower case, without ``#``)."""
        written = source(node)
        if name in SMW_OTHER:
            self._warn("smw:function", written,
                       f"Semantic MediaWiki function #{name} is not read (kept in the "
                       "source only)")
            return GAP
        name_text = raw(node.name)
        first = name_text.split(":", 1)[1] if ":" in name_text else ""
        params = list(node.params)
        if not first and params and not params[0].showkey:
            first = raw(params.pop(0).value)  # the protected form: the first argument
        if name in ("ask", "show"):
            self._query(walker, name, first, params, written)
            return GAP
        args = self._args(walker, first, params, item)
        if name == "set" and first.strip() and "=" not in first:
            args.insert(0, (None, plain(first)))
        if name == "set":
            self.annotations.extend(self._values(walker, args, written))
        else:
            self._subobject(walker, first, args, written)
        return GAP

    def _args(self, walker: Walker, first: str, params: list, item: Any
              ) -> list[tuple[str | None, str]]:
        """(name or None for a positional argument, plain value) of the call's arguments;
        the first comes from the name (``{{#set:P=V|…}}``)."""
        args: list[tuple[str | None, str]] = []
        if first.strip() and "=" in first:
            key, _, value = first.partition("=")
            args.append((key.strip(), plain(value)))
        for param in params:
            value = plain(walker.inline(param.value.nodes, item))
            args.append((str(param.name).strip() if param.showkey else None, value))
        return args

    def _values(self, walker: Walker, args: list[tuple[str | None, str]], written: str
                ) -> list[Annotation]:
        sep = next((v for k, v in args if k == "+sep"), None)
        found = []
        for key, value in args:
            if key is None:
                if value:
                    self._warn("smw:set", written,
                               f"parameter {value!r} without '=': not read as data")
                continue
            if key.lower() in _CONTROL:
                continue
            if key.startswith(("+", "@")):
                self._warn("smw:set", written, f"parameter {key!r} is not read")
                continue
            prop = property_name(key)
            values = value.split(sep) if sep else [value]
            for one in values:
                one = one.strip()
                if prop and one:  # an empty value sets nothing, as in SMW
                    found.append(Annotation(prop, one, walker.cur))
        return found

    def _subobject(self, walker: Walker, first: str, args: list[tuple[str | None, str]],
                   written: str) -> None:
        # {{#subobject:P=V|…}} is anonymous, its first argument a value
        name = "" if "=" in first else collapse(first)
        annotations = self._values(walker, args, written)
        if name:
            key = name
        else:
            content = "\n".join(f"{a.property}={a.value}" for a in annotations)
            key = "_" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]
        if key in self._names:
            self._warn("smw:subobject", written,
                       f"subobject {key!r} given twice on the page: this one is not an "
                       "entity (its source kept here)")
            return
        self._names.add(key)
        self.subobjects.append(Subobject(
            name=name, key=key, section=walker.cur,
            annotations=tuple(Annotation(a.property, a.value, a.section, key)
                              for a in annotations)))

    def _query(self, walker: Walker, name: str, first: str, params: list, written: str
               ) -> None:
        conditions = [first]
        printouts = []
        options = []
        for param in params:
            key = str(param.name).strip()
            value = collapse(raw(param.value))
            if not param.showkey:
                if value.startswith("?"):
                    printouts.append(value)
                elif value:
                    conditions.append(value)
            elif key.startswith("?"):
                printouts.append(f"{collapse(key)}={value}")
            else:
                options.append((collapse(key), value))
        query = collapse(" ".join(conditions))
        self.queries.append(Query(function=name, query=query, printouts=tuple(printouts),
                                  params=tuple(options), section=walker.cur))
        self._warn(SMW_QUERY_FIELD, written,
                   f"#{name} query recorded, not evaluated: its results are not in the "
                   "release", severity="info")

    # ----------------------------------------------------------------- left as text

    def unclosed(self, code: Any) -> None:
        """Report SMW calls the wikitext never closes (the parser kept them as text), outside
        ``<nowiki>``, ``<pre>`` and the like, where such text is an example."""
        quoted = {id(text) for tag in code.ifilter_tags(recursive=True)
                  if str(tag.tag).strip().lower() in _LITERAL and tag.contents is not None
                  for text in tag.contents.ifilter_text(recursive=True)}
        for node in code.ifilter_text(recursive=True):
            if id(node) not in quoted:
                self._unclosed(node.value)

    def _unclosed(self, text: str) -> None:
        """Report SMW calls the wikitext never closes (the parser kept them as text)."""
        for match in _UNCLOSED.finditer(text):
            excerpt = text[match.start():match.start() + 80].partition("\n")[0]
            if match.group(1):
                self._warn("smw:function", excerpt,
                           f"#{match.group(1).lower()} call never closed: kept as text")
            else:
                self._warn("smw:annotation", excerpt, "annotation never closed: kept as text")

    @staticmethod
    def may_be_unclosed(text: str) -> bool:
        return _UNCLOSED.search(text) is not None

