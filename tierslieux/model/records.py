"""The typed records that pass between the stages.

harvest / dump  --PageRevision-->  store  --StoredPage-->  parse  --ParsedPage-->  map
--MappedPage-->  export

Every record is a frozen dataclass made of plain values (str, int, tuples), so it can be
compared, hashed, pickled to a worker process and cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SiteInfo:
    """What is known of the wiki a store was harvested from."""

    sitename: str
    #: address of one article, with ``$1`` for the title, e.g. ``https://movilab.org/wiki/$1``
    article_path: str
    #: address of ``index.php`` (used for ``index.php?oldid=N`` provenance links)
    script_url: str
    #: address of ``api.php`` when the store was filled from a live wiki, else ""
    api_url: str = ""
    dbname: str = ""
    generator: str = ""
    lang: str = ""
    #: (number, local name) of every namespace, e.g. ``(10, "Modèle")``
    namespaces: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class PageRevision:
    """The latest revision of one page, as a harvest or a dump delivers it."""

    page_id: int
    namespace: int
    title: str
    rev_id: int
    parent_id: int | None
    #: ISO 8601 in UTC, ``YYYY-MM-DDTHH:MM:SSZ``
    timestamp: str
    sha1: str | None
    contributor: str | None
    text: str
    #: target title when the page is a redirect
    redirect: str | None = None
    comment: str | None = None
    model: str = "wikitext"
    #: every contributor the source knows for the page's history, sorted
    contributors: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredPage:
    """A page as the store holds it: the revision plus a stable identity.

    ``key`` is the title under which the page was first stored (spaces as ``_``); it
    does not change when the page is moved, so IRIs minted from it are stable.
    """

    revision: PageRevision
    key: str
    #: earlier titles of a moved page, oldest first
    alt_titles: tuple[str, ...] = ()


# --------------------------------------------------------------------------- parse


@dataclass(frozen=True)
class WikiLink:
    """``[[target|text]]``. ``target`` is a normalised title without fragment."""

    target: str
    text: str
    section: int
    fragment: str = ""


@dataclass(frozen=True)
class ExternalLink:
    """``[url text]`` or a bare URL."""

    url: str
    text: str
    section: int


@dataclass(frozen=True)
class Template:
    """One template call. ``name`` is normalised (no namespace prefix, first letter
    upper-case, ``_`` as space, whitespace collapsed); parameter names are stripped,
    positional parameters are named ``"1"``, ``"2"``…; values are the raw wikitext,
    stripped."""

    name: str
    params: tuple[tuple[str, str], ...]
    section: int
    #: position of the call among all template calls of the page, from 0
    order: int

    def get(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return default


@dataclass(frozen=True)
class ListItem:
    """One item of a wikitext list (``*``, ``#``, ``;``, ``:``)."""

    #: order within its section, from 0, in document order
    index: int
    #: 1 for a top-level item, 2 for ``**``…
    depth: int
    #: the full marker, e.g. ``"*"``, ``"**"``, ``"#"``, ``"*#"``
    marker: str
    #: plain text of the item (markup stripped, links as their text)
    text: str
    #: index of the enclosing item in the same section, or None
    parent: int | None
    #: targets of the wiki links inside the item
    links: tuple[str, ...] = ()

    @property
    def ordered(self) -> bool:
        return self.marker.endswith("#")


@dataclass(frozen=True)
class Section:
    """The lead section (index 0, level 0, heading "") or one headed section."""

    index: int
    level: int
    heading: str
    #: index of the enclosing section (0 for a top-level heading, None for the lead)
    parent: int | None
    #: plain text of the section's own prose (not its lists, not its subsections)
    text: str
    items: tuple[ListItem, ...] = ()


@dataclass(frozen=True)
class Annotation:
    """One Semantic MediaWiki property value: ``[[P::V]]``, a ``{{#set:}}`` or
    ``{{#subobject:}}`` parameter. ``property`` is normalised (``_`` as space, first letter
    upper-case), ``value`` is plain text."""

    property: str
    value: str
    section: int
    #: key of the subobject it belongs to, "" for the page itself
    subobject: str = ""


@dataclass(frozen=True)
class Subobject:
    """``{{#subobject: name |P=V …}}``: an entity of its own, inside its page."""

    #: the name as written, "" when anonymous
    name: str
    #: the name, or for an anonymous one ``_`` + a digest of its annotations
    key: str
    section: int
    annotations: tuple[Annotation, ...] = ()


@dataclass(frozen=True)
class Query:
    """``{{#ask: …}}`` or ``{{#show: …}}``, recorded as written, not evaluated."""

    #: "ask" or "show"
    function: str
    #: the condition (``[[Category:Commun]] [[A pour acteur::+]]``) or, for #show, the page
    query: str
    #: ``?P`` / ``?P=label`` as written
    printouts: tuple[str, ...]
    #: the other parameters (format, limit, sort…)
    params: tuple[tuple[str, str], ...]
    section: int


@dataclass(frozen=True)
class ParsedPage:
    """Everything the map stage needs from one page."""

    page: StoredPage
    sections: tuple[Section, ...]
    templates: tuple[Template, ...]
    links: tuple[WikiLink, ...]
    #: category names without the ``Catégorie:``/``Category:`` prefix, in page order
    categories: tuple[str, ...]
    external_links: tuple[ExternalLink, ...]
    redirect: str | None = None
    #: what the parser could not take as written (a character entity no output can hold…)
    issues: tuple[Issue, ...] = ()
    #: Semantic MediaWiki markup: the page's own annotations, its subobjects, its queries
    annotations: tuple[Annotation, ...] = ()
    subobjects: tuple[Subobject, ...] = ()
    queries: tuple[Query, ...] = ()
    #: names of the templates called in running text that show nothing here (no rule of the
    #: mapping's ``inline_templates``), one per call, in page order
    silent_templates: tuple[str, ...] = ()


# --------------------------------------------------------------------------- map


@dataclass(frozen=True)
class Issue:
    """A value a cleaner rejected or corrected, or a structure the mapping did not cover."""

    page_title: str
    #: "error" blocks publishing, "warning" is reported, "info" is for the coverage survey
    severity: str
    #: e.g. "template:Tiers-lieu/code postal", "heading:Enjeux"
    field: str
    original: str
    kept: str
    message: str


@dataclass(frozen=True)
class MappedPage:
    """The RDF statements produced from one page revision.

    Triples are N-Triples lines (without the final newline), so that they can be sorted,
    compared and written without an RDF library in the loop.
    """

    page_id: int
    rev_id: int
    title: str
    triples: tuple[str, ...]
    issues: tuple[Issue, ...] = field(default=())


@dataclass(frozen=True)
class HarvestCounts:
    """What the harvest of a run did to the pages (``HarvestReport`` of pipeline/harvest.py,
    as far as a release reports it: report.json "pages")."""

    pages_fetched: int = 0
    pages_new: int = 0
    pages_changed: int = 0
    pages_unchanged: int = 0
    pages_deleted: int = 0
    deleted_titles: tuple[str, ...] = ()
    moved: tuple[tuple[str, str], ...] = ()
    requests: int = 0
    notes: tuple[str, ...] = ()
    retries: int = 0
    checkpoint: str | None = None

    @classmethod
    def of(cls, report: object) -> HarvestCounts:
        """The counts of a harvest report (any object with these attributes)."""
        return cls(**{name: getattr(report, name) for name in cls.__dataclass_fields__})

    def as_report(self) -> dict:
        return {
            "pages_fetched": self.pages_fetched, "pages_new": self.pages_new,
            "pages_changed": self.pages_changed, "pages_unchanged": self.pages_unchanged,
            "pages_deleted": self.pages_deleted, "deleted_titles": list(self.deleted_titles),
            "moved": [list(m) for m in self.moved], "requests": self.requests,
            "notes": list(self.notes), "retries": self.retries, "checkpoint": self.checkpoint,
        }


@dataclass(frozen=True)
class RunCounts:
    """The pages of a run, for report.json ("pages"): the harvest's counts when the run
    harvested, and the pages the build built. ``pages_deleted`` also excuses a drop of the
    triple count of a release (exports/release.py)."""

    harvest: HarvestCounts | None = None
    pages_built: int | None = None

    @property
    def pages_deleted(self) -> int:
        return self.harvest.pages_deleted if self.harvest is not None else 0

    def as_report(self) -> dict:
        report = self.harvest.as_report() if self.harvest is not None else {}
        if self.pages_built is not None:
            report["pages_built"] = self.pages_built
        return dict(sorted(report.items()))
