"""The landing page ``index.html``, the ontology's page and the 404 page of the site.

The landing page (``index.html``: schema.org ``Dataset`` JSON-LD, counts, inline SVG charts,
the files with their sizes and checksums, the worked SPARQL questions), the ontology's page
and the 404 page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from tierslieux.site import paths
from tierslieux.site.pages import SiteSummary
from tierslieux.site.render import Renderer, script_json
from tierslieux.site.vocabulary import KINDS, ONTOLOGY_IRI, TL, Vocabulary

#: file extension -> (format name, media type) of the files table and schema.org
FILE_FORMATS: dict[str, tuple[str, str]] = {
    ".ttl": ("Turtle", "text/turtle"),
    ".nt.gz": ("N-Triples (gzip)", "application/n-triples"),
    ".jsonld": ("JSON-LD", "application/ld+json"),
    ".csv": ("CSV", "text/csv"),
    ".json": ("JSON", "application/json"),
}
#: the schema.org classes that a place's spatial coverage names
FRANCE = {"@type": "Place", "name": "France",
          "sameAs": "http://publications.europa.eu/resource/authority/country/FRA"}


@dataclass(frozen=True)
class LandingInfo:
    """What the landing page says of the release (the release fills it from its meta)."""

    base_iri: str
    title_fr: str
    title_en: str
    description_fr: str
    description_en: str
    sitename: str
    source_url: str
    licence_iri: str
    licence_name: str
    attribution: str
    publisher_name: str
    keywords: tuple[str, ...]
    #: newest and oldest revision dates of the data (xsd:dateTime)
    modified: str
    oldest: str
    triples: int
    entities: int
    #: file name -> (size, sha256), the files of the release the catalogue describes
    files: Mapping[str, tuple[int, str]]
    #: where the release is served ("" when unknown: contentUrl then under the base IRI)
    download_base: str


def _format(name: str) -> tuple[str, str]:
    for suffix, found in FILE_FORMATS.items():
        if name.endswith(suffix):
            return found
    return ("", "application/octet-stream")


def queries() -> list[dict[str, str]]:
    """The worked SPARQL questions shipped with tierslieux (name, questions, text)."""
    found = []
    folder = resources.files("tierslieux").joinpath("queries")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".rq"):
            continue
        text = entry.read_text(encoding="utf-8")
        question_fr = question_en = ""
        for line in text.splitlines():
            if line.startswith("# Question (fr):"):
                question_fr = line.split(":", 1)[1].strip()
            elif line.startswith("# Question:"):
                question_en = line.split(":", 1)[1].strip()
        found.append({"name": entry.name[:-3], "question_fr": question_fr,
                      "question_en": question_en, "text": text})
    return found


def schema_org(info: LandingInfo) -> dict[str, Any]:
    """The schema.org ``Dataset`` of the release, as dataset search engines read it."""
    base = info.download_base or info.base_iri + "release/"
    data: dict[str, Any] = {
        # inline, so that a reader expands it without fetching schema.org's context
        "@context": {"@vocab": "https://schema.org/"},
        "@type": "Dataset",
        "@id": info.base_iri + "dataset",
        "name": info.title_fr,
        "alternateName": info.title_en,
        "description": info.description_fr,
        "inLanguage": ["fr", "en"],
        "keywords": list(info.keywords),
        "license": info.licence_iri,
        "creditText": info.attribution,
        "creator": {"@type": "Organization", "name": info.publisher_name,
                    **({"url": info.source_url} if info.source_url else {})},
        "isAccessibleForFree": True,
        "spatialCoverage": FRANCE,
        "distribution": [
            {"@type": "DataDownload", "name": name, "contentUrl": base + name,
             "encodingFormat": _format(name)[1], "contentSize": f"{size} B",
             "sha256": digest}
            for name, (size, digest) in sorted(info.files.items())
        ],
    }
    if info.source_url:
        data["isBasedOn"] = info.source_url
    if info.modified:
        data["dateModified"] = info.modified
    if info.oldest and info.modified:
        data["temporalCoverage"] = f"{info.oldest}/{info.modified}"
    return data


def landing_context(info: LandingInfo, summary: SiteSummary, vocabulary: Vocabulary
                    ) -> dict[str, Any]:
    base = info.base_iri
    classes = []
    for iri, count in summary.classes:
        if iri.startswith(TL):
            fr, en = vocabulary.label(iri)
            classes.append({"anchor": iri[len(TL):], "fr": fr, "en": en, "count": count})
    kinds = [{"label": vocabulary.label(iri)[0], "count": n}
             for iri, n in summary.statements_per_kind]
    return {
        "root": "./", "sitename": info.sitename, "title_fr": info.title_fr,
        "title_en": info.title_en, "description_fr": info.description_fr,
        "description_en": info.description_en, "source_url": info.source_url,
        "licence_iri": info.licence_iri if info.licence_iri.startswith(("http://", "https://"))
        else "", "licence_name": info.licence_name, "attribution": info.attribution,
        "modified": info.modified, "oldest": info.oldest, "triples": info.triples,
        "entities": info.entities, "classes": classes,
        "regions": [{"label": label, "count": n} for _, label, n in summary.places_per_region],
        "kinds": kinds,
        "places": [{"label": label,
                    "href": "./" + paths.url_path(paths.entity_rest(iri, base) or "", "html")}
                   for iri, label in summary.places if paths.entity_rest(iri, base)],
        "files": [{"name": name, "size": size, "sha256": digest, "format": _format(name)[0]}
                  for name, (size, digest) in sorted(info.files.items())],
        "queries": queries(),
        "schema_org": script_json(schema_org(info)),
    }


def ontology_context(vocabulary: Vocabulary, sitename: str) -> dict[str, Any]:
    root = "../"
    kinds = []
    for kind, fr, en in KINDS:
        terms = []
        for term in vocabulary.terms:
            if term.kind != kind:
                continue
            links = []
            for relation, target in term.links:
                if target.startswith(TL):
                    links.append({"relation": relation, "href": "#" + target[len(TL):],
                                  "text": vocabulary.label(target)[0], "external": False})
                elif target.startswith(("http://", "https://")):
                    links.append({"relation": relation, "href": target, "text": target,
                                  "external": True})
                else:
                    links.append({"relation": relation, "href": "", "text": target,
                                  "external": False})
            terms.append({"anchor": term.anchor, "label_fr": term.label_fr,
                          "label_en": term.label_en, "comment_fr": term.comment_fr,
                          "comment_en": term.comment_en, "links": links})
        kinds.append({"id": f"kind-{kind}", "fr": fr, "en": en, "terms": terms})
    return {"root": root, "sitename": sitename, "iri": ONTOLOGY_IRI,
            "title_fr": vocabulary.title_fr, "title_en": vocabulary.title_en,
            "comment_fr": vocabulary.comment_fr, "comment_en": vocabulary.comment_en,
            "version": vocabulary.version, "kinds": kinds}


def write_landing(folder, info: LandingInfo, summary: SiteSummary, vocabulary: Vocabulary
                  ) -> None:
    """``index.html`` in the release folder."""
    html = Renderer().render("landing.html", landing_context(info, summary, vocabulary))
    (folder / paths.LANDING_PAGE).write_text(html, encoding="utf-8", newline="\n")


def write_site_files(site_dir, vocabulary: Vocabulary, sitename: str) -> Sequence[str]:
    """The site's own files in ``site/``: the stylesheet, the ontology page, the 404 page."""
    renderer = Renderer()
    site_dir.mkdir(parents=True, exist_ok=True)
    style = resources.files("tierslieux.site").joinpath("static", paths.STYLE).read_bytes()
    (site_dir / paths.STYLE).write_bytes(style)
    (site_dir / paths.ONTOLOGY_PAGE).write_text(
        renderer.render("ontology.html", ontology_context(vocabulary, sitename)),
        encoding="utf-8", newline="\n")
    (site_dir / paths.NOT_FOUND_PAGE).write_text(
        renderer.render("404.html", {"root": "../", "sitename": sitename}),
        encoding="utf-8", newline="\n")
    return (paths.STYLE, paths.ONTOLOGY_PAGE, paths.NOT_FOUND_PAGE)
