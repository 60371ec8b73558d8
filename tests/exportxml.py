"""Write small MediaWiki XML exports (export-0.11) for tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

HEADER = (
    '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="0.11" xml:lang="fr">\n'
    "  <siteinfo>\n    <sitename>Wiki Test</sitename>\n    <dbname>wikitest</dbname>\n"
    "    <base>https://wiki.example.org/wiki/Accueil</base>\n"
    "    <generator>MediaWiki 1.39.17</generator>\n    <case>first-letter</case>\n"
    '    <namespaces>\n      <namespace key="0" case="first-letter" />\n'
    '      <namespace key="10" case="first-letter">Modèle</namespace>\n'
    '      <namespace key="14" case="first-letter">Catégorie</namespace>\n'
    "    </namespaces>\n  </siteinfo>\n"
)


@dataclass
class Rev:
    id: int
    text: str
    timestamp: str = "2025-01-01T00:00:00Z"
    user: str = "Alice"
    parent: int | None = None


@dataclass
class Page:
    id: int
    title: str
    revs: list[Rev]
    ns: int = 0
    redirect: str | None = None
    extra: str = field(default="")


def export(pages: list[Page]) -> str:
    out = [HEADER]
    for p in pages:
        out.append(f"  <page>\n    <title>{escape(p.title)}</title>\n    <ns>{p.ns}</ns>\n"
                   f"    <id>{p.id}</id>\n")
        if p.redirect:
            out.append(f"    <redirect title={quoteattr(p.redirect)} />\n")
        for r in p.revs:
            parent = f"      <parentid>{r.parent}</parentid>\n" if r.parent else ""
            out.append(
                f"    <revision>\n      <id>{r.id}</id>\n{parent}"
                f"      <timestamp>{r.timestamp}</timestamp>\n"
                f"      <contributor><username>{escape(r.user)}</username></contributor>\n"
                "      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
                f'      <text xml:space="preserve">{escape(r.text)}</text>\n'
                "    </revision>\n"
            )
        out.append(p.extra + "  </page>\n")
    out.append("</mediawiki>\n")
    return "".join(out)


def write_dump(path: Path, pages: list[Page]) -> Path:
    """The export of ``pages`` written to ``path`` (UTF-8); the path."""
    path.write_text(export(pages), encoding="utf-8")
    return path
