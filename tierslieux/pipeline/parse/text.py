"""Plain text out of the walk: markup removed, whitespace collapsed, no markup debris.

Plain text out of the walk: bold/italic markup removed, whitespace collapsed, paragraphs,
and the tidying that keeps no markup debris where a template or an annotation gave no text."""

from __future__ import annotations

import re

from mwparserfromhell.nodes import Comment, Text
from mwparserfromhell.wikicode import Wikicode

from tierslieux.pipeline.parse.names import collapse

__all__ = ["GAP", "plain", "prose", "raw", "has_nodes", "strip_style", "valid_characters"]

#: what a call that shows nothing leaves in the text while it is built: it keeps the
#: apostrophes on its two sides apart (``''{{x}}''`` is an empty italic, not an apostrophe
#: and bold) and is removed with what it leaves empty (``()``) before the text is published.
#: NUL never reaches here from a wiki (XML cannot hold it; MediaWiki strips it from edits).
GAP = "\x00"

_STYLE = re.compile(r"'{2,}")
_PARAGRAPH = re.compile(r"\n\s*\n")
#: brackets left empty by calls that showed nothing: ``( )``, ``(, )``, ``[ ]``
_EMPTY_BRACKETS = re.compile(r"[ \t]*\((?:[ \t,;]*\x00)+[ \t,;]*\)"
                             r"|[ \t]*\[(?:[ \t,;]*\x00)+[ \t,;]*\]")


def strip_style(text: str) -> str:
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


def _tidy(text: str) -> str:
    """The text without the gaps of calls that showed nothing, nor the brackets they left
    empty."""
    if GAP not in text:
        return text
    text = _EMPTY_BRACKETS.sub("", text)
    return text.replace(GAP, "")


def plain(text: str) -> str:
    return collapse(_tidy(strip_style(text)))


def prose(parts: list[str]) -> str:
    text = _tidy(strip_style("".join(parts)))
    paragraphs = (collapse(p) for p in _PARAGRAPH.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def raw(code: Wikicode) -> str:
    """Source of ``code`` without its comments."""
    nodes = code.nodes
    if len(nodes) == 1 and type(nodes[0]) is Text:
        return nodes[0].value
    return "".join(str(n) for n in nodes if type(n) is not Comment)


def has_nodes(code: Wikicode) -> bool:
    """Whether ``code`` holds more than plain text (templates, links... to record)."""
    nodes = code.nodes
    return len(nodes) > 1 or (len(nodes) == 1 and type(nodes[0]) is not Text)


def valid_characters(text: str) -> bool:
    """Whether MediaWiki expands a character reference to ``text`` (Sanitizer::
    validateCodepoint): no lone surrogate, no control character but tab and newlines, no
    U+FFFE/U+FFFF."""
    return all(ch in "\t\n\r" or "\x20" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd"
               or ch >= "\U00010000" for ch in text)
