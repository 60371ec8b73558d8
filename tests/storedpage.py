"""Pages for the parse and map tests: a StoredPage around a text, a page mapped with the bundled
mapping, and the graph of mapped pages (one helper each, shared by the test files)."""

from __future__ import annotations

from functools import cache

from rdflib import Graph

from golden import Case
from tierslieux.model.records import MappedPage, PageRevision, SiteInfo, StoredPage
from tierslieux.ontology.mapping import load_mapping
from tierslieux.ontology.rules import Mapping
from tierslieux.pipeline.map import Mapper
from tierslieux.pipeline.parse import parse_page

#: the wiki the hand-written pages come from
MOVILAB = SiteInfo(sitename="Movilab", article_path="https://movilab.org/wiki/$1",
                   script_url="https://movilab.org/index.php", lang="fr")


def stored_page(text: str, title: str = "Page de test", *, key: str | None = None,
                **revision: object) -> StoredPage:
    """A StoredPage around ``text``; keyword arguments override PageRevision fields, ``key``
    the store key (by default the title with ``_`` for spaces)."""
    fields: dict[str, object] = {
        "page_id": 1, "namespace": 0, "title": title, "rev_id": 100, "parent_id": None,
        "timestamp": "2024-01-01T00:00:00Z", "sha1": None, "contributor": "Testeur",
        "text": text,
    }
    fields.update(revision)
    rev = PageRevision(**fields)  # type: ignore[arg-type]
    return StoredPage(revision=rev, key=rev.title.replace(" ", "_") if key is None else key)


@cache
def bundled_mapping() -> Mapping:
    """The bundled mapping.yaml, loaded once."""
    return load_mapping()


def map_text(text: str, title: str = "Un lieu", site: SiteInfo | None = None) -> MappedPage:
    """A page of ``text`` (revision 7, no contributor) parsed and mapped with the bundled
    mapping, on a Movilab site without a language."""
    site = site or SiteInfo("Movilab", MOVILAB.article_path, MOVILAB.script_url)
    page = stored_page(text, title, rev_id=7, contributor=None)
    return Mapper(bundled_mapping(), site).map_page(parse_page(page))


def graph_of(*mapped: MappedPage) -> Graph:
    """The lines of the mapped pages as one rdflib graph."""
    lines = sorted({line for m in mapped for line in m.triples})
    return Graph().parse(data="\n".join(lines) + "\n", format="nt")


def case_page(case: Case) -> StoredPage:
    """The page of a map case (tests/cases/map/*): ``page.wiki`` as the text of revision 100
    (parent 99), with the fields of ``revision.json`` overriding the defaults."""
    fields: dict[str, object] = {"text": case.text("page.wiki"), "parent_id": 99}
    fields.update(case.json("revision.json", {}))
    return stored_page(**fields)  # type: ignore[arg-type]
