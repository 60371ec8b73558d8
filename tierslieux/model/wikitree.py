"""The node tree of a wikitext: mwparserfromhell's tokens built into its nodes, faster.

mwparserfromhell's ``Builder`` makes each node through its public constructor, whose property
setters send every part (a tag's name, a template's name and parameters…) through
``utils.parse_anything``, which imports four modules on each call: about two thirds of the
parse time of a page is spent there, the tokenizer (C) being fast. ``parse_tree`` builds the same
nodes from the same tokens, setting their fields directly, as the setters would with the
already-built ``Wikicode`` values the builder gives them. The fields are the library's
private ones, so this is only used with the version it was written against
(``FAST_VERSION``); with any other, ``parse_tree`` is the library's own parse.
``tests/test_wikitree.py`` checks that both trees are the same, node by node.
"""

from __future__ import annotations

import mwparserfromhell
from mwparserfromhell.nodes import (
    Argument,
    Comment,
    ExternalLink,
    Heading,
    Tag,
    Template,
    Text,
    Wikilink,
)
from mwparserfromhell.nodes.extras import Parameter
from mwparserfromhell.parser import Parser, tokens
from mwparserfromhell.parser.builder import Builder
from mwparserfromhell.parser.errors import ParserError
from mwparserfromhell.smart_list import SmartList
from mwparserfromhell.wikicode import Wikicode

__all__ = ["FAST_VERSION", "parse_tree"]

#: the mwparserfromhell release whose node fields ``_FastBuilder`` sets
FAST_VERSION = "0.7.2"

_new = object.__new__


def _code(nodes: list) -> Wikicode:
    code = _new(Wikicode)
    code._nodes = SmartList(nodes)
    return code


def _text(value: str) -> Text:
    node = _new(Text)
    node._value = value
    return node


_TEXT = tokens.Text


class _FastBuilder(Builder):
    """``Builder`` with the handlers of the common nodes making them field by field, each
    with the list of its own children (the library's keeps a stack of them); the others
    (tag attributes, entities) go through the library's own handlers. A token is a dict
    whose attributes are its keys (``Token.__getattr__`` is ``self.get``): read with ``get``."""

    def build(self, tokenlist: list) -> Wikicode:
        tokenlist.reverse()
        self._tokens = tokenlist
        nodes: list = []
        fast = _FAST
        while tokenlist:
            token = tokenlist.pop()
            handler = fast.get(type(token))
            nodes.append(handler(self, token) if handler is not None
                         else Builder._handle_token(self, token))
        return _code(nodes)

    def _pop(self) -> Wikicode:
        return _code(self._stacks.pop())

    def _handle_token(self, token: object) -> object:
        """A node of any kind (the library's handlers of tag attributes call this)."""
        handler = _FAST.get(type(token))
        if handler is not None:
            return handler(self, token)
        return Builder._handle_token(self, token)

    def _handle_parameter(self, default: int) -> Parameter:
        key = None
        showkey = False
        nodes: list = []
        stack = self._tokens
        fast = _FAST
        while stack:
            token = stack.pop()
            kind = type(token)
            if kind is _TEXT:
                node = _new(Text)
                node._value = token["text"]
                nodes.append(node)
            elif kind is tokens.TemplateParamEquals:
                key = _code(nodes)
                showkey = True
                nodes = []
            elif kind is tokens.TemplateParamSeparator or kind is tokens.TemplateClose:
                stack.append(token)
                value = _code(nodes)
                if key is None:
                    key = _code([_text(str(default))])
                param = _new(Parameter)
                param._name = key
                param._value = value
                param._showkey = showkey
                return param
            else:
                handler = fast.get(kind)
                nodes.append(handler(self, token) if handler is not None
                             else Builder._handle_token(self, token))
        raise ParserError("_handle_parameter() missed a close token")

    def _fast_template(self, token: object) -> Template:
        name = None
        params: list[Parameter] = []
        default = 1
        nodes: list = []
        stack = self._tokens
        fast = _FAST
        while stack:
            token = stack.pop()
            kind = type(token)
            if kind is _TEXT:
                node = _new(Text)
                node._value = token["text"]
                nodes.append(node)
            elif kind is tokens.TemplateParamSeparator:
                if not params:
                    name = _code(nodes)
                param = self._handle_parameter(default)
                params.append(param)
                if not param._showkey:
                    default += 1
            elif kind is tokens.TemplateClose:
                if not params:
                    name = _code(nodes)
                node = _new(Template)
                node._name = name
                node._params = params
                return node
            else:
                handler = fast.get(kind)
                nodes.append(handler(self, token) if handler is not None
                             else Builder._handle_token(self, token))
        raise ParserError("_handle_template() missed a close token")

    def _fast_wikilink(self, token: object) -> Wikilink:
        title = None
        nodes: list = []
        stack = self._tokens
        fast = _FAST
        while stack:
            token = stack.pop()
            kind = type(token)
            if kind is _TEXT:
                node = _new(Text)
                node._value = token["text"]
                nodes.append(node)
            elif kind is tokens.WikilinkSeparator:
                title = _code(nodes)
                nodes = []
            elif kind is tokens.WikilinkClose:
                node = _new(Wikilink)
                if title is not None:
                    node._title, node._text = title, _code(nodes)
                else:
                    node._title, node._text = _code(nodes), None
                return node
            else:
                handler = fast.get(kind)
                nodes.append(handler(self, token) if handler is not None
                             else Builder._handle_token(self, token))
        raise ParserError("_handle_wikilink() missed a close token")

    def _fast_argument(self, token: object) -> Argument:
        name = None
        nodes: list = []
        stack = self._tokens
        fast = _FAST
        while stack:
            token = stack.pop()
            kind = type(token)
            if kind is tokens.ArgumentSeparator:
                name = _code(nodes)
                nodes = []
            elif kind is tokens.ArgumentClose:
                node = _new(Argument)
                if name is not None:
                    node._name, node._default = name, _code(nodes)
                else:
                    node._name, node._default = _code(nodes), None
                return node
            else:
                handler = fast.get(kind)
                nodes.append(handler(self, token) if handler is not None
                             else Builder._handle_token(self, token))
        raise ParserError("_handle_argument() missed a close token")

    def _fast_external_link(self, token: object) -> ExternalLink:
        brackets, url, suppress_space = token.get("brackets"), None, None
        nodes: list = []
        stack = self._tokens
        fast = _FAST
        while stack:
            token = stack.pop()
            kind = type(token)
            if kind is tokens.ExternalLinkSeparator:
                url = _code(nodes)
                suppress_space = token.get("suppress_space")
                nodes = []
            elif kind is tokens.ExternalLinkClose:
                node = _new(ExternalLink)
                if url is not None:
                    node._url, node._title = url, _code(nodes)
                else:
                    node._url, node._title = _code(nodes), None
                node._brackets = bool(brackets)
                node.suppress_space = suppress_space is True  # a plain attribute
                return node
            else:
                handler = fast.get(kind)
                nodes.append(handler(self, token) if handler is not None
                             else Builder._handle_token(self, token))
        raise ParserError("_handle_external_link() missed a close token")

    def _fast_heading(self, token: object) -> Heading:
        level = int(token.get("level"))
        if level < 1 or level > 6:
            raise ValueError(level)
        nodes: list = []
        stack = self._tokens
        fast = _FAST
        while stack:
            token = stack.pop()
            if type(token) is tokens.HeadingEnd:
                node = _new(Heading)
                node._title = _code(nodes)
                node._level = level
                return node
            handler = fast.get(type(token))
            nodes.append(handler(self, token) if handler is not None
                         else Builder._handle_token(self, token))
        raise ParserError("_handle_heading() missed a close token")

    def _fast_comment(self, token: object) -> Comment:
        nodes: list = []
        stack = self._tokens
        fast = _FAST
        while stack:
            token = stack.pop()
            if type(token) is tokens.CommentEnd:
                node = _new(Comment)
                node._contents = str(_code(nodes))
                return node
            handler = fast.get(type(token))
            nodes.append(handler(self, token) if handler is not None
                         else Builder._handle_token(self, token))
        raise ParserError("_handle_comment() missed a close token")

    def _fast_tag(self, token: object) -> Tag:
        tag = None
        padding = None
        implicit, attrs, contents, closing_tag = False, [], None, None
        wiki_markup, invalid = token.get("wiki_markup"), token.get("invalid") or False
        wiki_style_separator, closing_wiki_markup = None, wiki_markup
        nodes: list = []
        stack = self._tokens
        fast = _FAST
        while stack:
            token = stack.pop()
            kind = type(token)
            if kind is _TEXT:
                node = _new(Text)
                node._value = token["text"]
                nodes.append(node)
            elif kind is tokens.TagAttrStart:
                attrs.append(self._handle_attribute(token))
            elif kind is tokens.TagCloseOpen:
                wiki_style_separator = token.get("wiki_markup")
                padding = token.get("padding") or ""
                tag = _code(nodes)
                nodes = []
            elif kind is tokens.TagOpenClose:
                closing_wiki_markup = token.get("wiki_markup")
                contents = _code(nodes)
                nodes = []
            elif kind is tokens.TagCloseSelfclose or kind is tokens.TagCloseClose:
                if kind is tokens.TagCloseSelfclose:
                    closing_wiki_markup = token.get("wiki_markup")
                    tag = _code(nodes)
                    self_closing = True
                    padding = token.get("padding") or ""
                    implicit = token.get("implicit") or False
                else:
                    self_closing = False
                    closing_tag = _code(nodes)
                assert tag is not None
                assert padding is not None
                return _tag(tag, contents, attrs, wiki_markup, self_closing, invalid,
                            implicit, padding, closing_tag, wiki_style_separator,
                            closing_wiki_markup)
            else:
                handler = fast.get(kind)
                nodes.append(handler(self, token) if handler is not None
                             else Builder._handle_token(self, token))
        raise ParserError("_handle_tag() missed a close token")


def _tag(tag: Wikicode, contents: Wikicode | None, attrs: list, wiki_markup: str | None,
         self_closing: bool, invalid: bool, implicit: bool, padding: str,
         closing_tag: Wikicode | None, wiki_style_separator: str | None,
         closing_wiki_markup: str | None) -> Tag:
    """A Tag as ``Tag.__init__`` makes it from these values (its setters in the same order)."""
    node = _new(Tag)
    node._tag = node._closing_tag = tag
    node._contents = contents if contents is not None else _code([])
    node._attrs = attrs if attrs else []
    node._wiki_markup = str(wiki_markup) if wiki_markup else None
    # the wiki_markup setter, the closing one being unset yet, copies it there
    node._closing_wiki_markup = node._wiki_markup
    node._self_closing = bool(self_closing)
    node._invalid = bool(invalid)
    node._implicit = bool(implicit)
    if padding and not str(padding).isspace():
        raise ValueError("padding must be entirely whitespace")
    node._padding = str(padding) if padding else ""
    if closing_tag is not None:
        node._closing_tag = closing_tag
    node._wiki_style_separator = str(wiki_style_separator) if wiki_style_separator else None
    if closing_wiki_markup is not None:
        node._closing_wiki_markup = str(closing_wiki_markup) if closing_wiki_markup else None
    return node


def _text_node(_builder: Builder, token: object) -> Text:
    node = _new(Text)
    node._value = token["text"]
    return node


_FAST = {
    _TEXT: _text_node,
    tokens.TemplateOpen: _FastBuilder._fast_template,
    tokens.WikilinkOpen: _FastBuilder._fast_wikilink,
    tokens.ArgumentOpen: _FastBuilder._fast_argument,
    tokens.ExternalLinkOpen: _FastBuilder._fast_external_link,
    tokens.HeadingStart: _FastBuilder._fast_heading,
    tokens.CommentStart: _FastBuilder._fast_comment,
    tokens.TagOpenOpen: _FastBuilder._fast_tag,
}

_PARSER = Parser()
_FAST_OK = mwparserfromhell.__version__ == FAST_VERSION


def parse_tree(text: str, *, skip_style_tags: bool = True, fast: bool = True) -> Wikicode:
    """The node tree of ``text``, as ``mwparserfromhell.parse`` gives it (``fast=False``, or
    another version of the library: the library's own builder)."""
    if not (fast and _FAST_OK):
        return mwparserfromhell.parse(text, skip_style_tags=skip_style_tags)
    return _FastBuilder().build(_PARSER._tokenizer.tokenize(text, 0, skip_style_tags))
