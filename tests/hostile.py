"""Hostile pages and dumps for the reliability tests: the cases of issue 17, a generator of
hostile wikitext (hypothesis strategies), and a helper that runs the real CLI on a dump.

Every case here once made a build refuse the whole release, crash, or lose a page.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from exportxml import Page, Rev
from tierslieux.cli import cli

#: a page every hostile dump also holds: it must reach the release whatever the others hold
GOOD_TITLE = "Page ordinaire"
GOOD_TEXT = "Une page ordinaire.\n== Une section ==\nDu texte bien sage.\n* un élément"

#: external links that are not RFC 3987 IRIs (issue 17: each refused the whole release):
#: name -> (wikitext, the address the parser finds in it)
BAD_LINKS = {
    "userinfo-at": ("[http://@@ x]", "http://@@"),
    "bad-percent": ("[http://a%zz x]", "http://a%zz"),
    "javascript": ("[//javascript:alert(1) x]", "//javascript:alert(1)"),
    "u10ffff": ("[http://a.example/\U0010ffff x]", "http://a.example/\U0010ffff"),
    "bare-u10ffff": ("voir http://a.example/\U0010ffff fin", "http://a.example/\U0010ffff"),
    "c1-control": ("[http://a.example/\x85y x]", "http://a.example/\x85y"),
    "private-use-path": ("[http://a.example/\ue000 x]", "http://a.example/\ue000"),
    "bad-port": ("[http://a.example:8o/ x]", "http://a.example:8o/"),
    "noncharacter": ("[http://a.example/\ufdd0 x]", "http://a.example/\ufdd0"),
    "backslash": ("[http://a.example/\\x y]", "http://a.example/\\x"),
    "braces": ("[http://a.example/{x} y]", "http://a.example/{x}"),
    "ftp-percent": ("[ftp://a%z y]", "ftp://a%z"),
}

#: one-page wikitexts that used to break a build, by name
HOSTILE_TEXTS = {
    **{f"link-{name}": f"Voir {link} ici." for name, (link, _) in BAD_LINKS.items()},
    "lone-surrogate-heading": "== Titre &#xD800; ==\nTexte.",
    "lone-surrogate-text": "Du texte &#xDFFF; et &#xD83D; encore.",
    "lone-surrogate-template": "{{Tiers-lieu|ville=A&#xD800;B}}",
    "nul-and-controls": "Texte \x01 \x08 \x0b \x0c \x1f \x7f fin.",
    "pipes-prose": 'Réponses : |"oui"|"non"|',
    "formula-prose": "=SUM(A1:A9)\n+33 1 23\n-1\n@cmd",
    "unclosed": "{{Tiers-lieu|nom=[[x|{{y|''z",
    "deep-nesting": "{{a|" * 60 + "}}" * 60,
    "deep-list": "*" * 200 + " profond",
    "many-headings": "".join(f"== T{i} ==\n" for i in range(300)),
    "bidi-and-zero-width": "\u202eabc\u200b\ufeff\u2028\u2029 fin",
    "astral": "\U0001f600 \U00010000 \U0010fffd",
}


def pages_with(title: str, text: str) -> list[Page]:
    """The good page and one page holding ``text``."""
    return [Page(1, GOOD_TITLE, [Rev(10, GOOD_TEXT)]), Page(2, title, [Rev(20, text)])]


@dataclass
class Outcome:
    exit_code: int
    output: str
    folder: Path

    @property
    def release(self) -> Path:
        return self.folder / "exports"

    def report(self) -> dict:
        return json.loads((self.release / "report.json").read_text(encoding="utf-8"))

    def quality(self) -> list[dict[str, str]]:
        text = (self.release / "quality.csv").read_text(encoding="utf-8")
        return list(csv.DictReader(io.StringIO(text)))

    def lines(self) -> list[str]:
        with gzip.open(self.release / "tierslieux.nt.gz", "rt", encoding="utf-8") as stream:
            return stream.read().splitlines()


def run_dump(folder: Path, dump: Path, *extra: str) -> Outcome:
    """``tierslieux run --dump`` through the real CLI, store and release in ``folder``."""
    result = CliRunner().invoke(cli, ["--quiet", "run", "--dump", str(dump), "--store",
                                      str(folder / "store.sqlite"), "--out",
                                      str(folder / "exports"), *extra])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.output, folder)


# --------------------------------------------------------------------------- generators

from hypothesis import strategies as st  # noqa: E402  (the generators below only)

#: pieces of wikitext markup, well and badly formed
MARKUP = [
    "[[", "]]", "{{", "}}", "{{{", "}}}", "|", "=", "==", "===", "\n", "\n\n", "*", "**", "#",
    ":", ";", "''", "'''", "<ref>", "</ref>", "<ref name=x/>", "<div>", "</div>", "<p>",
    "<includeonly>", "</includeonly>", "<noinclude>", "<nowiki>", "</nowiki>", "<!--", "-->",
    "[", "]", "http://", "https://", "//", "mailto:", "ftp://", "&#", "&#x", ";", "&amp;",
    "&nbsp;", "&lt;", "{|", "|-", "|}", "!", "!!", "||", "__TOC__", "~~~~", "[[Catégorie:",
    "[[Fichier:", "#REDIRECT [[", "{{Tiers-lieu|", "{{Collectivité|", "nom=", "ville=",
    "code postal=", "site=", "date de fermeture=", "/", "..", "section", "template", "\t", " ",
    "<br/>", '<span style="x">', "</span>", "<table>", "<td>", "<math>", "</math>", "{{#if:",
    "{{subst:", "[[:en:", "[[w:", "Réponses : ", '"oui"', "=SUM(A1)", "+33", "-", "@",
]
#: code points that broke, or could break, a writer or a parser
UNICODE = [
    "\ud800", "\udfff", "\udbff\udc00", "\U0010ffff", "\x85", "\x00", "\x01", "\x08", "\x0b",
    "\x7f", "\x9f", "\ufffe", "\uffff", "\ufeff", "\u202e", "\u200b", "\u2028", "\u2029", "é",
    "\U0001f600", "\ue000", "\U000f0000", "\ufdd0", "\r", "\r\n", "\\", '"', "<", ">", "`",
    "\u00a0", "\u0301", "İ", "ß", "ǅ",
]

fragments = st.one_of(
    st.sampled_from(MARKUP),
    st.sampled_from(UNICODE),
    st.sampled_from(sorted(HOSTILE_TEXTS.values())),
    st.sampled_from([link for link, _ in BAD_LINKS.values()]),
    st.text(max_size=12),
    st.integers(0, 0x10FFFF).map(lambda c: f"&#x{c:X};"),
    st.integers(0, 2_000_000).map(lambda c: f"&#{c};"),
    # huge values (the tests lower LITERAL_LIMIT to keep them CI-sized)
    st.integers(1, 3_000).map(lambda n: "x" * n),
)

#: hostile wikitext: markup, unicode edge cases, the cases of issue 17, long runs
wikitexts = st.lists(fragments, max_size=30).map("".join)

#: hostile titles: sub-page separators, dot segments, the words of page sub-IRIs, unicode
titles = st.lists(st.one_of(st.sampled_from(["/", ".", "..", "section", "template", "lead",
                                              "~", "Foo", " ", "é", "%2E", "#", "?", ":"]),
                            st.sampled_from(UNICODE[:12]), st.text(min_size=1, max_size=4)),
                  min_size=1, max_size=8).map("".join).filter(lambda t: t.strip() != "")
