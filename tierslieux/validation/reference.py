"""The reference SHACL engine: pyshacl on one graph, with the ontology mixed into the data.

``sh:Violation`` results block publishing; ``sh:Warning`` and ``sh:Info`` are reported only.
Each result names, when the graph says so, the wiki page and its address: the focus node's
``prov:wasDerivedFrom`` revision and that revision's ``tl:ofPage`` (or the focus itself when
it is a page).
"""

from __future__ import annotations

from rdflib import RDF, Graph, Node, URIRef
from rdflib.namespace import PROV, SH

from tierslieux.ontology import load_ontology, load_shapes
from tierslieux.ontology.namespace import TL
from tierslieux.validation.report import SEVERITIES, ValidationReport, Violation

def _str(node: Node | None) -> str:
    return "" if node is None else str(node)


def _pages_of(graph: Graph, focus: Node) -> tuple[tuple[str, ...], tuple[str, ...]]:
    pages: set[Node] = set()
    if (focus, RDF.type, TL.WikiPage) in graph:
        pages.add(focus)
    for revision in graph.objects(focus, PROV.wasDerivedFrom):
        pages.update(graph.objects(revision, TL.ofPage))
    if (focus, RDF.type, TL.Revision) in graph:
        pages.update(graph.objects(focus, TL.ofPage))
    titles = sorted({_str(graph.value(p, TL.title)) or str(p) for p in pages})
    addresses = sorted({_str(graph.value(p, TL.pageAddress)) for p in pages} - {""})
    return tuple(titles), tuple(addresses)


def validate_graph(graph: Graph, *, shapes: Graph | None = None,
                   ontology: Graph | None = None, inference: str = "none") -> ValidationReport:
    """Run the SHACL shapes on ``graph`` the way the header of shapes.ttl says.

    ``shapes`` and ``ontology`` replace the bundled ones (those published in a release
    folder); ``inference`` is pyshacl's (``none`` or ``rdfs`` give the same results on a
    release). Raises ShapesError when pyshacl cannot use the shapes.
    """
    from pyshacl import validate
    from pyshacl.errors import ReportableRuntimeError, ShapeLoadError, ValidationFailure

    from tierslieux.errors import ShapesError

    # pyshacl's ont_graph copies only class and property axioms into the data, not the SKOS
    # concepts that sh:class checks need (tl:level-region a tl:CollectivityLevel): mix the
    # whole ontology into a copy instead.
    data = load_ontology() if ontology is None else _copy(ontology)
    for triple in graph:
        data.add(triple)
    try:
        _, results, _ = validate(
            data,
            shacl_graph=load_shapes() if shapes is None else shapes,
            inference=inference,
            abort_on_first=False,
            allow_warnings=True,
            advanced=False,
        )
    except (ShapeLoadError, ReportableRuntimeError, ValidationFailure) as exc:
        reason = " ".join(str(getattr(exc, "message", "") or exc).split())
        raise ShapesError(f"the SHACL shapes cannot be used: {reason[:300]}") from None
    return _report(graph, results)


def _copy(graph: Graph) -> Graph:
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    return copy


def _report(graph: Graph, results: Graph) -> ValidationReport:
    violations = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        focus = results.value(result, SH.focusNode)
        severity = SEVERITIES.get(results.value(result, SH.resultSeverity), "violation")
        path = results.value(result, SH.resultPath)
        messages = sorted(str(m) for m in results.objects(result, SH.resultMessage))
        titles, addresses = _pages_of(graph, focus)
        violations.append(Violation(
            severity=severity,
            focus=_str(focus),
            path=_str(path) if isinstance(path, URIRef) else "",
            message=messages[0] if messages else "constraint not met",
            value=_str(results.value(result, SH.value)),
            pages=titles,
            addresses=addresses,
        ))
    order = {"violation": 0, "warning": 1, "info": 2}
    violations.sort(key=lambda v: (order[v.severity], v.pages, v.focus, v.path, v.message,
                                   v.value))
    return ValidationReport(
        conforms=not any(v.severity == "violation" for v in violations),
        violations=tuple(violations),
    )
