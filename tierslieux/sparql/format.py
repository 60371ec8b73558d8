"""How answers are written: tables, W3C results formats, Turtle and JSON-LD.

Results formats (``run_query``)
    ========  =====================================  ===========================================
    format    SELECT / ASK                           CONSTRUCT / DESCRIBE
    ========  =====================================  ===========================================
    table     aligned text, IRIs compacted, long     Turtle with the known prefixes, sorted
              literals cut at 80 characters
    csv       W3C SPARQL 1.1 results CSV             W3C CSV of ``?subject ?predicate ?object``
    tsv       W3C SPARQL 1.1 results TSV             W3C TSV of ``?subject ?predicate ?object``
    json      W3C SPARQL 1.1 results JSON            JSON-LD (expanded form), sorted
    ========  =====================================  ===========================================

    Queries may use the prefixes of ``PREFIXES`` (``tl:``, ``rdfs:``, ``skos:``…) without
    declaring them; the worked queries in ``tierslieux/queries/`` declare theirs so that they
    also run unchanged on ``serve`` or on any other endpoint.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from tierslieux.model.plaintext import render_table
from tierslieux.model.rdf import display_compactor


TURTLE = "tierslieux.ttl"
_RESULT_FORMATS = {
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
    "json": ox.QueryResultsFormat.JSON,
}
_CELL_WIDTH = 80


def release_prefixes(data_dir: str | Path) -> dict[str, str]:
    """The ``@prefix`` declarations at the top of the release's Turtle file, if any."""
    found: dict[str, str] = {}
    try:
        with open(Path(data_dir) / TURTLE, encoding="utf-8") as f:
            for number, line in enumerate(f):
                text = line.strip()
                match = re.match(r"(?:@prefix|PREFIX)\s+([\w.-]*):\s*<([^>]*)>", text, re.I)
                if match:
                    found[match[1]] = match[2]
                elif text and not text.startswith(("#", "@base", "BASE")) or number > 500:
                    break
    except OSError:
        pass
    return found


def format_boolean(result: ox.QueryBoolean, fmt: str) -> str:
    if fmt == "table":
        return ("true" if bool(result) else "false") + "\n"
    return result.serialize(format=_RESULT_FORMATS[fmt]).decode("utf-8")


def format_solutions(result: ox.QuerySolutions, fmt: str, prefixes: dict[str, str]) -> str:
    if fmt != "table":
        return result.serialize(format=_RESULT_FORMATS[fmt]).decode("utf-8")
    names = [v.value for v in result.variables]
    compact = display_compactor(prefixes)
    rows = [[_cell(solution[name], compact) for name in names] for solution in result]
    return render_table(names, rows)


def _cell(term, compact: Callable[[str], str]) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        text = compact(term.value)
    elif isinstance(term, ox.BlankNode):
        text = f"_:{term.value}"
    elif isinstance(term, ox.Literal):
        text = " ".join(term.value.split())  # newlines and tabs would break the columns
    elif isinstance(term, ox.Triple):
        parts = (_cell(term.subject, compact), _cell(term.predicate, compact),
                 _cell(term.object, compact))
        text = "<< " + " ".join(parts) + " >>"
    else:  # pragma: no cover
        text = str(term)
    text = unicodedata.normalize("NFC", text)
    if isinstance(term, ox.Literal) and len(text) > _CELL_WIDTH:
        return text[:_CELL_WIDTH - 1] + "…"  # IRIs stay whole, to be copied into a query
    return text


def format_triples(result: ox.QueryTriples, fmt: str, prefixes: dict[str, str]) -> str:
    triples = sorted(result, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    if fmt == "table":
        used = _used_prefixes(triples, prefixes)
        return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=used).decode("utf-8")
    if fmt == "json":
        return ox.serialize(triples, format=ox.RdfFormat.JSON_LD).decode("utf-8") + "\n"
    graph = ox.Store()
    graph.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    table = graph.query("SELECT ?subject ?predicate ?object WHERE { ?subject ?predicate ?object } "
                        "ORDER BY ?subject ?predicate ?object")
    return table.serialize(format=_RESULT_FORMATS[fmt]).decode("utf-8")


def _used_prefixes(triples: list[ox.Triple], prefixes: dict[str, str]) -> dict[str, str]:
    iris = set()
    for t in triples:
        for term in (t.subject, t.predicate, t.object):
            if isinstance(term, ox.NamedNode):
                iris.add(term.value)
            elif isinstance(term, ox.Literal) and term.language is None:
                iris.add(term.datatype.value)
    iris.discard("http://www.w3.org/2001/XMLSchema#string")
    return {p: ns for p, ns in sorted(prefixes.items())
            if ns and any(i.startswith(ns) for i in iris)}


def one_line(text: str) -> str:
    return " ".join(text.split())
