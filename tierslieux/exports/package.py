"""The descriptions of the CSV tables: ``datapackage.json`` and ``csv-metadata.json``.

``datapackage.json`` is a Frictionless Data Package with a Table Schema and a CSV dialect per
table; ``csv-metadata.json`` (CSV on the Web) is made from it, so the two never disagree.

Why a CSVW description beside the data package: CSVW readers (the PyPI ``csvw`` package among
them) can read a data package, but their conversion keeps no list type, so a multi-valued cell
(``a|b``) comes back as one string. CSVW has ``separator`` on columns: each Table Schema
``list`` field becomes a column with its ``delimiter`` as separator (and the national table's
``|``-separated columns, named by the caller), so a CSVW reader gives a list of values. The rest
follows the data package: column names, titles, descriptions, datatypes, ``required``, patterns
(as the datatype's ``format``), ``maxLength``, primary and foreign keys, the dialect, and ``""``
as the null value. ``trim`` is off: cells are read as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tierslieux.exports.tables import SEPARATOR, TableSpec

#: how every table of a release is written, as datapackage.json declares it on each resource
#: (CSV Dialect 1.2 keys): without it, readers that guess the dialect take a section's prose
#: such as ``|"oui"|"non"|`` for the table's delimiter
CSV_DIALECT: Mapping[str, Any] = {
    "delimiter": ",", "lineTerminator": "\n", "quoteChar": '"', "doubleQuote": True,
    "skipInitialSpace": False, "header": True,
}

# --------------------------------------------------------------------------- datapackage.json


def table_schema(spec: TableSpec) -> dict[str, Any]:
    """The Table Schema of one table."""
    fields = []
    for column in spec.columns:
        entry: dict[str, Any] = {"name": column.name, "type": column.type}
        if column.multi:  # Table Schema 2's list type, read as a list by frictionless 5
            entry = {"name": column.name, "type": "list", "delimiter": SEPARATOR,
                     "itemType": column.type}
        if column.title:
            entry["title"] = column.title
        if column.description:
            entry["description"] = column.description
        if column.type == "boolean":
            entry["trueValues"] = ["true", "1"]
            entry["falseValues"] = ["false", "0"]
        constraints = {}
        if column.required:
            constraints["required"] = True
        if column.name == "id":
            constraints["unique"] = True
        if constraints:
            entry["constraints"] = constraints
        fields.append(entry)
    schema: dict[str, Any] = {"fields": fields, "missingValues": [""], "primaryKey": ["id"]}
    keys = []
    for column in spec.columns:
        if column.references:
            table, col = column.references
            keys.append({
                "fields": [column.name],
                "reference": {"resource": "" if table == spec.name else table, "fields": [col]},
            })
    if keys:
        schema["foreignKeys"] = keys
    return schema


def datapackage(specs: Sequence[TableSpec], files: Mapping[str, tuple[int, str]],
                *, title: str, description: str, keywords: Sequence[str],
                licence: Mapping[str, str], sources: Sequence[Mapping[str, str]],
                homepage: str = "") -> dict[str, Any]:
    """The ``datapackage.json`` document; ``files`` maps a CSV name to (bytes, sha256)."""
    package: dict[str, Any] = {
        "profile": "tabular-data-package",
        "name": "tierslieux",
        "title": title,
        "description": description,
    }
    if homepage:
        package["homepage"] = homepage
    package["keywords"] = list(keywords)
    package["licenses"] = [dict(licence)]
    package["sources"] = [dict(s) for s in sources]
    resources_ = []
    for spec in specs:
        resources_.append(csv_resource(spec.name, spec.title_fr, spec.description,
                                       *files[spec.file], table_schema(spec)))
    package["resources"] = resources_
    return package


def csv_resource(name: str, title: str, description: str, size: int, digest: str,
                 schema: Mapping[str, Any]) -> dict[str, Any]:
    """The datapackage.json resource of the table ``name``.csv, written as every table is."""
    return {
        "name": name,
        "path": f"{name}.csv",
        "scheme": "file",  # what the csvw package's reader needs to take it as a table
        "profile": "tabular-data-resource",
        "title": title,
        "description": description,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "dialect": dict(CSV_DIALECT),
        "bytes": size,
        "hash": f"sha256:{digest}",
        "schema": dict(schema),
    }


# --------------------------------------------------------------------------- csv-metadata.json


CSVW_FILE = "csv-metadata.json"
#: Table Schema type -> CSVW datatype (the CSVW names of the XML Schema types)
DATATYPES = {
    "string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
    "date": "date", "datetime": "datetime",
}


def csvw_dialect(dialect: Mapping[str, Any], encoding: str) -> dict[str, Any]:
    """A CSVW dialect description of a CSV Dialect 1.2 one."""
    return {
        "encoding": encoding,
        "delimiter": dialect.get("delimiter", ","),
        "quoteChar": dialect.get("quoteChar", '"'),
        "doubleQuote": dialect.get("doubleQuote", True),
        "lineTerminators": [dialect.get("lineTerminator", "\r\n")],
        "header": dialect.get("header", True),
        "skipInitialSpace": dialect.get("skipInitialSpace", False),
        "trim": False,
    }


def _column(field: Mapping[str, Any], separator: str | None) -> dict[str, Any]:
    kind = field.get("type", "string")
    if kind == "list":
        separator = field.get("delimiter", ",")
        kind = field.get("itemType", "string")
    datatype: dict[str, Any] = {"base": DATATYPES.get(kind, "string")}
    constraints = field.get("constraints", {})
    if "pattern" in constraints:
        datatype["format"] = constraints["pattern"]
    if "maxLength" in constraints:
        datatype["maxLength"] = constraints["maxLength"]
    column: dict[str, Any] = {"name": field["name"]}
    if field.get("title"):
        column["titles"] = {"fr": [field["title"]]}
    if field.get("description"):
        column["dc:description"] = field["description"]
    column["datatype"] = datatype if len(datatype) > 1 else datatype["base"]
    if constraints.get("required"):
        column["required"] = True
    if separator:
        column["separator"] = separator
    return column


def csvw_metadata(package: Mapping[str, Any],
                  separators: Mapping[str, Iterable[str]] | None = None) -> dict[str, Any]:
    """The CSVW table group of a data package's CSV resources; ``separators`` names, per
    resource, string fields that hold ``|``-separated values."""
    paths = {r["name"]: r["path"] for r in package["resources"]}
    tables = []
    for resource in package["resources"]:
        schema = resource["schema"]
        listed = set((separators or {}).get(resource["name"], ()))
        table_schema: dict[str, Any] = {
            "columns": [_column(f, "|" if f["name"] in listed else None)
                        for f in schema["fields"]],
        }
        key = schema.get("primaryKey")
        if key:
            table_schema["primaryKey"] = key
        keys = [
            {"columnReference": fk["fields"],
             "reference": {"resource": paths[fk["reference"]["resource"] or resource["name"]],
                           "columnReference": fk["reference"]["fields"]}}
            for fk in schema.get("foreignKeys", ())
        ]
        if keys:
            table_schema["foreignKeys"] = keys
        tables.append({
            "url": resource["path"],
            "dc:title": resource.get("title", resource["name"]),
            "dc:description": resource.get("description", ""),
            "dialect": csvw_dialect(resource.get("dialect", {}), resource.get("encoding", "utf-8")),
            "null": schema.get("missingValues", [""]),
            "tableSchema": table_schema,
        })
    group: dict[str, Any] = {
        "@context": ["http://www.w3.org/ns/csvw", {"@language": "fr"}],
        "dc:title": package.get("title", package.get("name", "")),
        "dc:description": package.get("description", ""),
    }
    licences = [lic["path"] for lic in package.get("licenses", ()) if lic.get("path")]
    if licences:
        group["dc:license"] = {"@id": licences[0]}
    group["tables"] = tables
    return group
