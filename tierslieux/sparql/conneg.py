"""Content negotiation of ``serve`` at the data IRIs' paths (Linked Data, Cool URIs).

The front (front.py) hands a GET or HEAD to :func:`answer` first. With the base IRI
``https://w3id.org/tierslieux/movilab/`` (its path ``/tierslieux/movilab/``) it answers:

- ``/tierslieux/movilab/{rest}`` (a thing): 303 See Other to the document of the format the
  ``Accept`` header prefers, ``/release/site/{rest}.html``, ``.ttl``, ``.jsonld`` or ``.nt``
  (site/paths.py), with ``Vary: Accept`` (a list item: its section's documents, the page at
  ``#item-{n}``); 404 and the site's 404 page when the release has no
  such entity. ``/tierslieux/movilab/`` and ``…/dataset`` go to ``index.html`` (or
  ``catalog.ttl``);
- ``/tierslieux/ontology`` (hash IRIs: the terms are ``#Name``): 303 to ``site/ontology.html``
  or ``ontology.ttl``;
- ``/release/{path}``: the release's files themselves, with their media type and charset.

Anything else is not answered here (None): it goes to Oxigraph as before.
"""

from __future__ import annotations

import mimetypes
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from tierslieux.site import paths

RELEASE_PREFIX = "/release/"
ONTOLOGY_PATH = "/tierslieux/ontology"
#: media type asked for -> document extension; the first is the default (a browser's */*)
OFFERS = (
    ("text/html", "html"), ("application/xhtml+xml", "html"), ("text/turtle", "ttl"),
    ("application/ld+json", "jsonld"), ("application/n-triples", "nt"),
    ("application/json", "jsonld"), ("text/plain", "nt"),
)
#: file name endings -> media type of the release's files
FILE_TYPES = {
    ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".ttl": "text/turtle; charset=utf-8", ".jsonld": "application/ld+json; charset=utf-8",
    ".nt": "application/n-triples; charset=utf-8", ".json": "application/json; charset=utf-8",
    ".csv": "text/csv; charset=utf-8", ".gz": "application/gzip",
    "SHA256SUMS": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class Answer:
    """What the front sends back."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""


def preferred(accept: str | None) -> str | None:
    """The extension of the format ``accept`` prefers among OFFERS (None: none acceptable)."""
    if not accept:
        return "html"
    ranked = []
    for position, item in enumerate(accept.split(",")):
        kind, *params = [part.strip() for part in item.split(";")]
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        ranked.append((quality, -position, kind.lower()))
    for quality, _, kind in sorted(ranked, reverse=True):
        if quality <= 0:
            continue
        for offer, ext in OFFERS:
            if kind == offer or kind == "*/*" or (kind.endswith("/*") and
                                                   offer.startswith(kind[:-1])):
                return ext
    return None


class Negotiator:
    """Answers the data IRIs' paths and the release's files of one release folder."""

    def __init__(self, release: Path, base_iri: str) -> None:
        self.release = Path(release)
        self.base_iri = base_iri
        self.base_path = urllib.parse.urlsplit(base_iri).path or "/"

    def answer(self, raw_path: str, accept: str | None) -> Answer | None:
        path = raw_path.split("?", 1)[0]
        if path.startswith(RELEASE_PREFIX) or path == RELEASE_PREFIX.rstrip("/"):
            return self._file(path[len(RELEASE_PREFIX):])
        if path == ONTOLOGY_PATH:
            return self._see_other(accept, {"html": f"site/{paths.ONTOLOGY_PAGE}",
                                            "ttl": "ontology.ttl"})
        if path.startswith(self.base_path):
            rest = path[len(self.base_path):]
            if rest in ("", "dataset", "catalog"):
                return self._see_other(accept, {"html": paths.LANDING_PAGE,
                                                "ttl": "catalog.ttl"})
            if "/" not in rest:   # no entity's IRI (/query, /store under a base IRI "/")
                return None
            if paths.entity_rest(self.base_iri + rest, self.base_iri) is None:
                return self._not_found()
            item = paths.item_of(rest)
            document = item[0] if item else rest
            if (self.release / paths.file_path(document, "html")).is_file():
                documents = {ext: paths.url_path(document, ext) for ext in paths.MEDIA_TYPES}
                if item:   # a list item is a fragment of its section's page (site/paths.py)
                    documents["html"] += f"#item-{item[1]}"
                return self._see_other(accept, documents)
            return self._not_found()
        return None

    def _see_other(self, accept: str | None, documents: dict[str, str]) -> Answer:
        ext = preferred(accept)
        vary = ("Vary", "Accept")
        if ext not in documents:
            if ext is None or "ttl" not in documents:
                body = ("none of the formats asked for is available: "
                        + ", ".join(sorted(documents)) + "\n").encode("utf-8")
                return Answer(406, (vary, ("Content-Type", "text/plain; charset=utf-8")), body)
            ext = "ttl"
        location = RELEASE_PREFIX + documents[ext]
        return Answer(303, (vary, ("Location", location),
                            ("Content-Type", "text/plain; charset=utf-8")),
                      f"See {location}\n".encode("utf-8"))

    def _not_found(self) -> Answer:
        page = self.release / paths.SITE_DIR / paths.NOT_FOUND_PAGE
        body = page.read_bytes() if page.is_file() else b"not found\n"
        # the page's links are relative to site/: the base element makes them work anywhere
        body = body.replace(b"<head>", f"<head>\n<base href=\"{RELEASE_PREFIX}site/\">".encode(),
                            1)
        return Answer(404, (("Content-Type", "text/html; charset=utf-8"), ("Vary", "Accept")),
                      body)

    def _file(self, rel: str) -> Answer:
        try:
            decoded = urllib.parse.unquote(rel or paths.LANDING_PAGE, errors="strict")
        except UnicodeDecodeError:
            return self._not_found()
        parts = decoded.split("/")
        if any(part in ("", ".", "..") for part in parts[:-1]) or parts[-1] in (".", ".."):
            return self._not_found()
        if parts[-1] == "":
            parts[-1] = paths.LANDING_PAGE
        target = self.release.joinpath(*parts)
        try:
            resolved = target.resolve(strict=True)
        except (OSError, RuntimeError):
            return self._not_found()
        root = self.release.resolve()
        if root not in resolved.parents or not resolved.is_file():
            return self._not_found()
        kind = next((t for end, t in FILE_TYPES.items() if resolved.name.endswith(end)), None)
        kind = kind or mimetypes.guess_type(resolved.name)[0] or "application/octet-stream"
        return Answer(200, (("Content-Type", kind),), resolved.read_bytes())
