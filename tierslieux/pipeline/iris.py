"""The IRI rules of the map stage: which IRI each thing a page describes gets.

IRIs (``{base}`` is the data base IRI, ``{key}`` the stored page key, stable across moves):

    {base}page/{key}                               the page (tl:WikiPage)
    {base}page/{key}/section/{slug}                a section ("lead" before the first heading)
    {base}page/{key}/section/{slug}/item/{n}       a list item (n from 1)
    {base}page/{key}/template/{n}                  a kept template call (n from 1)
    {base}page/{key}/template/{n}/param/{slug}     one of its parameters
    {base}place/{rootkey} …                        records and values (see mapping.yaml)
    {base}concept/{scheme}/{slug}                  a concept minted for an unknown value
    {script_url}?oldid={rev}                       the revision (provenance of everything)

The character rules (``key_path``, ``slugify``, ``is_iri``) are those of ``model/iri.py``:
keys keep ``/`` and never give one IRI for two keys. IRIs are plain ``str`` (the map stage's
fast terms, pipeline/map_terms.py).
"""

from __future__ import annotations

from tierslieux.errors import MappingError
from tierslieux.model.iri import is_iri, key_path, slugify
from tierslieux.model.rdf import DEFAULT_BASE_IRI
from tierslieux.model.records import SiteInfo
from tierslieux.ontology.rules import Mapping


#: page IRIs remembered at most
_MEMO_LIMIT = 50_000


class IriRules:
    """The IRIs of one wiki's pages and of what they describe, under one base IRI."""

    def __init__(self, mapping: Mapping, site: SiteInfo, base_iri: str = DEFAULT_BASE_IRI) -> None:
        if not is_iri(base_iri) or not base_iri.endswith(("/", "#")):
            raise MappingError(f"base IRI {base_iri!r} must be an absolute IRI ending with / or #")
        self.mapping = mapping
        self.site = site
        self.base = base_iri
        #: page key -> its IRI (``key_path`` is a pure function of the key)
        self._pages: dict[str, str] = {}

    def page_iri(self, key: str) -> str:
        iri = self._pages.get(key)
        if iri is None:  # the same targets are linked from page after page
            if len(self._pages) >= _MEMO_LIMIT:
                self._pages.clear()
            iri = self._pages[key] = f"{self.base}page/{key_path(key)}"
        return iri

    def revision_iri(self, rev_id: int) -> str:
        if self.site.script_url:
            return f"{self.site.script_url}?oldid={rev_id}"
        return f"{self.base}revision/{rev_id}"

    def entity_iri(self, kind: str, *, key: str = "", rootkey: str = "", name: str = ""
                   ) -> str:
        rule = self.mapping.entity(kind)
        path = rule.iri.format(key=key_path(key), rootkey=key_path(rootkey or key),
                               slug=slugify(name))
        return self.base + path

    def concept_iri(self, scheme: str, value: str) -> str:
        scheme_name = scheme.rsplit("#", 1)[-1]
        return f"{self.base}concept/{slugify(scheme_name)}/{slugify(value)}"

    @staticmethod
    def section_iri(page: str, slug: str) -> str:
        return f"{page}/section/{slug}"

    @staticmethod
    def item_iri(section: str, number: int) -> str:
        return f"{section}/item/{number}"

    @staticmethod
    def template_iri(page: str, number: int) -> str:
        return f"{page}/template/{number}"

    @staticmethod
    def param_iri(call: str, slug: str) -> str:
        return f"{call}/param/{slug}"
