"""``quality.csv``: the editors' report of the wiki's values the tool could not take as written.

One row per value that a cleaner rejected or corrected (and per other problem of severity
``warning`` or ``error`` the map stage found on a page: a required parameter missing, a value
given twice, a value that is not a concept of its scheme, a page that could not be parsed), so
that the wiki's editors fix the source rather than anyone patching the export. Notes of severity
``info`` (templates, headings or categories the mapping does not cover) are left out: they are
for the maintainer of the mapping, and ``tierslieux survey`` lists them. The report therefore
has a row exactly when the build counts a warning: a clean wiki gives a file with its header
line only.

Columns (quoted by the README)
    ``titre``             title of the page, as on the wiki (with its namespace prefix)
    ``adresse_page``      web address of the page: the wiki's article path with the title
                          (spaces as ``_``, percent-encoded as MediaWiki does); empty when the
                          wiki's address is unknown
    ``champ``             where the value was, as the map stage names it:
                          ``param:<template>/<parameter>`` for a template parameter, ``page``
                          for the whole page
    ``modele``            the template of a template parameter, its name normalised by the
                          parser (first letter upper-case, ``_`` as space); else empty
    ``parametre``         the parameter's name as written in the call (the mapping's name for
                          a required parameter that is missing); else empty
    ``valeur_originale``  the value as written on the wiki (empty for a missing parameter)
    ``valeur_retenue``    what was published instead: the corrected value, or empty when the
                          value was rejected (then it is kept only as a tl:TemplateParameter)
    ``gravite``           ``warning`` (published, or left out because optional) or ``error``
                          (a required value: it blocks the release unless forced)
    ``message``           what is wrong, in one line (English)

Rows are sorted by page title, then field, original value, kept value, severity and message;
identical rows are written once. Files follow the conventions of the other tables (tables.py):
UTF-8 without BOM, comma separated, ``"``-quoted where needed, one ``\\n`` per row, and the same
formula neutralisation in every cell (all columns are strings).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from tierslieux.exports.package import csv_resource
from tierslieux.exports.tables import neutralise
from tierslieux.model.records import Issue, SiteInfo

QUALITY_FILE = "quality.csv"
TITLE_FR = "Rapport de qualité pour les contributeurs du wiki"
TITLE_EN = "Quality report for the wiki's editors"
DESCRIPTION = (
    "Une ligne par valeur du wiki qu'un nettoyeur a rejetée ou corrigée (ou par autre problème "
    "de gravité warning ou error : paramètre obligatoire manquant, valeur donnée deux fois, "
    "page illisible), avec l'adresse de la page, pour que les contributeurs corrigent la source."
)
#: severities that make a row; "info" notes are the survey's business
SEVERITIES = ("error", "warning")
PARAM_PREFIX = "param:"
#: the title of a row about a page whose title the source did not give
UNTITLED = "(sans titre)"


@dataclass(frozen=True, order=True)
class QualityRow:
    """One row of quality.csv (attribute order = sort order = column order)."""

    title: str
    address: str
    field: str
    template: str
    parameter: str
    original: str
    kept: str
    severity: str
    message: str


#: (column name, attribute, title, description) in file order, which is the attribute order
#: of QualityRow (rows are written with dataclasses.astuple)
COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("titre", "title", "Page", "Titre de la page du wiki."),
    ("adresse_page", "address", "Adresse de la page",
     "Adresse web de la page sur le wiki (vide si l'adresse du wiki est inconnue)."),
    ("champ", "field", "Champ",
     "param:<modèle>/<paramètre> pour un paramètre de modèle, page pour la page entière."),
    ("modele", "template", "Modèle", "Modèle du paramètre."),
    ("parametre", "parameter", "Paramètre", "Nom du paramètre, tel qu'écrit dans l'appel."),
    ("valeur_originale", "original", "Valeur d'origine", "La valeur telle qu'écrite sur le wiki."),
    ("valeur_retenue", "kept", "Valeur retenue",
     "La valeur corrigée publiée, ou vide si la valeur a été rejetée."),
    ("gravite", "severity", "Gravité",
     "warning : valeur corrigée ou écartée ; error : valeur obligatoire, bloque la publication."),
    ("message", "message", "Message", "Le problème, en une ligne (en anglais)."),
)
REQUIRED = ("titre", "champ", "gravite", "message")


def page_url(site: SiteInfo | None, title: str) -> str:
    """The wiki address of a page, or "" when the wiki's addresses are unknown."""
    if site is None or not (site.article_path or site.script_url):
        return ""
    from tierslieux.model.iri import page_address

    return page_address(site, title)


def split_field(field: str) -> tuple[str, str]:
    """``param:Tiers-lieu/code postal`` -> ``("Tiers-lieu", "code postal")``; else ("", "")."""
    if not field.startswith(PARAM_PREFIX):
        return "", ""
    template, _, parameter = field[len(PARAM_PREFIX):].rpartition("/")
    return template, parameter


def quality_rows(issues: Iterable[Issue], site: SiteInfo | None) -> list[QualityRow]:
    """The rows of quality.csv for the issues of a build, sorted and de-duplicated."""
    addresses: dict[str, str] = {}
    rows: set[QualityRow] = set()
    for issue in issues:
        if issue.severity not in SEVERITIES:
            continue
        title = issue.page_title.strip() or UNTITLED  # titre is a required column
        if title not in addresses:
            addresses[title] = page_url(site, title) if title != UNTITLED else ""
        template, parameter = split_field(issue.field)
        rows.add(QualityRow(
            title=title, address=addresses[title], field=issue.field or "page",
            template=template, parameter=parameter, original=issue.original, kept=issue.kept,
            severity=issue.severity, message=" ".join(issue.message.split()),
        ))
    return sorted(rows)


def write_quality(rows: Sequence[QualityRow], folder: Path) -> int:
    """Write quality.csv in ``folder``; returns the number of neutralised cells."""
    neutralised = 0
    with open(folder / QUALITY_FILE, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow([name for name, *_ in COLUMNS])
        for row in rows:
            cells = []
            for value in astuple(row):
                safe = neutralise(value) if value else value
                neutralised += safe != value
                cells.append(safe)
            writer.writerow(cells)
    return neutralised


def quality_schema() -> dict[str, Any]:
    """The Table Schema of quality.csv (no primary key: a page may have several rows)."""
    schema_fields: list[dict[str, Any]] = []
    for name, _, title, description in COLUMNS:
        entry: dict[str, Any] = {"name": name, "type": "string", "title": title,
                                 "description": description}
        constraints: dict[str, Any] = {}
        if name in REQUIRED:
            constraints["required"] = True
        if name == "gravite":
            constraints["enum"] = list(SEVERITIES)
        if constraints:
            entry["constraints"] = constraints
        schema_fields.append(entry)
    return {"fields": schema_fields, "missingValues": [""]}


def quality_resource(size: int, digest: str) -> dict[str, Any]:
    """The datapackage.json resource of quality.csv."""
    return csv_resource(QUALITY_FILE.removesuffix(".csv"), TITLE_FR, DESCRIPTION, size, digest,
                        quality_schema())


def quality_report(rows: Sequence[QualityRow], neutralised: int, limit: int) -> dict[str, Any]:
    """The ``quality`` section of report.json: counts, and the rows grouped by page
    (values as written, not neutralised; at most ``limit`` rows)."""
    pages: list[dict[str, Any]] = []
    for row in rows[:limit]:
        if not pages or pages[-1]["titre"] != row.title:
            pages.append({"titre": row.title, "adresse_page": row.address, "problemes": []})
        pages[-1]["problemes"].append({
            name: getattr(row, attr) for name, attr, *_ in COLUMNS
            if name not in ("titre", "adresse_page")
        })
    section: dict[str, Any] = {
        "file": QUALITY_FILE,
        "rows": len(rows),
        "pages_count": len({row.title for row in rows}),
        "count": {s: sum(1 for row in rows if row.severity == s) for s in SEVERITIES},
        "neutralised_cells": neutralised,
        "pages": pages,
    }
    if len(rows) > limit:
        section["truncated"] = True
    return section
