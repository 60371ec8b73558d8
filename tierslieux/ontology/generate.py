"""Generate ``namespace.py`` and ``context.jsonld`` from ``ontology.ttl``.

    python -m tierslieux.ontology.generate          # rewrite both files
    python -m tierslieux.ontology.generate --check  # exit 1 if either is out of date

The Turtle file is the source of truth; the generated files are committed so that the
package works without running this script, and a test runs ``--check``.
"""

from __future__ import annotations

import argparse
import json
import keyword
import sys
from pathlib import Path

from rdflib import OWL, RDF, RDFS, SKOS, XSD, Graph, URIRef

from tierslieux.ontology import CONTEXT_FILE, ONTOLOGY_FILE, ONTOLOGY_NS, PREFIXES

HERE = Path(__file__).resolve().parent
SCHEMA = "http://schema.org/"

#: terms of other vocabularies that the map stage emits, with their JSON-LD definition
EXTERNAL_TERMS: dict[str, dict[str, str]] = {
    "label": {"@id": "rdfs:label"},
    "wasDerivedFrom": {"@id": "prov:wasDerivedFrom", "@type": "@id"},
    "wasAttributedTo": {"@id": "prov:wasAttributedTo", "@type": "@id"},
    "wasRevisionOf": {"@id": "prov:wasRevisionOf", "@type": "@id"},
    "created": {"@id": "dcterms:created", "@type": "xsd:dateTime"},
    "modified": {"@id": "dcterms:modified", "@type": "xsd:dateTime"},
    "page": {"@id": "foaf:page", "@type": "@id"},
    "inScheme": {"@id": "skos:inScheme", "@type": "@id"},
    "prefLabel": {"@id": "skos:prefLabel"},
}

KIND_ORDER = ("class", "property", "scheme", "concept")
PLURALS = {"class": "classes", "property": "properties", "scheme": "concept schemes",
           "concept": "concepts"}


def _local(term: URIRef) -> str:
    return str(term)[len(ONTOLOGY_NS):]


def ontology_terms(graph: Graph) -> dict[str, tuple[str, str]]:
    """Every term the ontology defines in the tl: namespace: local name -> (kind, label)."""
    terms: dict[str, tuple[str, str]] = {}
    kinds = (
        (OWL.Class, "class"),
        (OWL.ObjectProperty, "property"),
        (OWL.DatatypeProperty, "property"),
        (RDF.Property, "property"),
        (SKOS.ConceptScheme, "scheme"),
        (SKOS.Concept, "concept"),
    )
    for rdf_type, kind in kinds:
        for subject in graph.subjects(RDF.type, rdf_type):
            if isinstance(subject, URIRef) and str(subject).startswith(ONTOLOGY_NS):
                name = _local(subject)
                label = graph.value(subject, RDFS.label, any=True)
                for candidate in graph.objects(subject, RDFS.label):
                    if getattr(candidate, "language", None) == "en":
                        label = candidate
                terms.setdefault(name, (kind, str(label or "")))
    return terms


def render_namespace(graph: Graph) -> str:
    terms = ontology_terms(graph)
    lines = [
        '"""The closed ``tl:`` namespace of the ontology\'s terms (generated: do not edit by hand).',
        "",
        "GENERATED from ontology.ttl by ``python -m tierslieux.ontology.generate``.",
        "",
        "Unknown names raise AttributeError (``_fail = True``), so a typo is an error. Names",
        'that are not Python identifiers (concepts such as ``level-region``) are reached with',
        '``TL["level-region"]``.',
        '"""',
        "",
        "from rdflib.namespace import DefinedNamespace, Namespace",
        "from rdflib.term import URIRef",
        "",
        "",
        "class TL(DefinedNamespace):",
        '    """Ontology of third places and local governments (tl:)."""',
        "",
        "    _fail = True",
        "",
    ]
    extras: list[str] = []
    for kind in KIND_ORDER:
        names = sorted(n for n, (k, _) in terms.items() if k == kind)
        plain = [n for n in names if n.isidentifier() and not keyword.iskeyword(n)]
        extras.extend(n for n in names if n not in plain)
        if plain:
            lines.append(f"    # {PLURALS[kind]}")
            for name in plain:
                lines.append(f"    {name}: URIRef  # {terms[name][1]}")
            lines.append("")
    lines.append("    _extras = [")
    for name in sorted(extras):
        lines.append(f'        "{name}",  # {terms[name][1]}')
    lines.append("    ]")
    lines.append("")
    lines.append(f'    _NS = Namespace("{ONTOLOGY_NS}")')
    return "\n".join(lines) + "\n"


def _compact(term: URIRef) -> str:
    text = str(term)
    for prefix, ns in PREFIXES.items():
        if text.startswith(ns):
            return f"{prefix}:{text[len(ns):]}"
    return text


def render_context(graph: Graph) -> str:
    context: dict[str, object] = {p: ns for p, ns in PREFIXES.items() if p != "sh"}
    terms = ontology_terms(graph)
    for name in sorted(n for n, (k, _) in terms.items() if k == "class"):
        context[name] = f"tl:{name}"
    for name in sorted(n for n, (k, _) in terms.items() if k == "property"):
        subject = URIRef(ONTOLOGY_NS + name)
        definition: dict[str, str] = {"@id": f"tl:{name}"}
        ranges = list(graph.objects(subject, RDFS.range))
        is_object = (subject, RDF.type, OWL.ObjectProperty) in graph
        if is_object:
            definition["@type"] = "@id"
        elif len(ranges) == 1 and ranges[0] == RDF.langString:
            definition["@language"] = "fr"
        elif len(ranges) == 1 and ranges[0] != XSD.string and str(ranges[0]).startswith(str(XSD)):
            definition["@type"] = _compact(ranges[0])
        # Properties whose values are of several kinds (schema:rangeIncludes) stay untyped.
        context[name] = definition
    for name, definition in EXTERNAL_TERMS.items():
        if name in context:
            raise ValueError(f"JSON-LD term {name!r} defined twice")
        context[name] = definition
    return json.dumps({"@context": context}, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tierslieux.ontology.generate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 when a generated file is out of date")
    args = parser.parse_args(argv)
    graph = Graph().parse(HERE / ONTOLOGY_FILE, format="turtle")
    outputs = {
        HERE / "namespace.py": render_namespace(graph),
        HERE / CONTEXT_FILE: render_context(graph),
    }
    stale = [path for path, text in outputs.items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"{path.name} is out of date: run python -m tierslieux.ontology.generate",
                  file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(outputs[path], encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
