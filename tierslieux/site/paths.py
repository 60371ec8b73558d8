"""Where the documents of each IRI are in a release, and the links between them.

A data IRI ``{base}{rest}`` (``rest`` holds at least one ``/``: ``place/Le_WIP``,
``page/La_Myne/2/section/lead``) names a thing. Its documents are files of the release's
``site/`` folder, one per format, at ``rest`` with the IRI's percent-escapes decoded (a web
server decodes the request path the same way before it looks for a file) and an extension:

    site/{rest}.html     the entity page (HTML, for people)
    site/{rest}.ttl      its description in Turtle (the triples whose subject it is)
    site/{rest}.jsonld   the same in JSON-LD (expanded form, no context to fetch)
    site/{rest}.nt       the same in N-Triples

A thing's IRI answers 303 See Other to one of them, chosen by ``Accept`` (``tierslieux
serve``, the ``.htaccess`` of the w3id.org entry, the nginx example). Two documents never
share a file: the extension tells the format, and the rest tells the thing. The files that
are the site's own (``style.css``, ``ontology.html``, ``404.html``) sit directly in
``site/``, where no entity's document can be (a rest always holds a ``/``). The ontology's
terms (``https://w3id.org/tierslieux/ontology#Name``) are sections of ``site/ontology.html``
(``#Name``). A list item (``…/section/{slug}/item/{n}``) has no documents of its own: it is described on
its section's page, at the fragment ``#item-{n}`` (its text, with a link), and its IRI answers
303 to that page (or to the section's RDF files, which link to it with ``tl:hasItem``; the
item's own triples are in the dumps). A big wiki has more list items than all other entities
together, and a file costs more to create than a page to render.

An IRI whose decoded rest cannot be a file name on every common file system
(an empty, ``.`` or ``..`` segment, a control character or a backslash, a segment over 200
bytes) gets no documents: the build counts them (``skipped``).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

SITE_DIR = "site"
STYLE = "style.css"
ONTOLOGY_PAGE = "ontology.html"
NOT_FOUND_PAGE = "404.html"
LANDING_PAGE = "index.html"

#: extension -> media type (with its charset) of an entity's documents
MEDIA_TYPES: dict[str, str] = {
    "html": "text/html; charset=utf-8",
    "ttl": "text/turtle; charset=utf-8",
    "jsonld": "application/ld+json; charset=utf-8",
    "nt": "application/n-triples; charset=utf-8",
}
#: the formats named in the alternate links of a page, and their labels
ALTERNATES = (("ttl", "Turtle"), ("jsonld", "JSON-LD"), ("nt", "N-Triples"))

_BAD_CHAR = re.compile(r"[\x00-\x1f\x7f\\]")
SEGMENT_LIMIT = 200


def entity_rest(iri: str, base: str) -> str | None:
    """The ``rest`` of a data IRI (see the module docstring), or None when it has no
    documents."""
    if not iri.startswith(base):
        return None
    rest = iri[len(base):]
    if "/" not in rest or "?" in rest or "#" in rest:
        return None
    try:
        decoded = unquote(rest, errors="strict") if "%" in rest else rest
    except UnicodeDecodeError:
        return None
    for segment in decoded.split("/"):
        if segment in ("", ".", "..") or len(segment.encode("utf-8", "surrogatepass")) \
                > SEGMENT_LIMIT:
            return None
    if _BAD_CHAR.search(decoded):
        return None
    return rest


_ITEM = re.compile(r"(.+/section/[^/]+)/item/([0-9]+)")


def item_of(rest: str) -> tuple[str, str] | None:
    """(the section's rest, the item's number) for a list item's rest, else None."""
    found = _ITEM.fullmatch(rest)
    return (found.group(1), found.group(2)) if found else None


def file_path(rest: str, ext: str) -> str:
    """The path, inside the release, of the document of ``rest`` in format ``ext``."""
    decoded = unquote(rest) if "%" in rest else rest
    return f"{SITE_DIR}/{decoded}.{ext}"


def url_path(rest: str, ext: str) -> str:
    """The same document as a URL path relative to the release root (escapes kept)."""
    return f"{SITE_DIR}/{rest}.{ext}"


def root_prefix(rest: str | None) -> str:
    """The relative path from a document to the release root: ``../../`` for
    ``site/place/x.html``, ``./`` for the landing page (``rest`` None). Every link of the
    site starts with it, so no link can be read as an address with a scheme."""
    if rest is None:
        return "./"
    return "../" * (rest.count("/") + 1)
