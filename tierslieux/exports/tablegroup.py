"""``csv-metadata.json``: the CSV on the Web (W3C CSVW, "Metadata Vocabulary for Tabular Data")
description of the tables, made from ``datapackage.json`` so the two never disagree.

Why a second description: CSVW readers (the PyPI ``csvw`` package among them) can read a data
package, but their conversion keeps no list type, so a multi-valued cell (``a|b``) comes back
as one string. CSVW has ``separator`` on columns: here each Table Schema ``list`` field becomes a
column with its ``delimiter`` as separator (and the national table's ``|``-separated columns,
named by the caller), so a CSVW reader gives a list of values. The rest follows the data
package: column names, titles, descriptions, datatypes, ``required``, patterns (as the
datatype's ``format``), ``maxLength``, primary and foreign keys, the dialect, and ``""`` as
the null value. ``trim`` is off: cells are read as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

FILE = "csv-metadata.json"
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
