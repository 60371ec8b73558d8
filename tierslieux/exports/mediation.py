"""The national table ``lieux_mediation_numerique.csv``: the third places a portal lists.

The schema is "Lieux de médiation numérique" v1.0.2 (LaMednum/standard-mediation-num, Licence
Ouverte 2.0; it ships beside this module as ``lieux_mediation_numerique.schema.json``,
unmodified).

The table is made from the rows of ``tiers_lieux.csv`` (so a column that table gains, such as a
``code_insee`` filled from the official geography, reaches this one), one row per place whose
data the schema can hold, in the schema's column order, rows sorted by ``id``:

- ``id`` is the place's IRI; ``pivot`` its SIRET (the ``siret`` column), or, for a place
  without one, ``00000000000000``: the schema requires a pivot matching ``^[a-zA-Z0-9]{9,14}$``
  and documents no value for "unknown"; fourteen zeros is the placeholder the national
  cartography (ANCT) uses for places without a SIRET;
- ``nom``, ``commune``, ``code_postal``, ``code_insee``, ``adresse``, ``latitude``,
  ``longitude``, ``typologie``, ``courriels``, ``site_web``, ``presentation_detail``, ``source``
  and ``date_maj`` are the cells of the same names; ``telephone`` is the first of the place's
  numbers that the schema's pattern accepts (it holds one);
- the other columns of the schema stay empty: the wiki does not say them.

A place is left out when it is closed (``statut`` closed: the national schema lists places that
receive the public) or when a value the schema requires is missing or does not match the
schema's pattern (``nom``, ``commune``, ``code_postal``, ``adresse``, ``date_maj``). An optional
value that does not match (a ``code_insee``, a foreign telephone number) is left empty. Each
place left out, and each value left empty, is an ``Issue`` of severity ``warning`` on the page
that describes the place, field ``table:lieux_mediation_numerique.csv``: a row of quality.csv.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from tierslieux.exports.package import csv_resource
from tierslieux.exports.tables import SEPARATOR, TableResult, TableSpec, neutralise
from tierslieux.model.records import Issue

NAME = "lieux_mediation_numerique"
FILE = f"{NAME}.csv"
SCHEMA_FILE = f"{NAME}.schema.json"
FIELD = f"table:{FILE}"
TITLE_FR = "Lieux de médiation numérique (schéma national)"
TITLE_EN = "Digital inclusion places (French national schema)"
DESCRIPTION = (
    "Les tiers-lieux ouverts dont l'adresse est connue, au schéma national « Lieux de médiation "
    "numérique » v1.0.2 (LaMednum/standard-mediation-num). pivot vaut 00000000000000 pour un "
    "lieu sans SIRET connu. Les lieux écartés, et pourquoi, sont dans quality.csv."
)
#: the tables the national table is made from (their rows, see ``national_table``)
SOURCES = ("tiers_lieux", "pages")
#: the pivot of a place without a SIRET (see the module docstring)
NO_PIVOT = "00000000000000"
#: national column -> the tiers_lieux.csv column it is taken from
FROM_TIERS_LIEUX = {
    "id": "id", "pivot": "siret", "nom": "nom", "commune": "commune",
    "code_postal": "code_postal", "code_insee": "code_insee", "adresse": "adresse",
    "latitude": "latitude", "longitude": "longitude", "typologie": "typologie",
    "telephone": "telephone", "courriels": "courriels", "site_web": "site_web",
    "presentation_detail": "presentation_detail", "source": "source", "date_maj": "date_maj",
}
#: the national columns that hold several values joined with "|" (their descriptions say so):
#: csv-metadata.json declares them with that separator
LIST_FIELDS = (
    "typologie", "courriels", "site_web", "itinerance", "services",
    "publics_specifiquement_adresses", "prise_en_charge_specifique", "frais_a_charge",
    "dispositif_programmes_nationaux", "formations_labels", "modalites_acces",
    "modalites_accompagnement",
)


@lru_cache(maxsize=1)
def national_schema() -> dict[str, Any]:
    """The official Table Schema, as published."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def resource_schema() -> dict[str, Any]:
    """The schema of the table in datapackage.json: the official fields and key, unchanged,
    with the schema's identity."""
    official = national_schema()
    schema = {key: official[key] for key in ("fields", "primaryKey")}
    schema["missingValues"] = [""]
    for key in ("name", "title", "version", "homepage", "uri"):
        schema[key] = official[key]
    return schema


def kept_columns(spec: TableSpec) -> tuple[int, ...]:
    """The columns of a table's rows that ``build_national`` reads: all of ``tiers_lieux``,
    the ``id`` and ``titre`` of ``pages``, none of the other tables (tablepieces.py keeps only
    these, so that the pages' rows held for the join stay small)."""
    places, pages = SOURCES
    names = [c.name for c in spec.columns]
    if spec.name == places:
        return tuple(range(len(names)))
    if spec.name == pages:
        return tuple(i for i, name in enumerate(names) if i == 0 or name == "titre")
    return ()


@dataclass
class NationalTable:
    """The rows of lieux_mediation_numerique.csv and what was left out of it."""

    rows: list[list[str]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    left_out: int = 0


def _pattern(spec: dict[str, Any]) -> re.Pattern[str] | None:
    pattern = spec.get("constraints", {}).get("pattern")
    return re.compile(f"^{pattern}$") if pattern else None  # as frictionless reads it


def _fits(value: str, spec: dict[str, Any]) -> bool:
    pattern = _pattern(spec)
    limit = spec.get("constraints", {}).get("maxLength")
    return (pattern is None or bool(pattern.match(value))) and (
        limit is None or len(value) <= limit)


def _unneutralised(cell: str) -> str:
    """The value a cell was written from (the exact inverse of ``tables.neutralise``): quality.csv
    names pages by their titles as written, and neutralises them itself."""
    if cell.startswith("'") and neutralise(cell[1:]) == cell:
        return cell[1:]
    return cell


def build_national(places: TableResult | None, pages: TableResult | None) -> NationalTable:
    """The national table from the rows of tiers_lieux.csv (``places``); ``pages`` (the rows of
    pages.csv) names the page each issue is reported on."""
    table = NationalTable()
    if places is None:
        return table
    names = [c.name for c in places.spec.columns]
    titles: dict[str, str] = {}
    if pages is not None:
        page_names = [c.name for c in pages.spec.columns]
        if "titre" in page_names:
            at = page_names.index("titre")
            titles = {row[0]: _unneutralised(row[at]) for row in pages.rows}
    fields = national_schema()["fields"]
    for row in places.rows:
        cells = dict(zip(names, row))
        page = sorted(cells.get("pages", "").split(SEPARATOR))[0] if cells.get("pages") else ""
        title = titles.get(page) or _unneutralised(cells.get("nom", "")) or cells["id"]

        def issue(message: str, original: str = "", kept: str = "") -> None:
            table.issues.append(Issue(page_title=title, severity="warning", field=FIELD,
                                      original=original, kept=kept, message=message))

        if cells.get("statut") == "closed":
            table.left_out += 1
            issue(f"{cells['id']} left out of {FILE}: the place is closed (the national schema "
                  "lists places that receive the public)")
            continue
        out: list[str] = []
        faults: list[str] = []
        for spec in fields:
            name = spec["name"]
            value = cells.get(FROM_TIERS_LIEUX.get(name, ""), "")
            if name == "pivot" and not (value and _fits(value, spec)):
                value = NO_PIVOT
            elif name == "telephone" and value:
                numbers = value.split(SEPARATOR)
                kept = [n for n in numbers if _fits(n, spec)][:1]
                for number in numbers:
                    if number not in kept:
                        issue(f"telephone {number} not in {FILE}: the national schema holds one "
                              "French number (+33XXXXXXXXX)", number, "")
                value = kept[0] if kept else ""
            required = spec.get("constraints", {}).get("required", False)
            if value and not _fits(value, spec):
                if required:
                    faults.append(f"{name} {value!r} does not match the schema")
                else:
                    issue(f"{name} {value!r} left empty in {FILE}: it does not match the "
                          "national schema", value, "")
                value = ""
            elif not value and required:
                faults.append(f"no {name}")
            out.append(value)
        if faults:
            table.left_out += 1
            issue(f"{cells['id']} left out of {FILE}: {'; '.join(faults)}")
            continue
        table.rows.append(out)
    return table


def write_national(table: NationalTable, folder: Path) -> Path:
    """Write lieux_mediation_numerique.csv as every table is written (tables.CSV_DIALECT)."""
    path = folder / FILE
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow([spec["name"] for spec in national_schema()["fields"]])
        writer.writerows(table.rows)
    return path


def national_resource(size: int, digest: str) -> dict[str, Any]:
    """The datapackage.json resource of lieux_mediation_numerique.csv."""
    return csv_resource(NAME, TITLE_FR, DESCRIPTION, size, digest, resource_schema())


def national_table(tables: Sequence[TableResult]) -> NationalTable:
    """The national table of the tables of a release (found by name)."""
    named = {t.spec.name: t for t in tables}
    places, pages = SOURCES
    return build_national(named.get(places), named.get(pages))
