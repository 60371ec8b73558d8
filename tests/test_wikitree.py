"""model/wikitree.py builds the very tree mwparserfromhell's own builder does, node by node."""

from __future__ import annotations

import random
import re
from pathlib import Path

import mwparserfromhell
import pytest
from mwparserfromhell.wikicode import Wikicode

from tierslieux.model import wikitree as tree
from tierslieux.model.wikitree import FAST_VERSION, parse_tree

HERE = Path(__file__).parent
WIKIPEDIA = HERE / "data" / "wikipedia"
SAMPLE = HERE.parent / "tierslieux" / "sample" / "movilab-sample.xml"

#: every field a node of the library holds (by its public names)
_FIELDS = ("tag", "contents", "attributes", "wiki_markup", "self_closing", "invalid",
           "implicit", "padding", "closing_tag", "wiki_style_separator",
           "closing_wiki_markup", "name", "params", "value", "showkey", "title", "text",
           "url", "brackets", "suppress_space", "level", "default", "named", "hexadecimal",
           "hex_char", "quotes", "pad_first", "pad_before_eq", "pad_after_eq")


def dump(obj: object) -> object:
    """A node tree as nested tuples: each object's class and every field it has."""
    if isinstance(obj, Wikicode):
        assert type(obj.nodes).__name__ == "SmartList"
        return ("Wikicode", tuple(dump(node) for node in obj.nodes))
    if isinstance(obj, list):
        return tuple(dump(item) for item in obj)
    if isinstance(obj, (str, bool, int)) or obj is None:
        return obj
    fields = []
    for name in _FIELDS:
        try:
            value = getattr(obj, name)
        except AttributeError:
            continue
        if callable(value):  # a str method of the node (StringMixIn.title…)
            continue
        fields.append((name, dump(value)))
    return (type(obj).__name__, str(obj), tuple(fields))


def same_tree(text: str) -> None:
    fast = parse_tree(text)
    slow = mwparserfromhell.parse(text, skip_style_tags=True)
    assert str(fast) == str(slow) == text
    assert dump(fast) == dump(slow)


def test_the_fast_builder_is_used_with_its_version() -> None:
    assert tree._FAST_OK == (mwparserfromhell.__version__ == FAST_VERSION)
    if tree._FAST_OK:  # the library's builder would make its nodes through parse_anything
        assert type(parse_tree("{{a|b=c}}").nodes[0]).__name__ == "Template"


_TRICKY = [
    "", "plain text", "{{a}}", "{{a|b|c=d|e}}", "{{a|1=x|y}}", "{{{1}}}", "{{{a|b}}}",
    "[[a]]", "[[a|b]]", "[[a|b|c]]", "[http://x.org]", "[http://x.org label]",
    "http://x.org/free.", "[//x.org y]", "<!-- c -->", "<!-- open", "&amp;", "&#x41;", "&#65;",
    "&bogus;", "== h ==\n", "====== six ======\n", "======= seven =======\n",
    "* a\n** b\n# c\n; d : e\n", "----\n", "<br>", "<br/>", "<br />", "<ref name=\"a\"/>",
    "<ref name=a>x</ref>", "<div class='x' id=\"y\" z>t</div>", "<div\n  a = 'b' >t</div>",
    "{|\n|-\n! h !! i\n|-\n| a || b\n|}", "{| class=\"w\"\n|+ cap\n| x\n|}",
    "<nowiki>[[x]]</nowiki>", "<pre>{{x}}</pre>", "<includeonly>a</includeonly>",
    "<noinclude>b</noinclude>", "''i'' '''b'''", "<b>x</b><i>y</i>", "</div>", "<div>",
    "{{#if: a | [[b]] | {{c|d=[[e|f]]}} }}", "[[Catégorie:X]]", "[[Fichier:a.png|thumb|[[b]]]]",
    "<span style=\"color:{{x}}\">t</span>", "{{a\n|b = c\n|d=\n}}", "[[:fr:x|y]]",
    "<references />", "<gallery>\na.png|b\n</gallery>", "{{a|<ref>x</ref>}}", "a\n b\n c",
]


@pytest.mark.parametrize("text", _TRICKY)
def test_tricky_wikitext(text: str) -> None:
    same_tree(text)


def test_the_bundled_sample_pages() -> None:
    xml = SAMPLE.read_text(encoding="utf-8")
    import html

    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", xml, re.DOTALL)]
    assert len(texts) > 20
    for text in texts:
        same_tree(text)


def test_big_wikipedia_pages() -> None:
    pages = sorted(WIKIPEDIA.glob("*"))
    assert pages
    for path in pages:
        same_tree(path.read_text(encoding="utf-8"))


_BITS = list("[]{}|=*#;:'<>/!-_ \n\nabcé&\"") + [
    "[[", "]]", "{{", "}}", "{{{", "}}}", "{|", "|}", "|-", "||", "<!--", "-->", "<ref>",
    "</ref>", "<nowiki>", "</nowiki>", "<pre>", "</pre>", "<div class=\"a\">", "</div>",
    "<br/>", "&nbsp;", "&#x", "&#", "''", "'''", "\n== T ==\n", "\n* ", "\n#", "\n;",
    "http://e.org", " x=y", "<span a='b'>", "</span>", "\t",
]


def test_random_wikitext() -> None:
    rng = random.Random(1)
    for _ in range(600):
        same_tree("".join(rng.choice(_BITS) for _ in range(rng.randrange(0, 120))))



@pytest.mark.parametrize("text", ["''i'' '''b''' '''''bi'''''", "''open", "a ''b [[c|''d'']]'' e",
                                  "'''x''y'''z''"])
def test_style_tags_parsed_as_tags(text: str) -> None:
    fast = parse_tree(text, skip_style_tags=False)
    slow = mwparserfromhell.parse(text)
    assert str(fast) == text
    assert dump(fast) == dump(slow)
    # an unclosed '' stays text; the others are tags
    assert any(type(n).__name__ == "Tag" for n in slow.nodes) == (text != "''open")
